#!/usr/bin/env bash
# How codeintel grows with the corpus: the same measures at several sizes, one table.
#   per size: source MB, files, chunks, full index time and MB/s, parse floor (read + parse
#   with the same grammars, nothing else), store size, peak RSS of the index, CLI search
#   median/p99 (50 queries x 5 runs, one-shot processes), MCP search_code median/p99 (Python
#   SDK, stdio), no-change resync, idle server RSS.
# Usage: bench/growth.sh [COPIES...]   (default 1 8 20; corpora kept in bench/out/corpus-N;
#   20 copies is ~3.6 GB of source and ~6 GB of index: check the disk first)
. "$(dirname "$0")/common.sh"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 8 20)
ensure_tools
build_release
build_parse_floor
python=$(bash "$REPO_DIR/scripts/setup-python.sh" | tail -1)
echo "machine: $(machine)"
export CODEINTEL_ENV_FILE=/dev/null
table="$BENCH_DIR/out/growth.md"
{
  echo "| copies | source MB | files | chunks | index s | MB/s | parse floor s | index/floor | store MB | store/source | peak RSS MB | CLI search median / p99 ms | MCP search median / p99 ms | no-change resync ms | idle server RSS MB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} > "$table"
for copies in "${sizes[@]}"; do
  corpus="$BENCH_DIR/out/corpus-$copies"
  echo "== $copies copies: $(make_corpus "$corpus" "$copies")"
  data="$BENCH_DIR/out/data-growth-$copies"
  rm -rf "$data"
  export CODEINTEL_DATA_DIR="$data"
  # Page cache warm for both: the first run after building a corpus reads from disk.
  find "$corpus" -type f -print0 | xargs -0 cat >/dev/null
  floor=$("$PARSE_FLOOR" "$corpus")
  start=$(date +%s.%N)
  rss=$(peak_rss_mb "$CODEINTEL" index --json "$corpus")
  index_s=$(python3 -c "import sys, time; print(time.time() - float(sys.argv[1]))" "$start")
  hyperfine -N --warmup 1 --runs 5 --export-json "$BENCH_DIR/out/growth-resync.json" \
    "$CODEINTEL index --json $corpus" >/dev/null
  cli=$(python3 "$BENCH_DIR/search_latency.py" "$CODEINTEL" "$corpus" --no-rg --p99 | tail -1)
  mcp=$("$python" "$BENCH_DIR/mcp_latency.py" "$CODEINTEL" "$data" 300 2>/dev/null | grep stdio || true)
  idle=$(idle_server_rss_mb "$data")
  python3 - "$table" "$copies" "$data/index.db" "$index_s" "$rss" "$floor" \
      "$BENCH_DIR/out/growth-resync.json" "$cli" "$mcp" "$idle" <<'PY'
import json, os, re, sqlite3, sys
table, copies, db, index_s, rss, floor, resync, cli, mcp, idle = sys.argv[1:]
index_s, rss, floor = float(index_s), float(rss), json.loads(floor)
c = sqlite3.connect(db)
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
files, src = c.execute("SELECT count(*), sum(size) FROM files").fetchone()
chunks = c.execute("SELECT count(*) FROM chunks").fetchone()[0]
size = sum(os.path.getsize(db + s) for s in ("", "-wal", "-shm") if os.path.exists(db + s))
# The lexical index lives in a folder beside the database (schema 5).
lexical = os.path.splitext(db)[0] + ".lexical"
size += sum(e.stat().st_size for e in os.scandir(lexical) if e.is_file()) if os.path.isdir(lexical) else 0
resync_ms = json.load(open(resync))["results"][0]["median"] * 1000
def pair(text, name):
    m = re.search(r"median ([\d.]+) ms.*?p99 ([\d.]+) ms", text)
    return f"{m.group(1)} / {m.group(2)}" if m else f"{name} n/a"
row = (f"| {copies} | {src/1e6:.0f} | {files} | {chunks} | {index_s:.1f} | {src/1e6/index_s:.1f} "
       f"| {floor['seconds']:.1f} | {index_s/floor['seconds']:.2f}x | {size/1e6:.0f} | {size/src:.2f}x "
       f"| {rss:.0f} | {pair(cli, 'cli')} | {pair(mcp, 'mcp')} | {resync_ms:.0f} | {idle} |")
print(row)
open(table, "a").write(row + "\n")
PY
done
echo
cat "$table"
