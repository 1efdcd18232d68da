#!/usr/bin/env bash
# Discovery speed and memory beside `fd --no-ignore --type f` with the same excludes, in one run.
# Usage: bench/discover.sh [COPIES]   (corpus kept in bench/out/corpus-COPIES)
. "$(dirname "$0")/common.sh"
copies=${1:-20}
ensure_tools
build_release
corpus="$BENCH_DIR/out/corpus-$copies"
echo "corpus: $(make_corpus "$corpus" "$copies")"
excludes=(node_modules .git __pycache__ venv env build dist target .pytest_cache .tox)
fd_args=(--no-ignore --type f)
for e in "${excludes[@]}"; do fd_args+=(--exclude "$e"); done

echo "machine: $(machine)"
echo "repositories found: $("$CODEINTEL" discover --json "$corpus" | grep -c '"path"')"
echo "files fd lists: $("$FD" "${fd_args[@]}" . "$corpus" | wc -l)"
hyperfine -N --warmup 3 --runs 15 --export-json "$BENCH_DIR/out/discover.json" \
  -n "codeintel discover" "$CODEINTEL discover --json $corpus" \
  -n "fd --no-ignore" "$FD ${fd_args[*]} . $corpus"
python3 - "$BENCH_DIR/out/discover.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
ci, fd = r["codeintel discover"], r["fd --no-ignore"]
print(f"median wall: codeintel {ci['median']*1000:.1f} ms, fd {fd['median']*1000:.1f} ms, "
      f"ratio {ci['median']/fd['median']:.2f}x (target <= 1.5x)")
PY
echo "peak RSS: codeintel $(peak_rss_mb "$CODEINTEL" discover --json "$corpus") MB," \
     "fd $(peak_rss_mb "$FD" "${fd_args[@]}" . "$corpus") MB (target < 100 MB)"
