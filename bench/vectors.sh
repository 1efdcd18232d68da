#!/usr/bin/env bash
# Semantic (vector) search latency at 10k, 100k and 1M embedded units.
# Indexes a few stdlib packages with real embeddings (the local all-MiniLM-L6-v2), then grows the
# index with synthetic units (bench/vectors_synth.py: random sign bits and int8 vectors, one
# per one-line chunk) and at each size measures (bench/vectors_latency.py):
#   - CLI `codeintel search --mode semantic` one-shot: median and p95 over 20 queries (each a
#     process that loads the model and the bits snapshot);
#   - MCP stdio `search_code` mode semantic through the official Python SDK: the first call
#     (loads the snapshot) apart, then median and p99 over 100 calls; the same for mode lexical;
#   - the server's RSS (idle with the model loaded, after the snapshot, after all calls);
#   - index.db size.
# Everything lands in bench/out/vectors (recreated on every run). About 3 minutes on 2 cores
# after the build.
# Usage (SIZES ascending: the synthetic rows only grow): [SIZES="10000 100000 1000000"] [CALLS=100] [CLI_QUERIES=20] bench/vectors.sh
. "$(dirname "$0")/common.sh"
build_release
model=$(bash "$REPO_DIR/scripts/setup-model.sh" | tail -1)
python=$(bash "$REPO_DIR/scripts/setup-python.sh" | tail -1)
# The index's full-text table needs SQLite >= 3.43 to be written from Python.
if ! "$python" -c 'import sqlite3, sys; sys.exit(sqlite3.sqlite_version_info < (3, 43))' 2>/dev/null \
  && ! "$python" -c 'import pysqlite3' 2>/dev/null; then
  "$python" -m pip install --quiet --disable-pip-version-check pysqlite3-binary >&2
fi
out="$BENCH_DIR/out/vectors"
rm -rf "$out" && mkdir -p "$out/corpus/stdlib-sample"
stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
for pkg in json http logging urllib concurrent; do
  cp -r "$stdlib/$pkg" "$out/corpus/stdlib-sample/"
done
find "$out/corpus" -name __pycache__ -prune -exec rm -rf {} +
echo "# stdlib sample" > "$out/corpus/stdlib-sample/README.md"

export CODEINTEL_DATA_DIR="$out/data" CODEINTEL_ENV_FILE=/dev/null CODEINTEL_EMBED_MODEL_DIR="$model"
unset CODEINTEL_EMBED_PROVIDER
db="$CODEINTEL_DATA_DIR/index.db"
echo "machine: $(machine)"
echo "binary: $CODEINTEL ($("$CODEINTEL" --version), built from $(git -C "$REPO_DIR" rev-parse --short HEAD)$(git -C "$REPO_DIR" diff --quiet HEAD -- crates || echo ' + uncommitted crates/ changes'))"
echo "model: $model"

start=$(date +%s%N)
"$CODEINTEL" index --json "$out/corpus/stdlib-sample" > "$out/index.json"
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
read -r model_name real_chunks real_units < <("$python" - "$db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
models = db.execute("SELECT name FROM embedding_models").fetchall()
assert len(models) == 1, models
print(models[0][0], db.execute("SELECT count(*) FROM chunks").fetchone()[0],
      db.execute("SELECT count(*) FROM embeddings").fetchone()[0])
PY
)
echo "real corpus: $real_chunks chunks, $real_units units of $model_name, indexed and embedded in $((elapsed / 1000)) s"

for n in ${SIZES:-10000 100000 1000000}; do
  echo "== $n units"
  "$python" "$BENCH_DIR/vectors_synth.py" "$db" --units "$n" --model-name "$model_name"
  bytes=$(stat -c %s "$db")
  "$python" "$BENCH_DIR/vectors_latency.py" "$CODEINTEL" "$CODEINTEL_DATA_DIR" "$model" \
    --calls "${CALLS:-100}" --cli-queries "${CLI_QUERIES:-20}" > "$out/result-$n.json"
  "$python" - "$out/result-$n.json" "$n" "$bytes" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["units"], r["index_db_bytes"] = int(sys.argv[2]), int(sys.argv[3])
json.dump(r, open(sys.argv[1], "w"))
print(json.dumps(r))
PY
done

echo
echo "| units | index.db | CLI semantic, one-shot: median (p95) | MCP semantic: first call | MCP semantic: median (p99) | MCP lexical: median (p99) | server RSS: idle / after first semantic / after all calls |"
echo "|---|---|---|---|---|---|---|"
"$python" - "$out" ${SIZES:-10000 100000 1000000} <<'PY'
import json, sys
out, sizes = sys.argv[1], sys.argv[2:]
notes = []
for n in sizes:
    r = json.load(open(f"{out}/result-{n}.json"))
    c, s, l = r["cli_semantic"], r["semantic"], r["lexical"]
    print(f"| {int(n):,} | {r['index_db_bytes'] / 1e6:.0f} MB | {c['median']:.0f} ms ({c['p95']:.0f} ms) "
          f"| {r['semantic_first_ms']:.0f} ms | {s['median']:.1f} ms ({s['p99']:.1f} ms) "
          f"| {l['median']:.1f} ms ({l['p99']:.1f} ms) "
          f"| {r['rss_idle_mb']:.0f} / {r['rss_snapshot_mb']:.0f} / {r['rss_after_mb']:.0f} MB |")
    notes.append(f"{int(n):,}: semantic top hit from the real corpus in {s['real_top1']}/{s['n']} calls "
                 f"({s['empty']} empty), CLI failures {c['failures']}, server busy {r['startup_busy_s']:.1f} s "
                 f"after start, load average {' '.join(r['loadavg_before'])} before, {' '.join(r['loadavg_after'])} after")
print()
print("\n".join(notes))
PY
