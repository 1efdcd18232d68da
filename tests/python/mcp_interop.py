#!/usr/bin/env python3
"""Drives `codeintel serve` with the official Python MCP SDK over stdio and streamable HTTP.

Usage: mcp_interop.py CODEINTEL_BINARY SCAN_TREE DATA_DIR
The tree must hold a repository defining `interop_marker_function`. Exits non-zero, with the
reason on stderr, when anything differs from what the contract says.
"""
import asyncio, json, os, subprocess, sys, time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

try:
    from mcp.client.streamable_http import streamable_http_client as http_client
except ImportError:  # mcp 1.x
    from mcp.client.streamable_http import streamablehttp_client as http_client

EXPECTED_TOOLS = {
    "configure_auto_sync", "get_auto_sync_status", "trigger_repository_scan", "pause_auto_sync",
    "resume_auto_sync", "search_code", "find_symbol", "get_file", "list_repositories",
    "index_repository", "get_repository_status", "find_references", "get_call_graph",
}


def attr(obj, snake, camel):
    """The SDK renamed fields to snake_case in 2.x; accept both."""
    return getattr(obj, snake) if hasattr(obj, snake) else getattr(obj, camel)


def structured(result):
    value = attr(result, "structured_content", "structuredContent")
    if value is not None:
        return value
    return json.loads(result.content[0].text)


def is_error(result):
    return bool(attr(result, "is_error", "isError"))


async def exercise(session: ClientSession, transport: str):
    await session.initialize()
    tools = {t.name: t for t in (await session.list_tools()).tools}
    missing = EXPECTED_TOOLS - tools.keys()
    assert not missing, f"{transport}: missing tools {missing}"
    for name, tool in tools.items():
        assert tool.description, f"{transport}: {name} has no description"
        schema = attr(tool, "input_schema", "inputSchema")
        assert schema.get("type") == "object", f"{transport}: {name} schema {schema}"

    # Wait for auto-sync to index the tree (the handshake did not wait for it).
    deadline = time.time() + 60
    while True:
        hits = structured(await session.call_tool("search_code", {"query": "interop_marker_function"}))
        if hits.get("count"):
            break
        assert time.time() < deadline, f"{transport}: nothing indexed in time: {hits}"
        await asyncio.sleep(0.2)
    top = hits["results"][0]
    assert top["symbol"] == "interop_marker_function", f"{transport}: {top}"
    for key in ("repository", "path", "start_line", "end_line", "language", "symbol", "kind", "score", "snippet"):
        assert key in top, f"{transport}: {key} missing in {top}"

    sym = structured(await session.call_tool("find_symbol", {"name": "interop_marker_function"}))
    assert sym["results"][0]["path"] == top["path"], f"{transport}: {sym}"
    assert sym["results"][0]["references"] == 2, f"{transport}: {sym}"
    refs = structured(await session.call_tool("find_references", {"name": "interop_marker_function"}))
    sites = sorted((r["path"], r["line"], r["kind"], r["confidence"]) for r in refs["references"])
    assert sites == [("b.py", 1, "import", "exact"), ("b.py", 5, "call", "exact")], f"{transport}: {refs}"
    assert refs["total"] == 2 and refs["references"][1]["symbol"] == "helper_b", f"{transport}: {refs}"
    graph = structured(await session.call_tool(
        "get_call_graph", {"name": "interop_marker_function", "direction": "callers", "depth": 2}))
    assert [c["symbol"] for c in graph["calls"]] == ["helper_b"], f"{transport}: {graph}"
    assert graph["calls"][0]["confidence"] == "exact", f"{transport}: {graph}"
    bad = await session.call_tool("get_call_graph", {"name": "helper_b", "direction": "sideways"})
    assert is_error(bad), f"{transport}: a bad direction was accepted"
    page = structured(await session.call_tool("get_file", {"path": top["path"], "repository": top["repository"]}))
    assert "interop_marker_function" in page["content"], f"{transport}: {page}"
    status = structured(await session.call_tool("get_auto_sync_status", {}))
    for key in ("enabled", "running", "last_scan", "queued_repos", "active_syncs", "synced_repos", "config", "paused"):
        assert key in status, f"{transport}: {key} missing in status"

    bad = await session.call_tool("search_code", {"query": "x", "limit": -1})
    assert is_error(bad), f"{transport}: negative limit accepted"
    outside = await session.call_tool("get_file", {"path": "/etc/passwd"})
    assert is_error(outside), f"{transport}: /etc/passwd was readable"
    # index_repository reports progress when asked for it.
    updates = []

    async def on_progress(progress, total, message):
        updates.append((progress, total, message))

    repo_path = structured(await session.call_tool("list_repositories", {}))["repositories"][0]["path"]
    indexed = await session.call_tool("index_repository", {"path": repo_path, "full": True},
                                      progress_callback=on_progress)
    assert not is_error(indexed), f"{transport}: {indexed}"
    assert structured(indexed)["files_processed"] >= 3, f"{transport}: {structured(indexed)}"
    for _ in range(50):
        if updates:
            break
        await asyncio.sleep(0.02)
    assert updates, f"{transport}: no progress notifications"
    assert updates[-1][0] == updates[-1][1], f"{transport}: progress did not reach its total: {updates}"

    still = structured(await session.call_tool("list_repositories", {}))
    assert still["count"] >= 1, f"{transport}: {still}"
    print(f"{transport}: ok ({len(tools)} tools)")


async def over_stdio(binary, tree, data_dir):
    params = StdioServerParameters(
        command=binary, args=["serve"],
        env={"CODEINTEL_DATA_DIR": data_dir, "CODEINTEL_ENV_FILE": os.devnull, "AUTO_SYNC_PATHS": tree,
             "CODEINTEL_EMBED_PROVIDER": "none"},
    )
    async with stdio_client(params) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await exercise(session, "stdio")


async def over_http(binary, tree, data_dir):
    env = dict(os.environ, CODEINTEL_DATA_DIR=data_dir, CODEINTEL_ENV_FILE=os.devnull, AUTO_SYNC_PATHS=tree)
    proc = subprocess.Popen([binary, "serve", "--http", "127.0.0.1:0"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server_json = os.path.join(data_dir, "server.json")
        deadline = time.time() + 30
        while True:
            try:
                info = json.load(open(server_json))
                if info.get("pid") == proc.pid:
                    break
            except (OSError, ValueError):
                pass
            assert proc.poll() is None, "http server exited"
            assert time.time() < deadline, "no server.json"
            time.sleep(0.05)
        async with http_client(info["url"]) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await exercise(session, "http")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    binary, tree, data_dir = sys.argv[1:4]
    asyncio.run(over_stdio(binary, tree, data_dir))
    asyncio.run(over_http(binary, tree, data_dir))


if __name__ == "__main__":
    main()
