#!/usr/bin/env python3
"""find_references and get_call_graph round trips through the official Python MCP SDK (stdio)
on an indexed data dir: median and p99, over definitions sampled from the index (seeded) and
over the most common names (thousands of uses: `new`, `get`, ...), whose answers are cut by the
limit but must still come quickly.

Usage: refs_latency.py CODEINTEL DATA_DIR [CALLS]
"""
import asyncio, os, random, sqlite3, statistics, sys, time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def sample(db, calls):
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = c.execute(
        "SELECT DISTINCT s.name FROM symbols s WHERE s.kind IN ('function', 'method', 'class', 'struct')"
        " AND length(s.name) > 2 ORDER BY s.name").fetchall()
    names = [r[0] for r in rows]
    random.Random(7).shuffle(names)
    common = [r[0] for r in c.execute(
        "SELECT name FROM refs GROUP BY name ORDER BY count(*) DESC LIMIT 20").fetchall()]
    return names[:calls], [n for n in common if n in set(names)] or common[:10]


def stats(times):
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))], times[-1]


async def measure(session, names, common):
    await session.initialize()
    await session.call_tool("find_references", {"name": names[0]})
    out = {}
    for label, tool, args_of, batch in (
        ("find_references (sampled)", "find_references", lambda n: {"name": n}, names),
        ("find_references (most used names)", "find_references", lambda n: {"name": n}, common),
        ("get_call_graph callers depth 2", "get_call_graph",
         lambda n: {"name": n, "direction": "callers", "depth": 2}, names[:100]),
        ("get_call_graph callees depth 2", "get_call_graph",
         lambda n: {"name": n, "direction": "callees", "depth": 2}, names[:100]),
    ):
        times, totals = [], []
        for n in batch:
            t = time.perf_counter()
            result = await session.call_tool(tool, args_of(n))
            times.append((time.perf_counter() - t) * 1000)
            err = getattr(result, "is_error", getattr(result, "isError", False))
            sc = getattr(result, "structured_content", getattr(result, "structuredContent", None)) or {}
            if not err and "total" in sc:
                totals.append(sc["total"])
        out[label] = (stats(times), len(batch), max(totals) if totals else None)
    return out


async def run(binary, data_dir, calls):
    # An empty scan path: the server serves the index as it is and scans nothing.
    empty = os.path.join(data_dir, "empty-scan-path")
    os.makedirs(empty, exist_ok=True)
    env = {"CODEINTEL_DATA_DIR": data_dir, "CODEINTEL_ENV_FILE": os.devnull, "AUTO_SYNC_PATHS": empty,
           "AUTO_SYNC_ENABLED": "false", "AUTO_SYNC_AUTO_WATCH": "false", "HOME": os.environ.get("HOME", "/"),
           "CODEINTEL_EMBED_PROVIDER": "none"}
    names, common = sample(os.path.join(data_dir, "index.db"), calls)
    params = StdioServerParameters(command=binary, args=["serve"], env=env)
    async with stdio_client(params) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            return await measure(session, names, common), common


def main():
    binary, data_dir = sys.argv[1], sys.argv[2]
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    results, common = asyncio.run(run(binary, data_dir, calls))
    print(f"most used names: {', '.join(common)}")
    for label, ((median, p99, worst), n, most) in results.items():
        extra = f", largest total {most}" if most is not None else ""
        print(f"{label} over stdio: median {median:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms over {n} calls{extra}")


if __name__ == "__main__":
    main()
