#!/usr/bin/env python3
"""Measurements for bench/status_page.sh.

  idle PID SECS PAGE_URL         CPU of the server over SECS with no page, then with the page
                                 open in headless Chromium (bench/status_page_open.mjs)
  latency BASE_URL PATH N        N sequential GETs of PATH over one keep-alive connection:
                                 median, p95, max (ms), and the body size
  wait-synced BASE_URL REPOS TIMEOUT   until REPOS repositories are synced and watched, from
                                 /api/page (the MCP status tool caps its repository list)
"""
import json
import http.client
import math
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))


def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def cpu_over(pid, secs):
    hz = os.sysconf("SC_CLK_TCK")
    c0, t0 = ticks(pid), time.monotonic()
    time.sleep(secs)
    c1, t1 = ticks(pid), time.monotonic()
    return (c1 - c0) / hz / (t1 - t0) * 100, c1 - c0, t1 - t0


def idle(pid, secs, url):
    pid, secs = int(pid), float(secs)
    cpu, n, wall = cpu_over(pid, secs)
    print(f"idle CPU, no page open: {cpu:.2f}% of one core over {wall:.0f} s ({n} ticks)")
    page = subprocess.Popen(["node", os.path.join(BENCH, "status_page_open.mjs"), url, str(secs + 2)],
                            stdout=subprocess.PIPE, text=True)
    if page.stdout.readline().strip() != "open":
        sys.exit("the page did not open")
    time.sleep(1)  # the first render's requests are not the steady state
    cpu, n, wall = cpu_over(pid, secs)
    polls = page.stdout.read().strip()
    if page.wait() != 0:
        sys.exit("the browser failed")
    print(f"idle CPU, page open and polling: {cpu:.2f}% of one core over {wall:.0f} s "
          f"({n} ticks; {polls}; target < 1%)")


def pct(values, p):
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def latency(base, path, n):
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    times, size = [], 0
    for _ in range(int(n)):
        t0 = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        times.append((time.perf_counter() - t0) * 1000)
        if r.status != 200:
            sys.exit(f"GET {path}: {r.status} {body[:200]!r}")
        size = len(body)
    print(f"GET {path}: median {pct(times, 50):.2f} ms, p95 {pct(times, 95):.2f} ms, "
          f"max {max(times):.2f} ms over {n} requests ({size} bytes)")


def wait_synced(base, repos, timeout):
    repos, timeout = int(repos), float(timeout)
    t0 = time.monotonic()
    page = None
    while time.monotonic() - t0 < timeout:
        try:
            with urllib.request.urlopen(base + "/api/page", timeout=30) as r:
                page = json.load(r)
        except OSError:
            time.sleep(0.5)
            continue
        s = page["status"]
        rs = s["repositories"]
        done = [r for r in rs if r["state"] == "synced" and r["watched"]]
        if len(rs) >= repos and len(done) == len(rs) and s["queued_repos"] == 0 \
                and s["active_syncs"] == 0:
            files = sum(r["files"] for r in rs)
            print(f"initial sync: {len(rs)} repositories ({files} files) synced and watched in "
                  f"{time.monotonic() - t0:.1f} s")
            return
        time.sleep(0.5)
    sys.exit(f"not synced within {timeout} s: {page and page['status']['synced_repos']} synced")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"idle": idle, "latency": latency, "wait-synced": wait_synced}[cmd](*args)
