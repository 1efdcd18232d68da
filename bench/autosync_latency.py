#!/usr/bin/env python3
"""Driver for bench/autosync.sh: builds the trees, waits on `auto-sync-status`, and measures a
running `codeintel daemon` (edit -> searchable latency, git checkout catch-up, idle cost).

Every wait is bounded; a timeout prints what was seen and exits non-zero.
Usage: autosync_latency.py CODEINTEL COMMAND ARGS...   (CODEINTEL_DATA_DIR etc. from the environment)
  make-repos DIR REPOS FILES_MIN FILES_MAX    python repositories DIR/rNNN, each with a `.git` dir
  make-checkout REPO FILES                    real git repo, branches a and b differing in FILES files
  wait-synced PID REPOS TIMEOUT LOG           until REPOS repositories are synced and watched
  latency REPO EDITS                          edit -> searchable, EDITS times
  checkout REPO                               time `git checkout b` until b is searchable, a gone
  idle PID SECS                               CPU and RSS of the daemon over SECS
"""
import json, math, os, statistics, subprocess, sys, time

CODEINTEL = ""


def ci(*args):
    """Runs codeintel; returns (parsed JSON or None, seconds taken)."""
    t = time.perf_counter()
    p = subprocess.run([CODEINTEL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        return None, dt
    try:
        return json.loads(p.stdout), dt
    except json.JSONDecodeError:
        return None, dt


def search(literal, limit=10):
    hits, dt = ci("search", "--json", "--mode", "exact", "--limit", str(limit), literal)
    return (hits if isinstance(hits, list) else []), dt


def status():
    s, _ = ci("auto-sync-status", "--json")
    return s


def pct(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)"


def python_file(seed, extra=""):
    """A small, distinct python module."""
    lines = [f'"""Module {seed}: helpers for the benchmark tree."""', "import os", "import sys", ""]
    for j in range(4):
        lines += [
            f"def handler_{seed}_{j}(value, scale={j + 1}):",
            f'    """Scale {seed}/{j} and clamp it."""',
            f"    result = value * scale + {seed % 97}",
            f"    if result > {1000 + j}:",
            f"        return {1000 + j}",
            "    return result",
            "",
        ]
    lines += [
        f"class Model{seed}:",
        f"    name = 'model_{seed}'",
        "",
        "    def __init__(self, items):",
        "        self.items = list(items)",
        "",
        "    def total(self):",
        "        return sum(self.items)",
        "",
    ]
    return "\n".join(lines) + extra


# ---- trees -------------------------------------------------------------------------------------

def make_repos(root, repos, fmin, fmax):
    os.makedirs(root, exist_ok=True)
    n = 0
    for r in range(repos):
        repo = os.path.join(root, f"r{r:03d}")
        os.makedirs(os.path.join(repo, ".git"), exist_ok=True)
        os.makedirs(os.path.join(repo, "src"), exist_ok=True)
        files = fmin + (r % (fmax - fmin + 1))
        for i in range(files):
            with open(os.path.join(repo, "src", f"m{i:04d}.py"), "w") as f:
                f.write(python_file(r * 10000 + i))
            n += 1
    print(f"{repos} repositories, {n} python files under {root}")


def checkout_file(branch, i):
    """File i on a branch: distinct per file and per branch, with markers of both kinds."""
    return (
        f'"""File {i} on branch {branch}."""\n\n'
        f"BRANCH = 'branch{branch}only'\n\n"
        f"def mark{branch}{i:05d}z(x):\n"
        f"    return x * {i + (0 if branch == 'A' else 7)}\n\n"
        + python_file(i if branch == "A" else 100000 + i)
    )


def checkout_paths(files):
    return [f"pkg/d{i // 100:03d}/m{i:05d}.py" for i in range(files)]


def make_checkout(repo, files):
    git = ["git", "-C", repo]
    os.makedirs(repo, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "a", repo], check=True)
    for k, v in [("user.name", "bench"), ("user.email", "bench@example.invalid"),
                 ("commit.gpgsign", "false"), ("gc.auto", "0"), ("core.hooksPath", "/dev/null")]:
        subprocess.run([*git, "config", k, v], check=True)

    def write(branch):
        for i, rel in enumerate(checkout_paths(files)):
            path = os.path.join(repo, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(checkout_file(branch, i))

    write("A")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "branch a"], check=True)
    subprocess.run([*git, "checkout", "-q", "-b", "b"], check=True)
    write("B")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "branch b"], check=True)
    subprocess.run([*git, "checkout", "-q", "a"], check=True)
    diff = subprocess.run([*git, "diff", "--name-only", "a", "b"], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.split()
    print(f"git repository {repo}: branches a and b differ in {len(diff)} files")


# ---- waits and measurements --------------------------------------------------------------------

def wait_synced(pid, repos, timeout, log):
    t0 = time.monotonic()
    s = None
    while time.monotonic() - t0 < timeout:
        if not os.path.exists(f"/proc/{pid}"):
            print(f"the daemon (pid {pid}) exited; log tail:\n{tail(log)}", file=sys.stderr)
            sys.exit(1)
        s = status()
        if s and s.get("running"):
            rs = s.get("repositories", [])
            done = [r for r in rs if r["state"] == "synced" and r["watched"]]
            if len(rs) >= repos and len(done) == len(rs) and s["queued_repos"] == 0 \
                    and s["active_syncs"] == 0:
                files = sum(r["files"] for r in rs)
                print(f"initial sync: {len(rs)} repositories ({files} files) synced and watched "
                      f"{proc_age(pid):.1f} s after the daemon started (status polled every 0.2 s)")
                return
        time.sleep(0.2)
    states = {}
    for r in (s or {}).get("repositories", []):
        key = f"{r['state']}/{'watched' if r['watched'] else 'unwatched'}"
        states[key] = states.get(key, 0) + 1
    print(f"TIMEOUT after {timeout} s waiting for {repos} synced and watched repositories; "
          f"running={None if s is None else s.get('running')} states={states}\n"
          f"daemon log tail:\n{tail(log)}", file=sys.stderr)
    sys.exit(1)


def latency(repo, edits, timeout=10.0):
    files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(repo) if ".git" not in dp
                   for f in fs if f.endswith(".py"))
    run = f"{int(time.time()) % 100000:05d}"
    lat, polls, search_ms, misses = [], [], [], 0
    deadline = time.monotonic() + edits * (timeout + 1)
    for k in range(edits):
        if time.monotonic() > deadline:
            print(f"stopping early: overall time limit reached after {k} edits", file=sys.stderr)
            break
        path = files[(k * 37) % len(files)]
        rel = os.path.relpath(path, repo)
        marker = f"cimark{run}x{k:04d}q"
        with open(path, "a") as f:
            f.write(f"\n\ndef {marker}(x):\n    return x + {k}\n")
        t0 = time.perf_counter()
        n = 0
        while True:
            hits, dt = search(marker)
            n += 1
            search_ms.append(dt * 1000)
            if any(h.get("path") == rel for h in hits):
                lat.append((time.perf_counter() - t0) * 1000)
                polls.append(n)
                break
            if time.perf_counter() - t0 > timeout:
                misses += 1
                print(f"edit {k}: {rel} not searchable after {timeout:.0f} s", file=sys.stderr)
                break
            time.sleep(0.01)
        time.sleep(0.05)
    if not lat:
        print("edit->searchable: no edit became searchable")
        sys.exit(1)
    p50, p95 = statistics.median(lat), pct(lat, 95)
    print(f"edit->searchable: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(lat):.0f} ms over "
          f"{len(lat)} edits, {misses} not searchable within {timeout:.0f} s (target p95 < 1000 ms)")
    print(f"  polling: every 10 ms + one `codeintel search` per poll (CLI process start included; "
          f"median call {statistics.median(search_ms):.1f} ms), median {statistics.median(polls):.0f} "
          f"polls per edit; sorted latencies ms: {' '.join(f'{x:.0f}' for x in sorted(lat))}")


