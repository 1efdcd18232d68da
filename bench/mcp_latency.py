#!/usr/bin/env python3
"""search_code round trips through the official Python MCP SDK, over stdio and HTTP, on an
indexed data dir: median and p99 per transport, and the server's RSS idle and under load.

Usage: mcp_latency.py CODEINTEL DATA_DIR [CALLS]
The data dir must already hold an index (bench/index.sh builds one in bench/out/data-index).
"""
import asyncio, json, os, statistics, subprocess, sys, time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
try:
    from mcp.client.streamable_http import streamable_http_client as http_client
except ImportError:
    from mcp.client.streamable_http import streamablehttp_client as http_client

sys.path.insert(0, os.path.dirname(__file__))
from search_latency import QUERIES  # noqa: E402


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_pid(args):
    out = subprocess.run(["pgrep", "-n", "-f", args], capture_output=True, text=True).stdout.strip()
    return int(out) if out else None


async def measure(session, calls, pid):
    await session.initialize()
    await session.call_tool("search_code", {"query": "warm up"})
    idle = rss_mb(pid) if pid else 0.0
    times = []
    for i in range(calls):
        q = QUERIES[i % len(QUERIES)]
        t = time.perf_counter()
        result = await session.call_tool("search_code", {"query": q, "limit": 10})
        times.append((time.perf_counter() - t) * 1000)
        err = getattr(result, "is_error", getattr(result, "isError", False))
        assert not err, result
    loaded = rss_mb(pid) if pid else 0.0
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return statistics.median(times), p99, idle, loaded


async def over_stdio(binary, env, calls):
    params = StdioServerParameters(command=binary, args=["serve"], env=env)
    async with stdio_client(params) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await asyncio.sleep(0.5)
            pid = server_pid(f"{binary} serve$")
            return await measure(session, calls, pid)


async def over_http(binary, env, calls):
    proc = subprocess.Popen([binary, "serve", "--http", "127.0.0.1:0"], env=dict(os.environ, **env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        path = os.path.join(env["CODEINTEL_DATA_DIR"], "server.json")
        for _ in range(300):
            try:
                info = json.load(open(path))
                if info["pid"] == proc.pid:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        async with http_client(info["url"]) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                return await measure(session, calls, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    binary, data_dir = sys.argv[1], sys.argv[2]
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    # No scan paths: the server only serves the existing index (no background indexing).
    env = {"CODEINTEL_DATA_DIR": data_dir, "CODEINTEL_ENV_FILE": os.devnull,
           "AUTO_SYNC_ENABLED": "false", "AUTO_SYNC_AUTO_WATCH": "false", "HOME": os.environ.get("HOME", "/"),
           # No embedding model download, no background embedding while timing.
           "CODEINTEL_EMBED_PROVIDER": os.environ.get("CODEINTEL_EMBED_PROVIDER", "none")}
    if os.environ.get("CODEINTEL_STORE"):
        env["CODEINTEL_STORE"] = os.environ["CODEINTEL_STORE"]
    for name, run in (("stdio", over_stdio), ("http", over_http)):
        median, p99, idle, loaded = asyncio.run(run(binary, env, calls))
        print(f"search_code over {name}: median {median:.1f} ms, p99 {p99:.1f} ms over {calls} calls "
              f"(target median < 20 ms); server RSS idle {idle:.0f} MB, after load {loaded:.0f} MB")


if __name__ == "__main__":
    main()
