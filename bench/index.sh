#!/usr/bin/env bash
# Index benchmarks beside the reference tools, side by side in one run:
#   full index vs `ctags -R`, no-change resync vs `fd`, one-file edit resync, search vs `rg`.
# Usage: bench/index.sh [COPIES]   (corpus kept in bench/out/corpus-COPIES; 3 copies > 200 MB)
. "$(dirname "$0")/common.sh"
copies=${1:-3}
ensure_tools
build_release
build_parse_floor
corpus="$BENCH_DIR/out/corpus-$copies"
echo "corpus: $(make_corpus "$corpus" "$copies")"
echo "machine: $(machine)"
data="$BENCH_DIR/out/data-index"
excludes=(node_modules .git __pycache__ venv env build dist target .pytest_cache .tox)
fd_args=(--no-ignore --type f)
ctags_args=(-R --fields=+n -f "$BENCH_DIR/out/tags")
for e in "${excludes[@]}"; do fd_args+=(--exclude "$e"); ctags_args+=("--exclude=$e"); done
export CODEINTEL_DATA_DIR="$data" CODEINTEL_ENV_FILE=/dev/null

echo "== full index (3 runs each, fresh index every run)"
hyperfine -N --runs 3 --export-json "$BENCH_DIR/out/index-full.json" \
  --prepare "rm -rf $data" -n "codeintel index --full" "$CODEINTEL index --json $corpus" \
  -n "ctags -R" "ctags ${ctags_args[*]} $corpus"
rm -rf "$data"
rss=$(peak_rss_mb "$CODEINTEL" index --json "$corpus")
# The floor of this design: read and parse the same files with the same grammars, nothing else.
floor=$("$PARSE_FLOOR" "$corpus")
python3 - "$data/index.db" "$BENCH_DIR/out/index-full.json" "$rss" "$floor" <<'PY'
import json, os, sqlite3, sys
db, results, rss, floor = sys.argv[1], sys.argv[2], float(sys.argv[3]), json.loads(sys.argv[4])
c = sqlite3.connect(db)
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
files, src = c.execute("SELECT count(*), sum(size) FROM files").fetchone()
chunks = c.execute("SELECT count(*) FROM chunks").fetchone()[0]
size = sum(os.path.getsize(db + s) for s in ("", "-wal", "-shm") if os.path.exists(db + s))
r = {x["command"]: x["median"] for x in json.load(open(results))["results"]}
ci, ct = r["codeintel index --full"], r["ctags -R"]
print(f"indexed: {files} files, {src/1e6:.1f} MB of source, {chunks} chunks")
print(f"full index: codeintel {ci:.2f} s ({src/1e6/ci:.1f} MB/s), ctags {ct:.2f} s, ratio {ci/ct:.2f}x (target <= 3x)")
fl = floor["seconds"]
print(f"parse floor (read + tree-sitter parse, {floor['parsed']} of {floor['files']} files, 2 cores): {fl:.2f} s; index / floor {ci/fl:.2f}x (target <= 1.3x)")
print(f"peak RSS {rss:.0f} MB (target < 300 MB); index size {size/1e6:.1f} MB = {size/src:.2f}x source (target < 3x)")
PY

echo "== no-change resync vs fd"
hyperfine -N --warmup 2 --runs 10 --export-json "$BENCH_DIR/out/index-resync.json" \
  -n "codeintel index (no change)" "$CODEINTEL index --json $corpus" \
  -n "fd --no-ignore" "$FD ${fd_args[*]} . $corpus"
python3 - "$BENCH_DIR/out/index-resync.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
ci, fd = r["codeintel index (no change)"], r["fd --no-ignore"]
print(f"no-change resync: codeintel {ci*1000:.0f} ms, fd {fd*1000:.0f} ms, ratio {ci/fd:.2f}x (target <= 2x)")
PY

echo "== one-file edit resync"
victim=$(find "$corpus" -path "*projects/python*" -name "*.py" -print -quit)
cp "$victim" "$BENCH_DIR/out/victim.bak"
hyperfine -N --warmup 1 --runs 10 --export-json "$BENCH_DIR/out/index-edit.json" \
  --prepare "sh -c 'cp $BENCH_DIR/out/victim.bak $victim; echo \"# edit \$(date +%s%N)\" >> $victim'" \
  -n "codeintel index (one file edited)" "$CODEINTEL index --json $corpus"
cp "$BENCH_DIR/out/victim.bak" "$victim"
python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print(f\"one-file edit resync (whole corpus as one repository: walk + 1 file): median {r['median']*1000:.0f} ms\")" "$BENCH_DIR/out/index-edit.json"
# The same on one ordinary repository of the corpus (a Python package), in an index of its own:
# inside the corpus's index it is part of the corpus repository, and indexing it syncs that.
repo=$(dirname "$(find "$corpus/copy-0/projects/python" -maxdepth 3 -name '__init__.py' -size +20k -print -quit)")
victim=$(find "$repo" -name '*.py' -print -quit)
cp "$victim" "$BENCH_DIR/out/victim.bak"
repo_data="$BENCH_DIR/out/data-repo"
rm -rf "$repo_data"
CODEINTEL_DATA_DIR="$repo_data" "$CODEINTEL" index --json "$repo" > /dev/null
hyperfine -N --warmup 1 --runs 10 --export-json "$BENCH_DIR/out/index-edit-repo.json" \
  --prepare "sh -c 'cp $BENCH_DIR/out/victim.bak $victim; echo \"# edit \$(date +%s%N)\" >> $victim'" \
  -n "codeintel index (one repository, one file edited)" "env CODEINTEL_DATA_DIR=$repo_data $CODEINTEL index --json $repo"
cp "$BENCH_DIR/out/victim.bak" "$victim"
python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print(f\"one-file edit resync of {sys.argv[2]} ({sys.argv[3]} files): median {r['median']*1000:.0f} ms (target < 50 ms)\")" "$BENCH_DIR/out/index-edit-repo.json" "$(basename "$repo")" "$(find "$repo" -type f | wc -l)"

echo "== search: 50 queries, codeintel search vs rg (warm, median of 5 runs per query)"
# The runs above leave ~0.5 GB of freshly written index for the kernel to flush; let it finish
# so neither tool is timed against background writeback.
sync
python3 "$BENCH_DIR/search_latency.py" "$CODEINTEL" "$corpus"
