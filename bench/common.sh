# Shared setup for benchmark scripts: reference tools, the release binary, a corpus.
# Source it from a bench script: `. "$(dirname "$0")/common.sh"`.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/codeintel/target}"
# The lexical benchmarks measure no embedding (nor a model download); vectors.sh and eval.sh
# name their model.
export CODEINTEL_EMBED_PROVIDER="${CODEINTEL_EMBED_PROVIDER:-none}"
CODEINTEL="$CARGO_TARGET_DIR/release/codeintel"

# Installs the reference tools (fd, rg, universal-ctags, hyperfine, GNU time) when absent.
ensure_tools() {
  local missing=()
  command -v fd >/dev/null || command -v fdfind >/dev/null || missing+=(fd-find)
  command -v rg >/dev/null || missing+=(ripgrep)
  ctags --version 2>/dev/null | grep -q Universal || missing+=(universal-ctags)
  command -v hyperfine >/dev/null || missing+=(hyperfine)
  [ -x /usr/bin/time ] || missing+=(time)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  FD=$(command -v fd || command -v fdfind)
}

build_release() {
  (cd "$REPO_DIR" && cargo build --release --locked -q -p codeintel-cli)
}

# The parse floor (crates/index/examples/parse_floor.rs): read and parse what `index` would,
# nothing else. Sets PARSE_FLOOR.
build_parse_floor() {
  (cd "$REPO_DIR" && cargo build --release --locked -q -p codeintel-index --example parse_floor)
  PARSE_FLOOR="$CARGO_TARGET_DIR/release/examples/parse_floor"
}

# idle_server_rss_mb DATA_DIR: resident MB of an HTTP server over DATA_DIR's index, 5 s after
# it listens (auto-sync off: nothing to scan).
idle_server_rss_mb() {
  local data=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  AUTO_SYNC_ENABLED=false CODEINTEL_DATA_DIR="$data" "$CODEINTEL" serve --http "127.0.0.1:$port" 2>/dev/null &
  local pid=$!
  python3 - "$port" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        time.sleep(0.2)
PY
  sleep 5
  awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$pid/status"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
}

# make_corpus DIR COPIES: builds the multi-repository tree once (kept between runs).
make_corpus() {
  local dir=$1 copies=$2
  if [ ! -f "$dir/.corpus-done" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    python3 "$BENCH_DIR/make-corpus" "$dir" --copies "$copies" | tail -1 > "$dir/.corpus-done"
  fi
  cat "$dir/.corpus-done"
}

# peak_rss_mb CMD...: runs CMD once and prints its peak resident set size in MB.
peak_rss_mb() {
  /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1/1024}'
}

machine() {
  echo "$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -sr), $(date -u +%Y-%m-%d)"
}
