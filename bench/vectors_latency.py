#!/usr/bin/env python3
"""Semantic search latency on one index (bench/vectors.sh runs it at each size): the CLI one-shot
(`codeintel search --mode semantic`, a process per query that loads the model and the bits
snapshot each time) and `search_code` over MCP stdio through the official Python SDK, semantic
and, as a reference, lexical; the server's RSS; prints one JSON object.

Usage: vectors_latency.py CODEINTEL DATA_DIR MODEL_DIR [--cli-queries 20] [--calls 100]
"""
import argparse, asyncio, json, math, os, statistics, subprocess, sys, time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from search_latency import QUERIES  # noqa: E402


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def wait_idle(pid, quiet_s=1.0, limit_s=60.0):
    """Waits until the server burns no CPU for quiet_s (its startup embedding check scans every
    chunk for missing vectors); returns the seconds waited."""
    t0 = time.perf_counter()
    last, since = cpu_ticks(pid), time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        time.sleep(0.1)
        now = cpu_ticks(pid)
        if now != last:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since >= quiet_s:
            break
    return time.perf_counter() - t0 - quiet_s


def nearest_rank(sorted_values, q):
    return sorted_values[max(0, min(len(sorted_values), math.ceil(len(sorted_values) * q)) - 1)]


def summary(times, q):
    s = sorted(times)
    return {"median": statistics.median(s), f"p{int(q * 100)}": nearest_rank(s, q), "n": len(s)}


def cli(binary, env, n):
    times, failures = [], 0
    cmd = [binary, "search", "--mode", "semantic", "--json", "--limit", "10"]
    subprocess.run(cmd + ["warm up"], env=env, capture_output=True)  # page cache
    for q in QUERIES[:n]:
        t = time.perf_counter()
        p = subprocess.run(cmd + [q], env=env, capture_output=True, text=True)
        times.append((time.perf_counter() - t) * 1000)
        if p.returncode != 0 or not json.loads(p.stdout):
            failures += 1
            print(f"cli {q!r}: exit {p.returncode}: {p.stderr.strip()[:300]}", file=sys.stderr)
    out = summary(times, 0.95)
    out["failures"] = failures
    return out


def hits(result):
    err = getattr(result, "is_error", getattr(result, "isError", False))
    assert not err, result
    return json.loads(result.content[0].text)["results"]


async def timed(session, mode, query):
    t = time.perf_counter()
    result = await session.call_tool("search_code", {"query": query, "limit": 10, "mode": mode})
    ms = (time.perf_counter() - t) * 1000
    return ms, hits(result)


async def mcp(binary, env, calls):
    # Started in the data dir: with no scan paths the server would name its working directory.
    params = StdioServerParameters(command=binary, args=["serve"], env=env,
                                   cwd=env["CODEINTEL_DATA_DIR"])
    out = {}
    async with stdio_client(params) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            found = subprocess.run(["pgrep", "-n", "-f", f"{binary} serve$"], capture_output=True,
                                   text=True).stdout.strip()
            pid = int(found)
            out["startup_busy_s"] = wait_idle(pid)
            out["rss_idle_mb"] = rss_mb(pid)
            # The first semantic call loads the bits snapshot.
            out["semantic_first_ms"], _ = await timed(session, "semantic", "read configuration file")
            out["rss_snapshot_mb"] = rss_mb(pid)
            for mode, key in (("semantic", "semantic"), ("lexical", "lexical")):
                if mode == "lexical":
                    out["lexical_first_ms"], _ = await timed(session, mode, "warm up")
                times, empty, real_top = [], 0, 0
                for i in range(calls):
                    ms, results = await timed(session, mode, QUERIES[i % len(QUERIES)])
                    times.append(ms)
                    if not results:
                        empty += 1
                    elif results[0]["repository"] != "synthetic":
                        real_top += 1
                out[key] = summary(times, 0.99)
                out[key]["empty"] = empty
                out[key]["real_top1"] = real_top
            out["rss_after_mb"] = rss_mb(pid)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("data_dir")
    ap.add_argument("model_dir")
    ap.add_argument("--cli-queries", type=int, default=20)
    ap.add_argument("--calls", type=int, default=100)
    args = ap.parse_args()
    # No scan paths and auto-sync off: nothing indexes while measuring (the synthetic repository
    # has no folder and must never be synced).
    env = {"CODEINTEL_DATA_DIR": args.data_dir, "CODEINTEL_ENV_FILE": os.devnull,
           "CODEINTEL_EMBED_MODEL_DIR": args.model_dir, "AUTO_SYNC_ENABLED": "false",
           "AUTO_SYNC_AUTO_WATCH": "false", "HOME": os.environ.get("HOME", "/"),
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    # Load averages before and after: other work on the machine shows up here.
    result = {"loadavg_before": open("/proc/loadavg").read().split()[:3]}
    result["cli_semantic"] = cli(args.binary, env, args.cli_queries)
    result.update(asyncio.run(mcp(args.binary, env, args.calls)))
    result["loadavg_after"] = open("/proc/loadavg").read().split()[:3]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
