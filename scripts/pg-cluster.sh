#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests.
#
#   scripts/pg-cluster.sh start   # init + start; prints the URL (also written to $DIR/url)
#   scripts/pg-cluster.sh url     # prints the URL of the running cluster
#   scripts/pg-cluster.sh status  # exit 0 when running
#   scripts/pg-cluster.sh stop    # stop it and delete $DIR
#
# DIR is ${BERTH_PG_DIR:-/tmp/berth-pg}. The cluster listens on 127.0.0.1 only, on a free
# port, with trust authentication for the `postgres` superuser, its unix socket inside DIR,
# and durability switched off (fsync=off): it is for tests only. As root the server runs as
# the `postgres` system user (created when missing), since PostgreSQL refuses to run as root.
# Only the URL goes to stdout, so `url=$(scripts/pg-cluster.sh start)` works.
set -euo pipefail

DIR="${BERTH_PG_DIR:-/tmp/berth-pg}"
DATA="$DIR/data"
SOCK="$DIR/sock"
LOGFILE="$DIR/postgres.log"
URLFILE="$DIR/url"

say() { echo "pg-cluster: $*" >&2; }
die() { say "$*"; exit 1; }

find_pg_bin() {
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$d/pg_ctl" && -x "$d/initdb" ]]; then echo "$d"; return; fi
  done
  die "PostgreSQL server binaries (initdb, pg_ctl) not found; run scripts/ensure-deps.sh --pg"
}

as_root=0
[[ "$(id -u)" == 0 ]] && as_root=1

# Run a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [[ "$as_root" == 1 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

ensure_postgres_user() {
  [[ "$as_root" == 1 ]] || return 0
  if ! id -u postgres >/dev/null 2>&1; then
    say "creating the postgres system user"
    useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
      --shell /bin/bash postgres
  fi
}

pick_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
    return
  fi
  # No python: try random ports in the ephemeral range until one is not accepting.
  local p i
  for i in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "could not find a free port"
}

is_running() {
  [[ -f "$DATA/postmaster.pid" ]] || return 1
  local bin
  bin="$(find_pg_bin)"
  as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

cmd_start() {
  local bin port attempt url
  if is_running && [[ -f "$URLFILE" ]]; then
    say "already running"
    cat "$URLFILE"
    return 0
  fi
  bin="$(find_pg_bin)"
  ensure_postgres_user

  # A fresh directory every time (an existing one holds a stopped or broken cluster).
  rm -rf "$DIR"
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  if [[ "$as_root" == 1 ]]; then
    chown postgres:postgres "$DIR"
    # Every parent of DIR must be traversable by `postgres`.
    runuser -u postgres -- test -w "$DIR" \
      || die "user postgres cannot write to $DIR (a parent directory is not traversable); set BERTH_PG_DIR to a path under /tmp"
  fi
  as_owner mkdir -p "$SOCK"

  say "initdb in $DATA"
  if ! as_owner "$bin/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C --no-sync \
        >"$DIR/initdb.log" 2>&1; then
    cat "$DIR/initdb.log" >&2
    die "initdb failed"
  fi

  for attempt in 1 2 3 4 5; do
    port="$(pick_port)"
    # postgresql.conf: the last setting of a name wins, so a second attempt overrides.
    as_owner tee -a "$DATA/postgresql.conf" >/dev/null <<EOF
# --- berth pg-cluster.sh (attempt $attempt) ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$SOCK'
max_connections = 1000
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF
    if as_owner "$bin/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 start >/dev/null 2>&1; then
      url="postgres://postgres@127.0.0.1:$port/postgres"
      echo "$url" >"$URLFILE"
      echo "$port" >"$DIR/port"
      say "started on 127.0.0.1:$port (data: $DATA, log: $LOGFILE)"
      echo "$url"
      return 0
    fi
    if grep -q "could not bind\|Address already in use" "$LOGFILE" 2>/dev/null; then
      say "port $port was taken, trying another"
      continue
    fi
    tail -n 30 "$LOGFILE" >&2 2>/dev/null || true
    die "postgres failed to start"
  done
  die "postgres failed to start after 5 attempts"
}

cmd_url() {
  is_running || die "no cluster running in $DIR (run: scripts/pg-cluster.sh start)"
  cat "$URLFILE"
}

cmd_stop() {
  if [[ -f "$DATA/postmaster.pid" ]]; then
    local bin
    bin="$(find_pg_bin)"
    as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
      || as_owner "$bin/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 \
      || say "pg_ctl stop failed (see $LOGFILE)"
  fi
  if [[ -d "$DIR" ]]; then
    rm -rf "$DIR"
    say "stopped and removed $DIR"
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  status) if is_running; then say "running: $(cat "$URLFILE" 2>/dev/null)"; else say "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
