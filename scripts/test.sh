#!/usr/bin/env bash
# Runs the whole test suite: unit tests, and integration tests that drive the real binary.
# Anything a test needs beyond the Rust toolchain is installed from here, never by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/codeintel/target}"
# The MCP interoperability test drives the server with the official Python SDK.
CODEINTEL_TEST_PYTHON="$(bash scripts/setup-python.sh | tail -1)"
export CODEINTEL_TEST_PYTHON
# ... and with the official TypeScript SDK (npm), installed outside the clone.
CODEINTEL_TEST_NODE_DIR="$(bash scripts/setup-node.sh | tail -1)"
export CODEINTEL_TEST_NODE_DIR
# The status page test drives Debian's chromium (apt, when absent) with playwright-core (npm).
browser="$(bash scripts/setup-chromium.sh | tail -1)"
CODEINTEL_TEST_CHROMIUM="${browser%% *}"
CODEINTEL_TEST_BROWSER_DIR="${browser#* }"
export CODEINTEL_TEST_CHROMIUM CODEINTEL_TEST_BROWSER_DIR
# The local embedder is checked against reference vectors of the real all-MiniLM-L6-v2 model.
CODEINTEL_EMBED_MODEL_DIR="$(bash scripts/setup-model.sh "$HOME/.cache/codeintel/models/all-MiniLM-L6-v2" | tail -1)"
export CODEINTEL_EMBED_MODEL_DIR
# The PostgreSQL backend is tested on a private cluster: initdb and pg_ctl in a temp dir, on a
# Unix socket there (never a system-wide server), stopped however the tests end.
pg_dir="$(mktemp -d "${TMPDIR:-/tmp}/codeintel-pg.XXXXXX")"
trap 'bash scripts/setup-postgres.sh stop "$pg_dir" >/dev/null 2>&1; rm -rf "$pg_dir"' EXIT
CODEINTEL_TEST_POSTGRES_URL="$(bash scripts/setup-postgres.sh start "$pg_dir" | tail -1)"
export CODEINTEL_TEST_POSTGRES_URL
cargo test --workspace --locked "$@"
# The integration suites once more with every sandbox's index on PostgreSQL (a database of
# its own on the same cluster): the same assertions on the other backend. (`postgres` tests
# both side by side already; `model_install` touches no index.)
CODEINTEL_TEST_BACKEND=postgres cargo test -p codeintel-cli --locked \
  --test autosync --test control --test discover --test index --test mcp --test navigate \
  --test real_use --test remote_embed --test semantic --test status_page --test typescript_sdk "$@"
