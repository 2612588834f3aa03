#!/usr/bin/env bash
# Berth soak test (the last part of `make bench`; also runs alone):
#
#   scripts/soak.sh                      # 10 minutes on SQLite, then 10 minutes on PostgreSQL
#   SOAK_SECS=60 SOAK_DATABASES=sqlite scripts/soak.sh
#
# For each database: a fresh data directory (and for PostgreSQL a throwaway cluster from
# scripts/pg-cluster.sh), the release binary's `berth serve` on a free loopback port, an admin
# with a write and a read token and a signed-in user (made with the CLI), then
# scripts/soak-load.py for SOAK_SECS seconds at SOAK_CONNS connections: signed-in page views,
# REST reads and writes, signed GitHub push deliveries (to a branch no environment follows:
# recorded and skipped) and SSE followers of a deploy's live log (the deploy waits in its pull
# step on an image nobody serves, and is cancelled and replaced every couple of minutes: no
# container is created, but the Docker engine is asked for the image). It prints a table per
# database and fails when any request errs, any takes over 5 s, VmRSS is not flat (the average
# of the last third of the samples more than 10% and SOAK_RSS_SLACK_MIB above the first
# third's, after a warm-up), or the server logs an ERROR or a panic.
#
# Environment:
#   BERTH_BIN            release binary (default ${CARGO_TARGET_DIR:-target}/release/berth)
#   SOAK_SECS            seconds of load per database (default 600)
#   SOAK_CONNS           concurrent connections, SSE followers and the deploy keeper included
#                        (default 64)
#   SOAK_SSE             of which SSE followers (default 8)
#   SOAK_DATABASES       which databases, in order (default "sqlite postgres")
#   SOAK_MIX             request mix weights (default pages=40,reads=35,writes=15,webhooks=10)
#   SOAK_RSS_SLACK_MIB   RSS growth always accepted, in MiB (default 5)
#   SOAK_WARMUP_SECS     RSS samples not judged (default a tenth of SOAK_SECS, 20 to 60)
# Exit status: 0 when every database passed, 1 when a criterion failed, 2 on a set-up error.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR=${CARGO_TARGET_DIR:-target}
BERTH_BIN=${BERTH_BIN:-$TARGET_DIR/release/berth}
SECS=${SOAK_SECS:-600}
CONNS=${SOAK_CONNS:-64}
SSE=${SOAK_SSE:-8}
DATABASES=${SOAK_DATABASES:-sqlite postgres}
MIX=${SOAK_MIX:-pages=40,reads=35,writes=15,webhooks=10}
RSS_SLACK=${SOAK_RSS_SLACK_MIB:-5}
WARMUP=${SOAK_WARMUP_SECS:--1}
USERNAME=soak-user
# A fresh password for every run: the soak's servers listen for minutes, and a password kept
# in the repository would let any local user sign in to one as its instance admin.
PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')

command -v python3 >/dev/null 2>&1 || { echo "error: the soak test needs python3" >&2; exit 2; }
for _ in $(seq 1 24); do
  [ -x "$BERTH_BIN" ] && break
  echo "soak: waiting for the release binary at $BERTH_BIN (being rebuilt?)" >&2
  sleep 5
done
if [ ! -x "$BERTH_BIN" ]; then
  echo "error: no release binary at $BERTH_BIN (build it with: make build)" >&2
  exit 2
fi

