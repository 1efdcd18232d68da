#!/usr/bin/env bash
# Before and after, side by side in one run: two or more codeintel binaries (e.g. release builds
# of two commits, copied aside) on the same corpus, alternating, each with its own index.
#   full index (3 runs each), no-change resync (10), one-file edit of one ordinary repository
#   (10), CLI search median over the 50 queries, MCP search_code median (Python SDK, stdio).
# Usage: bench/compare.sh [--copies N] NAME=BINARY NAME=BINARY...
. "$(dirname "$0")/common.sh"
copies=1
if [ "${1:-}" = "--copies" ]; then copies=$2; shift 2; fi
[ $# -ge 2 ] || { echo "usage: bench/compare.sh [--copies N] NAME=BINARY NAME=BINARY..." >&2; exit 2; }
ensure_tools
corpus="$BENCH_DIR/out/corpus-$copies"
echo "corpus: $(make_corpus "$corpus" "$copies")"
echo "machine: $(machine)"
out="$BENCH_DIR/out/compare"
mkdir -p "$out"
export CODEINTEL_ENV_FILE=/dev/null
names=(); full=(); resync=(); edit=()
for spec in "$@"; do
  name=${spec%%=*}; bin=${spec#*=}
  names+=("$name")
  full+=(-n "$name index --full" --prepare "rm -rf $out/data-$name" "env CODEINTEL_DATA_DIR=$out/data-$name $bin index --json $corpus")
done
echo "== full index, 3 runs each, alternating"
hyperfine -N --runs 3 --export-json "$out/full.json" "${full[@]}" >/dev/null
for spec in "$@"; do
  name=${spec%%=*}; bin=${spec#*=}
  # The index the full runs left is the one the later phases use.
  resync+=(-n "$name no-change" "env CODEINTEL_DATA_DIR=$out/data-$name $bin index --json $corpus")
done
echo "== no-change resync, 10 runs each"
hyperfine -N --warmup 1 --runs 10 --export-json "$out/resync.json" "${resync[@]}" >/dev/null
pyroot=$(find "$corpus" -maxdepth 3 -type d -path '*projects/python' -print -quit)
repo=$(dirname "$(find "$pyroot" -maxdepth 3 -name '__init__.py' -size +20k -print -quit)")
victim=$(find "$repo" -name '*.py' -print -quit)
cp "$victim" "$out/victim.bak"
for spec in "$@"; do
  name=${spec%%=*}; bin=${spec#*=}
  rm -rf "$out/repo-$name"
  CODEINTEL_DATA_DIR="$out/repo-$name" "$bin" index --json "$repo" >/dev/null
  edit+=(-n "$name one-file edit" "env CODEINTEL_DATA_DIR=$out/repo-$name $bin index --json $repo")
done
echo "== one-file edit of $(basename "$repo"), 10 runs each"
hyperfine -N --warmup 1 --runs 10 --export-json "$out/edit.json" \
  --prepare "sh -c 'cp $out/victim.bak $victim; echo \"# edit \$(date +%s%N)\" >> $victim'" \
  "${edit[@]}" >/dev/null
cp "$out/victim.bak" "$victim"
sync
python3 - "$out" "${names[@]}" <<'PY'
import json, sys
out, names = sys.argv[1], sys.argv[2:]
for phase, suffix in (("full", " index --full"), ("resync", " no-change"), ("edit", " one-file edit")):
    r = {x["command"]: x for x in json.load(open(f"{out}/{phase}.json"))["results"]}
    base = r[names[0] + suffix]["median"]
    cells = [f"{n} {r[n + suffix]['median'] * (1 if phase == 'full' else 1000):.{2 if phase == 'full' else 1}f}"
             f"{' s' if phase == 'full' else ' ms'} ({r[n + suffix]['median'] / base:.2f}x)" for n in names]
    print(f"{phase:>7}: " + ", ".join(cells))
PY
python=$(bash "$REPO_DIR/scripts/setup-python.sh" | tail -1)
for round in 1 2; do
  for spec in "$@"; do
    name=${spec%%=*}; bin=${spec#*=}
    cli=$(CODEINTEL_DATA_DIR="$out/data-$name" python3 "$BENCH_DIR/search_latency.py" "$bin" "$corpus" --no-rg 2>/dev/null | tail -1 || true)
    mcp=$(CODEINTEL_DATA_DIR="$out/data-$name" "$python" "$BENCH_DIR/mcp_latency.py" "$bin" "$out/data-$name" 200 2>/dev/null | grep stdio || true)
    echo "search round $round, $name: ${cli:-cli search: n/a}; ${mcp:-mcp: n/a}"
  done
done
