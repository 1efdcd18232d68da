#!/usr/bin/env bash
# Installs what the TypeScript MCP interoperability test and bench/mcp_latency_node.mjs need: the
# official TypeScript MCP SDK (`@modelcontextprotocol/sdk` from npm, with `zod`), as pinned by
# tests/node/package.json and package-lock.json, into a folder kept outside the clone.
# Quick when that exact lock is already installed. Prints the folder on the last line; scripts
# import the SDK from "$folder/node_modules/...".
set -euo pipefail
src="$(cd "$(dirname "$0")/../tests/node" && pwd)"
dir="${CODEINTEL_TEST_NODE:-$HOME/.cache/codeintel/node}"
command -v node >/dev/null || { echo "setup-node: node is not installed (apt-get install nodejs npm)" >&2; exit 1; }
major=$(node --version | sed -E 's/^v([0-9]+).*/\1/')
[ "$major" -ge 18 ] || { echo "setup-node: node $(node --version) is too old (the SDK needs 18+)" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup-node: npm is not installed" >&2; exit 1; }
mkdir -p "$dir"
stamp="$dir/.installed"
want="$(cat "$src/package.json" "$src/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1) $(node --version)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] \
  || [ ! -f "$dir/node_modules/@modelcontextprotocol/sdk/package.json" ]; then
  cp "$src/package.json" "$dir/package.json"
  if [ -f "$src/package-lock.json" ]; then
    cp "$src/package-lock.json" "$dir/package-lock.json"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
  else
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error) >&2
  fi
  echo "$want" > "$stamp"
fi
node -e 'require(process.argv[1] + "/node_modules/@modelcontextprotocol/sdk/package.json")' "$dir" \
  || { echo "setup-node: the SDK did not install in $dir" >&2; exit 1; }
echo "$dir"
