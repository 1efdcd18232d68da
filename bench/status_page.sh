#!/usr/bin/env bash
# The status page and /metrics must not cost the idle server (issue 19):
#   idle:    CPU of `serve --http` watching REPOS small repositories over IDLE_SECS, first with
#            no page open, then with the page open in headless Chromium polling every 1.5 s
#            (CPU from /proc/PID/stat ticks, as bench/autosync.sh measures the daemon)
#   metrics: /metrics (and /api/status, /api/page) render time with METRIC_REPOS repositories
# Usage: bench/status_page.sh [idle|metrics|all]   (default all)
. "$(dirname "$0")/common.sh"
part=${1:-all}
case $part in
  idle | metrics | all) ;;
  *) echo "usage: $0 [idle|metrics|all]" >&2; exit 2 ;;
esac
REPOS=${REPOS:-200} METRIC_REPOS=${METRIC_REPOS:-1000} IDLE_SECS=${IDLE_SECS:-60}
IDLE_SETTLE=${IDLE_SETTLE:-5} SYNC_TIMEOUT=${SYNC_TIMEOUT:-1800} REQUESTS=${REQUESTS:-200}
if [ -n "${CODEINTEL_BIN:-}" ]; then CODEINTEL=$CODEINTEL_BIN; else build_release; fi
browser="$(bash "$REPO_DIR/scripts/setup-chromium.sh" | tail -1)"
export CODEINTEL_TEST_CHROMIUM="${browser%% *}" CODEINTEL_TEST_BROWSER_DIR="${browser#* }"
echo "binary: $CODEINTEL ($("$CODEINTEL" --version))"
echo "machine: $(machine)"
out="$BENCH_DIR/out/status_page"
mkdir -p "$out"
export CODEINTEL_ENV_FILE=/dev/null
make=(python3 "$BENCH_DIR/autosync_latency.py" "$CODEINTEL")
measure=(python3 "$BENCH_DIR/status_page.py")

server_pid="" log=""
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# start_server NAME TREE: `serve --http` over TREE with a fresh data dir; sets $base.
start_server() {
  export CODEINTEL_DATA_DIR="$out/data-$1"
  rm -rf "$CODEINTEL_DATA_DIR"
  log="$out/serve-$1.log"
  AUTO_SYNC_PATHS="$2" AUTO_SYNC_SCAN_INTERVAL=3600 AUTO_SYNC_INTERVAL=300 AUTO_SYNC_MAX_CONCURRENT=3 \
    "$CODEINTEL" serve --http 127.0.0.1:0 >/dev/null 2>"$log" &
  server_pid=$!
  for _ in $(seq 300); do
    [ -f "$CODEINTEL_DATA_DIR/server.json" ] && break
    sleep 0.1
  done
  base=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"].removesuffix("/mcp"))' \
    "$CODEINTEL_DATA_DIR/server.json")
}

run_idle() {
  echo "== idle: serve --http over $REPOS watched repositories (3-5 python files each), ${IDLE_SECS} s windows"
  local tree="$out/idle"
  rm -rf "$tree"
  "${make[@]}" make-repos "$tree" "$REPOS" 3 5
  start_server idle "$tree"
  "${measure[@]}" wait-synced "$base" "$REPOS" "$SYNC_TIMEOUT"
  sleep "$IDLE_SETTLE"
  "${measure[@]}" idle "$server_pid" "$IDLE_SECS" "$base/"
  stop_server
}

run_metrics() {
  echo "== /metrics with $METRIC_REPOS repositories (3 python files each), $REQUESTS requests each"
  local tree="$out/metrics"
  rm -rf "$tree"
  "${make[@]}" make-repos "$tree" "$METRIC_REPOS" 3 3
  start_server metrics "$tree"
  "${measure[@]}" wait-synced "$base" "$METRIC_REPOS" "$SYNC_TIMEOUT"
  sleep "$IDLE_SETTLE"
  # /api/page?since=V: what an open page polls while nothing changes (no repository list).
  local version
  version=$(python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/api/page"))["repositories_version"])' "$base")
  for path in /metrics /api/status /api/page "/api/page?since=$version"; do
    "${measure[@]}" latency "$base" "$path" "$REQUESTS"
  done
  stop_server
}

case $part in
  idle) run_idle ;;
  metrics) run_metrics ;;
  all) run_idle; run_metrics ;;
esac
