#!/usr/bin/env bash
# find_references quality: precision and recall of `codeintel refs` against precise language
# tools on real code nobody here wrote (bench/refs_eval.py does the comparison):
#   TypeScript: the TypeScript compiler's language service (`findReferences`) on rxjs's src/
#   Python:     jedi's `Script.get_references` on requests, click, attrs and rich
# Installs (kept between runs) go under $HOME/.cache/codeintel/refs-eval/; the index lives in a
# temporary data dir, so nothing touches the user's codeintel data.
#
#   bash bench/refs_eval.sh                               # builds codeintel-cli first
#   CODEINTEL_BIN=/path/to/codeintel bash bench/refs_eval.sh   # uses that binary, no build
#   REFS_EVAL_ARGS='--lang python --samples 20' bash bench/refs_eval.sh
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
CACHE="$HOME/.cache/codeintel/refs-eval"
mkdir -p "$CACHE"

# Pinned versions so that reruns compare like with like.
TS_VERSION=5.9.3
RXJS_VERSION=7.8.2
JEDI_VERSION=0.20.1
PY_DISTS="requests==2.34.2 click==8.5.1 attrs==26.1.0 rich==15.0.0"

if [ -z "${CODEINTEL_BIN:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/codeintel/target}"
  (cd "$REPO_DIR" && cargo build --release --locked -q -p codeintel-cli)
  CODEINTEL_BIN="$CARGO_TARGET_DIR/release/codeintel"
fi
[ -x "$CODEINTEL_BIN" ] || { echo "no codeintel binary at $CODEINTEL_BIN" >&2; exit 1; }

# TypeScript: the compiler and the tree under evaluation (rxjs ships src/*.ts in its tarball).
node_dir="$CACHE/node"
if [ "$(cat "$node_dir/.done" 2>/dev/null)" != "$TS_VERSION $RXJS_VERSION" ]; then
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  (cd "$node_dir" && echo '{"name":"refs-eval","private":true}' > package.json &&
    npm install --silent --no-audit --no-fund --ignore-scripts \
      "typescript@$TS_VERSION" "rxjs@$RXJS_VERSION" >&2)
  echo "$TS_VERSION $RXJS_VERSION" > "$node_dir/.done"
fi

# Python: a venv with jedi; each package's sources installed alone (no dependencies) in its own
# folder, which is indexed as one repository and is jedi's project.
venv="$CACHE/venv"
if [ "$(cat "$CACHE/.py-done" 2>/dev/null)" != "$JEDI_VERSION $PY_DISTS" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "jedi==$JEDI_VERSION" >&2
  rm -rf "$CACHE/py"
  for spec in $PY_DISTS; do
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-compile \
      --target "$CACHE/py/${spec%%==*}" "$spec" >&2
  done
  echo "$JEDI_VERSION $PY_DISTS" > "$CACHE/.py-done"
fi

# shellcheck disable=SC2086
exec "$venv/bin/python" "$BENCH_DIR/refs_eval.py" --bin "$CODEINTEL_BIN" --cache "$CACHE" \
  ${REFS_EVAL_ARGS:-}
