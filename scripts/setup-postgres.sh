#!/usr/bin/env bash
# A private PostgreSQL for the tests: a cluster made with initdb in DIR, listening only on a
# Unix socket in DIR (no TCP port, never a system-wide server). Installs Debian's `postgresql`
# package with apt when its programs are absent.
#   setup-postgres.sh start DIR   prints the cluster's URL (superuser `codeintel`) last
#   setup-postgres.sh stop DIR    stops it (DIR stays for a look at its log)
set -euo pipefail
action=${1:?usage: setup-postgres.sh start|stop DIR}
dir=${2:?usage: setup-postgres.sh start|stop DIR}

bin_dir() {
  if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
    dirname "$(command -v pg_ctl)"
    return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

bin=$(bin_dir)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "installing postgresql with apt" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  bin=$(bin_dir)
fi

# initdb and the server refuse to run as root: as root, they run as the `postgres` user
# (the package makes it), which then owns DIR.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$action" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U codeintel --auth=trust -E UTF8 --locale=C >"$dir/initdb.log"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir -c fsync=off -c max_connections=200" start >&2
    echo "postgresql://codeintel@/postgres?host=$dir"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    ;;
  *)
    echo "usage: setup-postgres.sh start|stop DIR" >&2
    exit 2
    ;;
esac
