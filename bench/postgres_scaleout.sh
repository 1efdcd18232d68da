#!/usr/bin/env bash
# Scale-out on PostgreSQL: one indexer pinned to one core against two indexers pinned to one
# core each (taskset), sharing one store and one tree of many repositories (target: two finish
# in at most 0.6x the time of one). Each indexer is a `codeintel daemon` with its own data
# dir, one sync at a time; the time is from start until every repository is synced and no
# lease is left. The database is a private cluster this script starts (initdb/pg_ctl on a Unix
# socket) and stops; its server processes are not pinned (on a 2-core machine they share the
# cores with the indexers, as a database on the same host would).
# Usage: bench/postgres_scaleout.sh [SOURCE_DIR] [REPOS] [ROUNDS]
#   (default: the JavaScript and Python parts of corpus-1, spread over 120 repositories, 2 rounds)
. "$(dirname "$0")/common.sh"
build_release
command -v taskset >/dev/null || { apt-get update -qq && apt-get install -y -qq util-linux >/dev/null; }
source_dirs=${1:-}
repos=${2:-120}
rounds=${3:-2}
if [ -z "$source_dirs" ]; then
  make_corpus "$BENCH_DIR/out/corpus-1" 1 >/dev/null
  source_dirs="$BENCH_DIR/out/corpus-1/projects/js $BENCH_DIR/out/corpus-1/projects/python"
fi
tree="$BENCH_DIR/out/scaleout-$repos"
if [ ! -d "$tree" ]; then
  # Files dealt round robin into REPOS repositories (each with a .git folder), paths kept.
  python3 - "$tree" "$repos" $source_dirs <<'PY'
import os, shutil, sys
tree, repos, sources = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
n = 0
for source in sources:
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(root, name), source)
            repo = os.path.join(tree, f"r{n % repos:03d}")
            dest = os.path.join(repo, os.path.basename(source), rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(os.path.join(root, name), dest)
            os.makedirs(os.path.join(repo, ".git"), exist_ok=True)
            n += 1
PY
fi
echo "tree: $tree ($(du -sm "$tree" | cut -f1) MB, $repos repositories, $(find "$tree" -type f | wc -l) files)"
echo "machine: $(machine)"
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/codeintel-bench-pg.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  bash "$REPO_DIR/scripts/setup-postgres.sh" stop "$pg_dir" >/dev/null 2>&1
  rm -rf "$pg_dir"
}
trap cleanup EXIT
admin=$(bash "$REPO_DIR/scripts/setup-postgres.sh" start "$pg_dir" | tail -1)
url="postgresql://codeintel@/scaleout?host=$pg_dir"
export CODEINTEL_ENV_FILE=/dev/null CODEINTEL_EMBED_PROVIDER=none

# run_workers N: seconds until N pinned daemons have synced the whole tree into a fresh database.
run_workers() {
  local workers=$1 i start
  psql "$admin" -qc "DROP DATABASE IF EXISTS scaleout" >/dev/null 2>&1
  psql "$admin" -qc "CREATE DATABASE scaleout" >/dev/null
  # The schema first, so the indexers start alike.
  CODEINTEL_DATA_DIR="$pg_dir/data-schema" "$CODEINTEL" --store "$url" repos >/dev/null 2>&1
  pids=()
  start=$(date +%s.%N)
  for ((i = 0; i < workers; i++)); do
    rm -rf "$pg_dir/data-$i"
    CODEINTEL_STORE="$url" CODEINTEL_DATA_DIR="$pg_dir/data-$i" AUTO_SYNC_PATHS="$tree" \
      AUTO_SYNC_MAX_CONCURRENT=1 AUTO_SYNC_SCAN_INTERVAL=3600 AUTO_SYNC_AUTO_WATCH=false \
      taskset -c "$i" "$CODEINTEL" daemon 2>"$pg_dir/worker-$i.log" &
    pids+=($!)
  done
  while true; do
    local synced leases
    synced=$(psql "$url" -tAc "SELECT count(*) FROM repositories WHERE sync_state = 'synced'" 2>/dev/null || echo 0)
    leases=$(psql "$url" -tAc "SELECT count(*) FROM repository_leases" 2>/dev/null || echo 1)
    if [ "$synced" = "$repos" ] && [ "$leases" = 0 ]; then break; fi
    sleep 0.2
  done
  local end
  end=$(date +%s.%N)
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  pids=()
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$end"
}

echo "== time to sync every repository (s), interleaved"
for ((round = 1; round <= rounds; round++)); do
  one=$(run_workers 1)
  files=$(psql "$url" -tAc "SELECT count(*) FROM files")
  two=$(run_workers 2)
  files_two=$(psql "$url" -tAc "SELECT count(*) FROM files")
  python3 -c "import sys; one, two = float(sys.argv[1]), float(sys.argv[2]); print(f'round $round: one worker {one:.1f} s ({sys.argv[3]} files), two workers {two:.1f} s ({sys.argv[4]} files), two/one {two / one:.2f} (target <= 0.6)')" "$one" "$two" "$files" "$files_two"
done
