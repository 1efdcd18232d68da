#!/usr/bin/env bash
# MCP round trips: search_code over stdio and HTTP through the official Python SDK and the official
# TypeScript SDK, on the index bench/index.sh built (run that first). Usage: bench/mcp.sh [CALLS]
. "$(dirname "$0")/common.sh"
build_release
data="$BENCH_DIR/out/data-index"
[ -f "$data/index.db" ] || { echo "run bench/index.sh first (it builds $data)" >&2; exit 1; }
python=$(bash "$REPO_DIR/scripts/setup-python.sh" | tail -1)
echo "machine: $(machine)"
"$python" "$BENCH_DIR/mcp_latency.py" "$CODEINTEL" "$data" "${1:-500}"
node_dir=$(bash "$REPO_DIR/scripts/setup-node.sh" | tail -1)
node "$BENCH_DIR/mcp_latency_node.mjs" "$CODEINTEL" "$data" "${1:-500}" "$node_dir"
