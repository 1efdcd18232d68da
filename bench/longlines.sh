#!/usr/bin/env bash
# Indexing cost against line length: one-line minified JavaScript bundles of 121 KB to 1 MiB, and
# the same bundles with a newline after every statement (1000 KB: under the 1 MiB file limit
# with the newlines), each indexed alone into a fresh index,
# beside `ctags` on the same file. Cost must stay linear in bytes whatever the line lengths.
# Usage: bench/longlines.sh
. "$(dirname "$0")/common.sh"
ensure_tools
build_release
out="$BENCH_DIR/out/longlines"
rm -rf "$out" && mkdir -p "$out"
echo "machine: $(machine)"
python3 - "$out" <<'PY'
import os, sys
out = sys.argv[1]
for kb in (121, 244, 494, 1000):  # the last one a little under the 1 MiB file limit with its newlines
    parts, n, i = [], 0, 0
    while n < kb * 1024:
        p = f"function f{i}(a){{return a*{i}+g(a)}};var v{i}=f{i}(1);"
        parts.append(p); n += len(p); i += 1
    for shape, sep in (("oneline", ""), ("lines", "\n")):
        d = os.path.join(out, f"{shape}-{kb}")
        os.makedirs(d)
        with open(os.path.join(d, "bundle.js"), "w") as f:
            f.write(sep.join(parts) + "\n")
PY
export CODEINTEL_ENV_FILE=/dev/null
printf "%-8s %-8s %10s %10s %10s %8s\n" shape KB codeintel MB/s ctags ratio
for dir in "$out"/oneline-* "$out"/lines-*; do
  name=$(basename "$dir"); shape=${name%-*}; kb=${name#*-}
  data="$out/data-$name"
  hyperfine -N --runs 5 --warmup 1 --export-json "$out/$name.json" \
    --prepare "rm -rf $data" -n codeintel "env CODEINTEL_DATA_DIR=$data $CODEINTEL index --no-embed --json $dir" \
    -n ctags "ctags --fields=+n -f $out/tags-$name $dir/bundle.js" >/dev/null
  python3 - "$out/$name.json" "$shape" "$kb" "$dir/bundle.js" <<'PY'
import json, os, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
mb = os.path.getsize(sys.argv[4]) / 1e6
ci, ct = r["codeintel"], r["ctags"]
print(f"{sys.argv[2]:<8} {sys.argv[3]:<8} {ci*1000:8.1f}ms {mb/ci:10.1f} {ct*1000:8.1f}ms {ci/ct:7.2f}x")
PY
done
