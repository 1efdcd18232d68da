#!/usr/bin/env bash
# Auto-sync daemon benchmarks on local trees under bench/out/autosync, one daemon per part
# (fresh data dir, long intervals: AUTO_SYNC_SCAN_INTERVAL=3600, AUTO_SYNC_INTERVAL=300, so only
# the startup scan and the file watcher trigger syncs):
#   latency:  edit -> searchable in one watched repository (LATENCY_FILES python files, EDITS edits)
#   checkout: `git checkout` between branches differing in FILES files -> branch b searchable
#   idle:     CPU and RSS of a daemon watching REPOS small repositories, over IDLE_SECS
# Usage: bench/autosync.sh [latency|checkout|idle|all]   (default all)
# Sizes (env): EDITS=100 LATENCY_FILES=200 FILES=5000 REPOS=200 IDLE_SECS=60 IDLE_SETTLE=5
#   SYNC_TIMEOUT=900 (seconds for the first sync); CODEINTEL_BIN=PATH uses that binary, no build.
. "$(dirname "$0")/common.sh"
part=${1:-all}
case $part in
  latency | checkout | idle | all) ;;
  *) echo "usage: $0 [latency|checkout|idle|all]" >&2; exit 2 ;;
esac
EDITS=${EDITS:-100} LATENCY_FILES=${LATENCY_FILES:-200} FILES=${FILES:-5000} REPOS=${REPOS:-200}
IDLE_SECS=${IDLE_SECS:-60} IDLE_SETTLE=${IDLE_SETTLE:-5} SYNC_TIMEOUT=${SYNC_TIMEOUT:-900}
ensure_tools
if [ -n "${CODEINTEL_BIN:-}" ]; then CODEINTEL=$CODEINTEL_BIN; else build_release; fi
if ! "$CODEINTEL" daemon --help >/dev/null 2>&1; then
  echo "$CODEINTEL has no \`daemon\` subcommand (stale build?)" >&2
  exit 1
fi
echo "binary: $CODEINTEL ($("$CODEINTEL" --version))"
echo "machine: $(machine)"
out="$BENCH_DIR/out/autosync"
mkdir -p "$out"
driver=(python3 "$BENCH_DIR/autosync_latency.py" "$CODEINTEL")
export CODEINTEL_ENV_FILE=/dev/null

# drive ARGS...: the Python driver, in the background so that a signal to this script is handled
# at once (the EXIT trap then stops the driver and the daemon).
driver_pid=""
drive() {
  "${driver[@]}" "$@" &
  driver_pid=$!
  wait "$driver_pid"
  driver_pid=""
}

daemon_pid="" log=""
# stop_daemon: SIGTERM, up to 30 s for a graceful exit, then SIGKILL.
stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  kill -TERM "$daemon_pid" 2>/dev/null || true
  for _ in $(seq 300); do
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$daemon_pid" 2>/dev/null; then
    echo "daemon $daemon_pid did not stop within 30 s of SIGTERM; killing it" >&2
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=""
}
cleanup() {
  if [ -n "$driver_pid" ]; then kill "$driver_pid" 2>/dev/null || true; fi
  stop_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_daemon NAME TREE: a daemon over TREE with a fresh data dir, its log in $out/NAME.log.
start_daemon() {
  export CODEINTEL_DATA_DIR="$out/data-$1"
  rm -rf "$CODEINTEL_DATA_DIR"
  log="$out/daemon-$1.log"
  AUTO_SYNC_PATHS="$2" AUTO_SYNC_SCAN_INTERVAL=3600 AUTO_SYNC_INTERVAL=300 AUTO_SYNC_MAX_CONCURRENT=3 \
    "$CODEINTEL" daemon -v >/dev/null 2>"$log" &
  daemon_pid=$!
}

run_latency() {
  echo "== edit -> searchable (one watched repository of $LATENCY_FILES python files, $EDITS edits)"
  local tree="$out/latency"
  rm -rf "$tree"
  drive make-repos "$tree" 1 "$LATENCY_FILES" "$LATENCY_FILES"
  start_daemon latency "$tree"
  drive wait-synced "$daemon_pid" 1 "$SYNC_TIMEOUT" "$log"
  drive latency "$tree/r000" "$EDITS"
  stop_daemon
}

run_checkout() {
  echo "== git checkout between branches differing in $FILES files -> searchable"
  local tree="$out/checkout"
  rm -rf "$tree"
  drive make-checkout "$tree/app" "$FILES"
  start_daemon checkout "$tree"
  drive wait-synced "$daemon_pid" 1 "$SYNC_TIMEOUT" "$log"
  drive checkout "$tree/app"
  stop_daemon
}

run_idle() {
  echo "== idle: $REPOS watched repositories (3-5 python files each), ${IDLE_SECS} s window"
  local tree="$out/idle"
  rm -rf "$tree"
  drive make-repos "$tree" "$REPOS" 3 5
  start_daemon idle "$tree"
  drive wait-synced "$daemon_pid" "$REPOS" "$SYNC_TIMEOUT" "$log"
  sleep "$IDLE_SETTLE"
  drive idle "$daemon_pid" "$IDLE_SECS"
  stop_daemon
}

case $part in
  latency) run_latency ;;
  checkout) run_checkout ;;
  idle) run_idle ;;
  all)
    run_latency
    run_checkout
    run_idle
    ;;
esac