# PostgreSQL's server programs (`make bench` does not install them; `make deps-pg` does).
if [[ " $DATABASES " == *" postgres "* ]] && ! command -v initdb >/dev/null 2>&1 &&
  ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "soak: PostgreSQL's initdb not found; installing it (scripts/ensure-deps.sh --no-rust --pg)"
  bash scripts/ensure-deps.sh --no-rust --pg || { echo "error: run make deps-pg" >&2; exit 2; }
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-soak.XXXXXX")
# One copy of the binary for every database, even if it is rebuilt meanwhile.
cp "$BERTH_BIN" "$WORK/berth"
BIN="$WORK/berth"
SERVER_PID=
PG_DIR=

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
stop_pg() {
  if [ -n "$PG_DIR" ]; then
    BERTH_PG_DIR="$PG_DIR" bash scripts/pg-cluster.sh stop >/dev/null 2>&1 || true
  fi
  PG_DIR=
}
LOAD_PID=
cleanup() {
  if [ -n "$LOAD_PID" ]; then
    kill -TERM "$LOAD_PID" 2>/dev/null || true
    wait "$LOAD_PID" 2>/dev/null || true
  fi
  stop_server
  stop_pg
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# soak_one DB: prints the table; returns 0 (passed), 1 (failed) or 2 (set-up error).
soak_one() {
  local db=$1 dir port url pgurl rc errors
  dir="$WORK/$db"
  mkdir -p "$dir/data"
  unset BERTH_DATABASE_URL BERTH_PUBLIC_URL
  if [ "$db" = postgres ]; then
    PG_DIR=$(mktemp -d /tmp/berth-soak-pg.XXXXXX)
    if ! pgurl=$(BERTH_PG_DIR="$PG_DIR" bash scripts/pg-cluster.sh start); then
      echo "error: could not start a PostgreSQL cluster (make deps-pg installs its programs)" >&2
      return 2
    fi
    export BERTH_DATABASE_URL="$pgurl"
  fi
  port=$(free_port)
  url="http://127.0.0.1:$port"
  export BERTH_DATA_DIR="$dir/data" BERTH_LISTEN="127.0.0.1:$port"

  for who in soak-admin:admin "$USERNAME:user"; do
    if ! printf '%s\n' "$PASSWORD" | "$BIN" admin create --username "${who%%:*}" --role "${who#*:}" \
      --password-stdin >>"$dir/cli.log" 2>&1; then
      cat "$dir/cli.log" >&2
      return 2
    fi
  done
  local write_token read_token
  write_token=$("$BIN" token create --username soak-admin --name soak-write --scope write 2>>"$dir/cli.log" | tail -n 1)
  read_token=$("$BIN" token create --username soak-admin --name soak-read --scope read 2>>"$dir/cli.log" | tail -n 1)
  if [ -z "$write_token" ] || [ -z "$read_token" ]; then
    cat "$dir/cli.log" >&2
    return 2
  fi

  "$BIN" serve >"$dir/serve.log" 2>&1 &
  SERVER_PID=$!
  local up=
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null --max-time 1 "$url/healthz" 2>/dev/null; then
      up=1
      break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$up" ]; then
    echo "error: berth serve did not answer /healthz; its log:" >&2
    cat "$dir/serve.log" >&2
    return 2
  fi

  echo "==> soak on $db: berth serve (pid $SERVER_PID) at $url, $SECS s, $CONNS connections"
  rc=0
  local sqlite_dir=
  [ "$db" = sqlite ] && sqlite_dir="$dir/data"
  # Secrets go by environment, not argv (which every local user can read in /proc). The load
  # runs in the background so that a TERM to this script stops it and the server at once.
  SOAK_PASSWORD="$PASSWORD" SOAK_WRITE_TOKEN="$write_token" SOAK_READ_TOKEN="$read_token" \
    python3 scripts/soak-load.py --url "$url" --pid "$SERVER_PID" --db "$db" --data-dir "$sqlite_dir" \
    --user "$USERNAME" --secs "$SECS" --conns "$CONNS" --sse "$SSE" --mix "$MIX" \
    --rss-slack-mib "$RSS_SLACK" --warmup "$WARMUP" &
  LOAD_PID=$!
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=
  stop_server
  stop_pg
  unset BERTH_DATABASE_URL

  # What the server itself reported as going wrong.
  errors=$(grep -cE '(^|[^A-Za-z])ERROR([^A-Za-z]|$)|panicked' "$dir/serve.log" || true)
  echo "server log: $(wc -l <"$dir/serve.log") lines, $errors ERROR/panic line(s)"
  if [ "$errors" -gt 0 ]; then
    grep -E '(^|[^A-Za-z])ERROR([^A-Za-z]|$)|panicked' "$dir/serve.log" | sort | uniq -c | sort -rn | head -n 10 | cut -c1-400
    [ "$rc" = 0 ] && rc=1
    echo "soak on $db: FAILED (the server logged errors)"
  fi
  return "$rc"
}

declare -A RESULT
overall=0
for db in $DATABASES; do
  case "$db" in sqlite | postgres) ;; *) echo "error: SOAK_DATABASES: unknown database $db" >&2; exit 2 ;; esac
  rc=0
  soak_one "$db" || rc=$?
  stop_server
  stop_pg
  case "$rc" in 0) RESULT[$db]=passed ;; 2) RESULT[$db]="set-up error" ;; *) RESULT[$db]=FAILED ;; esac
  if [ "$rc" -gt "$overall" ]; then overall=$rc; fi
  echo
done

echo "== soak: $SECS s at $CONNS connections =="
for db in $DATABASES; do
  echo "  $db: ${RESULT[$db]}"
done
exit "$overall"
