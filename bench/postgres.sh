#!/usr/bin/env bash
# The PostgreSQL backend beside the embedded one, in one run, on the same corpus: full index
# time (target <= 1.5x SQLite's), store size, and search_code median/p99 over MCP (target
# median < 20 ms). The database is a private cluster this script starts (initdb/pg_ctl on a
# Unix socket in a temp dir, like the tests) and stops.
# Usage: bench/postgres.sh [CORPUS_DIR] [CALLS]   (default: the JavaScript part of corpus-1)
. "$(dirname "$0")/common.sh"
build_release
corpus=${1:-}
if [ -z "$corpus" ]; then
  make_corpus "$BENCH_DIR/out/corpus-1" 1 >/dev/null
  corpus="$BENCH_DIR/out/corpus-1/projects/js"
fi
calls=${2:-300}
echo "corpus: $corpus ($(du -sm "$corpus" | cut -f1) MB)"
echo "machine: $(machine)"
python=$(bash "$REPO_DIR/scripts/setup-python.sh" | tail -1)
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/codeintel-bench-pg.XXXXXX")
trap 'bash "$REPO_DIR/scripts/setup-postgres.sh" stop "$pg_dir" >/dev/null 2>&1; rm -rf "$pg_dir"' EXIT
admin=$(bash "$REPO_DIR/scripts/setup-postgres.sh" start "$pg_dir" | tail -1)
url="postgresql://codeintel@/bench?host=$pg_dir"
export CODEINTEL_ENV_FILE=/dev/null CODEINTEL_EMBED_PROVIDER=none
sqlite_data="$BENCH_DIR/out/data-pg-sqlite"
pg_data="$BENCH_DIR/out/data-pg-postgres"
fresh_database() {
  psql "$admin" -qc "DROP DATABASE IF EXISTS bench" >/dev/null 2>&1
  psql "$admin" -qc "CREATE DATABASE bench" >/dev/null
}
echo "== full index, interleaved (wall s / user CPU s)"
for round in 1 2 3; do
  rm -rf "$sqlite_data"
  CODEINTEL_DATA_DIR="$sqlite_data" /usr/bin/time -o "$pg_dir/time" -f "%e %U" "$CODEINTEL" index --json "$corpus" >/dev/null 2>&1
  s=$(tail -1 "$pg_dir/time")
  fresh_database; rm -rf "$pg_data"
  CODEINTEL_DATA_DIR="$pg_data" /usr/bin/time -o "$pg_dir/time" -f "%e %U" "$CODEINTEL" --store "$url" index --json "$corpus" >/dev/null 2>&1
  p=$(tail -1 "$pg_dir/time")
  python3 -c "import sys; s, p = sys.argv[1].split(), sys.argv[2].split(); print(f'round $round: sqlite {s[0]} / {s[1]}, postgres {p[0]} / {p[1]}, ratio {float(p[0]) / float(s[0]):.2f}x')" "$s" "$p"
done
echo "== store size"
echo "sqlite: $(du -sm "$sqlite_data" | cut -f1) MB (index.db and the lexical folder)"
echo "postgres: $(psql "$admin" -tAc "SELECT pg_database_size('bench') / 1048576") MB (pg_database_size)"
echo "== search_code over MCP ($calls calls; Python SDK)"
echo "-- sqlite"
"$python" "$BENCH_DIR/mcp_latency.py" "$CODEINTEL" "$sqlite_data" "$calls"
echo "-- postgres"
CODEINTEL_STORE="$url" "$python" "$BENCH_DIR/mcp_latency.py" "$CODEINTEL" "$pg_data" "$calls"