def checkout(repo, timeout=300.0):
    files = int(subprocess.run(["git", "-C", repo, "ls-files"], stdout=subprocess.PIPE, text=True,
                               check=True).stdout.count("\n"))
    paths = checkout_paths(files)
    # git writes the files in index (path) order: the last path is the last file written.
    last = len(paths) - 1
    # The last-written file first in every round, so its time is the most precise.
    sample = [last] + sorted(set(range(0, files, max(1, files // 20))) - {last})
    pending = {i: f"markB{i:05d}z" for i in sample}
    search_ms = []
    for i in (0, last):  # sanity: branch a is what the index holds now
        hits, _ = search(f"markA{i:05d}z", 1)
        if not hits:
            print(f"branch a marker of file {i} not searchable before the checkout", file=sys.stderr)
            sys.exit(1)
    t0 = time.perf_counter()
    subprocess.run(["git", "-C", repo, "checkout", "-q", "b"], check=True)
    t_git = time.perf_counter() - t0
    t_first = t_last = t_gone = None
    while time.perf_counter() - t0 < timeout:
        for i, marker in list(pending.items()):
            hits, dt = search(marker, 1)
            search_ms.append(dt * 1000)
            if any(h.get("path") == paths[i] for h in hits):
                del pending[i]
                now = time.perf_counter() - t0
                t_first = t_first if t_first is not None else now
                if i == last:
                    t_last = now
        if not pending:
            hits, _ = search("branchAonly", 1)
            if not hits:
                t_gone = time.perf_counter() - t0
                break
        time.sleep(0.05)
    print(f"git checkout a->b ({files} files differ): git itself {t_git:.2f} s")
    if t_gone is None:
        print(f"checkout->searchable: TIMEOUT after {timeout:.0f} s; {len(pending)} of {len(sample)} "
              f"sampled branch-b markers still missing: {sorted(pending)[:10]}")
        sys.exit(1)
    print(f"checkout->searchable: {t_gone:.2f} s until the last-written file ({paths[last]}) and "
          f"{len(sample) - 1} sampled others show branch b and no branch-a text is left "
          f"(first b hit {t_first:.2f} s, last-written file {t_last:.2f} s; from the start of "
          f"`git checkout`)")
    print(f"  polling: rounds of one `codeintel search` per still-missing marker (CLI start "
          f"included; median call {statistics.median(search_ms):.1f} ms) every 50 ms")
    s = status() or {}
    r = next((r for r in s.get("repositories", []) if os.path.realpath(r["path"]) ==
              os.path.realpath(repo)), {})
    m = s.get("metrics", {})
    print(f"  after: state {r.get('state')}, watched {r.get('watched')}, {r.get('files')} files, "
          f"{r.get('chunks')} chunks; watcher {m.get('watcher_events')} events in "
          f"{m.get('watcher_batches')} batches, {m.get('syncs_succeeded')} syncs")


def proc_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def proc_age(pid):
    """Seconds since the process started (10 ms resolution)."""
    with open(f"/proc/{pid}/stat") as f:
        start = int(f.read().rsplit(")", 1)[1].split()[19])  # starttime (field 22), in ticks
    with open("/proc/uptime") as f:
        return float(f.read().split()[0]) - start / os.sysconf("SC_CLK_TCK")


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def inotify_watches(pid):
    n = 0
    fd_dir = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                n += sum(1 for line in f if line.startswith("inotify wd:"))
        except OSError:
            pass
    return n


def idle(pid, secs):
    hz = os.sysconf("SC_CLK_TCK")
    before = proc_status(pid)
    c0, t0 = proc_ticks(pid), time.monotonic()
    time.sleep(secs)
    c1, t1 = proc_ticks(pid), time.monotonic()
    st = proc_status(pid)
    cpu = (c1 - c0) / hz / (t1 - t0) * 100
    rss = int(st["VmRSS"].split()[0]) / 1024
    print(f"idle CPU: {cpu:.2f}% of one core over {t1 - t0:.0f} s ({c1 - c0} ticks at {hz} Hz; "
          f"target < 1%)")
    print(f"idle RSS: {rss:.1f} MB (peak {int(st['VmHWM'].split()[0]) / 1024:.1f} MB, "
          f"{int(before['VmRSS'].split()[0]) / 1024:.1f} MB at the start of the window; "
          f"target < 150 MB); {st['Threads']} threads, {inotify_watches(pid)} inotify watches")
    s = status() or {}
    rs = s.get("repositories", [])
    ok = sum(1 for r in rs if r["state"] == "synced" and r["watched"])
    m = s.get("metrics", {})
    print(f"  after the window: {ok}/{len(rs)} repositories synced and watched; metrics: "
          f"{m.get('scans')} scans, {m.get('syncs_succeeded')} syncs, "
          f"{m.get('watcher_batches')} watcher batches, {m.get('errors')} errors")


def main():
    global CODEINTEL
    CODEINTEL, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "make-repos":
        make_repos(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "make-checkout":
        make_checkout(args[0], int(args[1]))
    elif cmd == "wait-synced":
        wait_synced(int(args[0]), int(args[1]), float(args[2]), args[3])
    elif cmd == "latency":
        latency(args[0], int(args[1]))
    elif cmd == "checkout":
        checkout(args[0])
    elif cmd == "idle":
        idle(int(args[0]), float(args[1]))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
