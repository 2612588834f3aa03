#!/usr/bin/env bash
# Berth benchmarks (what `make bench` runs):
#   1. `cargo bench -p server --bench foundation`: argon2id cost, GET /projects under load
#      (in-process server, in-repo load generator), audit append rate, audit verify of 1M events;
#   1a. `cargo bench -p server --bench webhook`: GitHub delivery latency p50/p99, alone and under
#      concurrent load (signature, matching, queueing deploys, recording the delivery);
#   1b. `cargo bench -p server --bench zero_downtime`: failed requests under steady load through
#      nginx during Berth's rolling update vs a `docker compose up -d`-style stop-then-start,
#      and Berth's own time per deploy (Docker engine and nginx needed);
#   2. the release binary: idle memory (VmRSS) of `berth serve`, and GET /projects under `wrk`
#      with a signed-in session cookie (skipped when wrk cannot be found or installed);
#   3. the release binary's peak RSS (VmHWM) during 200 concurrent bad logins (target < 200 MB;
#      last, because the storm gets 127.0.0.1 throttled for 15 minutes).
# Everything listens on 127.0.0.1 only, uses temporary data directories, and is time-bounded.
#
# Environment:
#   BERTH_BIN                release binary (default ${CARGO_TARGET_DIR:-target}/release/berth)
#   BERTH_BENCH_EVENTS       audit events to verify (default 1000000; e.g. 100000 for a quick run)
#   BERTH_BENCH_SECS         seconds of measured load per page benchmark (default 10)
#   BERTH_BENCH_CONNECTIONS  concurrent connections (default 32)
#   BERTH_BENCH_SKIP_CARGO=1 only measure the release binary
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO=${CARGO:-cargo}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
BERTH_BIN=${BERTH_BIN:-$TARGET_DIR/release/berth}
SECS=${BERTH_BENCH_SECS:-10}
CONNS=${BERTH_BENCH_CONNECTIONS:-32}
USERNAME=bench-user
PASSWORD=correct-horse-battery-staple
RSS_TARGET_KB=$((40 * 1024))

if [ -z "${BERTH_BENCH_SKIP_CARGO:-}" ]; then
  echo "==> cargo bench -p server --bench foundation"
  "$CARGO" bench -p server --bench foundation
  echo "==> cargo bench -p server --bench webhook"
  "$CARGO" bench -p server --bench webhook
  echo "==> cargo bench -p stack --features engine"
  "$CARGO" bench -p stack --features engine --bench stack
  # Needs the Docker engine and nginx (make bench runs scripts/ensure-deps.sh --docker first).
  echo "==> cargo bench -p server --bench zero_downtime"
  "$CARGO" bench -p server --bench zero_downtime
fi

echo
echo "==> release binary: $BERTH_BIN"
if [ ! -x "$BERTH_BIN" ]; then
  echo "error: no release binary at $BERTH_BIN (build it with: make build)" >&2
  exit 1
fi

# A free loopback port: one nothing answers on.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "error: no free port found" >&2
  return 1
}

DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
unset BERTH_DATABASE_URL BERTH_PUBLIC_URL
export BERTH_DATA_DIR="$DATA_DIR" BERTH_LISTEN="127.0.0.1:$PORT"

# One admin (for the API token) and one ordinary user (who signs in), created before the
# server starts.
for who in bench-admin:admin "$USERNAME:user"; do
  if ! printf '%s\n' "$PASSWORD" | "$BERTH_BIN" admin create --username "${who%%:*}" --role "${who#*:}" \
    --password-stdin >>"$DATA_DIR/cli.log" 2>&1; then
    cat "$DATA_DIR/cli.log" >&2
    exit 1
  fi
done

"$BERTH_BIN" serve >"$DATA_DIR/serve.log" 2>&1 &
SERVER_PID=$!
up=
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null --max-time 1 "$URL/healthz" 2>/dev/null; then
    up=1
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$up" ]; then
  echo "error: berth serve did not answer /healthz; its log:" >&2
  cat "$DATA_DIR/serve.log" >&2
  exit 1
fi

rss_kb() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$SERVER_PID/status"; }

sleep 3
IDLE_RSS_KB=$(rss_kb VmRSS)
echo "idle VmRSS after /healthz + 3 s: $IDLE_RSS_KB kB ($((IDLE_RSS_KB / 1024)) MiB)"

WRK_SUMMARY=
if ! command -v wrk >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "wrk not found; installing it (apt-get install -y wrk)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || true
fi
if command -v wrk >/dev/null 2>&1; then
  # 20 projects through the REST API; the user is a member of every other one (as in the
  # cargo bench).
  TOKEN=$("$BERTH_BIN" token create --username bench-admin --name bench --scope write | tail -n 1)
  roles=(viewer deployer maintainer admin)
  for i in $(seq 0 19); do
    slug=$(printf 'bench-project-%02d' "$i")
    curl -fsS -o /dev/null --max-time 10 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      -d "{\"name\":\"Bench project $i\",\"slug\":\"$slug\"}" "$URL/api/v1/projects"
    if [ $((i % 2)) -eq 0 ]; then
      curl -fsS -o /dev/null --max-time 10 -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d "{\"role\":\"${roles[$((i / 2 % 4))]}\"}" "$URL/api/v1/projects/$slug/members/$USERNAME"
    fi
  done

  # Sign in the way the login form does (form-encoded, same origin); the form's action is the
  # login server function's path.
  LOGIN_PATH=$(curl -fsS --max-time 10 "$URL/login" | grep -o 'action="/api/login[^"]*"' | head -n 1 | cut -d'"' -f2 || true)
  if [ -z "$LOGIN_PATH" ]; then
    echo "error: could not find the login form's action on /login" >&2
    exit 1
  fi
  COOKIE=$(curl -sS --max-time 10 -o /dev/null -D - -H "Origin: $URL" -H 'Sec-Fetch-Site: same-origin' \
    --data-urlencode "username=$USERNAME" --data-urlencode "password=$PASSWORD" "$URL$LOGIN_PATH" |
    tr -d '\r' | grep -i '^set-cookie: berth_session=' | head -n 1 | sed 's/^[Ss]et-[Cc]ookie: //; s/;.*//' || true)
  if [ -z "$COOKIE" ]; then
    echo "error: signing in did not set the berth_session cookie" >&2
    exit 1
  fi
  page=$(curl -fsS --max-time 10 -H "Cookie: $COOKIE" "$URL/projects")
  if ! grep -q 'bench-project-00' <<<"$page" || grep -q 'bench-project-01' <<<"$page"; then
    echo "error: GET /projects did not render the signed-in user's projects" >&2
    exit 1
  fi
  echo "GET /projects: ${#page} bytes, signed in as $USERNAME"

  echo "wrk warm-up (2 s)"
  wrk -t2 -c"$CONNS" -d2s -H "Cookie: $COOKIE" "$URL/projects" >/dev/null
  echo "wrk -t2 -c$CONNS -d${SECS}s --latency -H 'Cookie: berth_session=…' $URL/projects"
  WRK_OUT=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 10s --latency -H "Cookie: $COOKIE" "$URL/projects")
  echo "$WRK_OUT"
  LOADED_RSS_KB=$(rss_kb VmRSS)
  PEAK_RSS_KB=$(rss_kb VmHWM)
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$WRK_OUT")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$WRK_OUT")
  p90=$(awk '$1 == "90%" { print $2 }' <<<"$WRK_OUT")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$WRK_OUT")
  bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$WRK_OUT")
  errs=$(awk '/Socket errors:/ { print }' <<<"$WRK_OUT")
  # wrk prints latencies as e.g. 950.00us, 12.34ms or 1.20s.
  p99_ms=$(awk -v v="$p99" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n = n / 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n = n * 1000
    printf "%.2f", n }')
  p99_met=$(awk -v n="$p99_ms" 'BEGIN { print (n < 20 ? "yes" : "NO") }')
  WRK_SUMMARY=$(
    printf '| wrk GET /projects requests/s (%s conns, %s s) | %s/s | report | - |\n' "$CONNS" "$SECS" "$rps"
    printf '| wrk GET /projects p50 | %s | report | - |\n' "$p50"
    printf '| wrk GET /projects p90 | %s | report | - |\n' "$p90"
    printf '| wrk GET /projects p99 | %s | < 20 ms | %s |\n' "$p99" "$p99_met"
    printf '| wrk non-2xx/3xx responses | %s | 0 | %s |\n' "${bad:-0}" "$([ -z "$bad" ] && echo yes || echo NO)"
    [ -n "$errs" ] && printf '| wrk socket errors | %s | none | NO |\n' "$errs"
    printf '| VmRSS right after the load | %s MiB | report | - |\n' "$((LOADED_RSS_KB / 1024))"
    printf '| VmHWM (peak RSS) | %s MiB | report | - |\n' "$((PEAK_RSS_KB / 1024))"
  )
else
  echo "wrk is not installed; skipping the wrk load test (apt-get install -y wrk)"
fi

# 200 concurrent bad logins: argon2id takes 19 MiB per hash, so unbounded hashing would show
# here; Berth hashes a few at a time and the throttle refuses most of the storm first.
STORM=200
STORM_RSS_TARGET_KB=$((200 * 1024))
STORM_LOGIN_PATH=$(curl -fsS --max-time 10 "$URL/login" | grep -o 'action="/api/login[^"]*"' | head -n 1 | cut -d'"' -f2 || true)
STORM_SUMMARY=
if [ -z "$STORM_LOGIN_PATH" ]; then
  echo "error: could not find the login form's action on /login" >&2
  exit 1
fi
HWM_BEFORE_KB=$(rss_kb VmHWM)
echo "$STORM concurrent bad logins on $STORM_LOGIN_PATH (VmHWM before: $((HWM_BEFORE_KB / 1024)) MiB)"
storm_start=$(date +%s.%N)
seq 1 "$STORM" | xargs -P "$STORM" -I{} curl -sS -o /dev/null --max-time 60 -w '%{http_code}\n' \
  -H "Origin: $URL" -H 'Sec-Fetch-Site: same-origin' \
  --data-urlencode "username=storm-{}" --data-urlencode "password=not-the-password-{}" \
  "$URL$STORM_LOGIN_PATH" >"$DATA_DIR/storm.codes" 2>>"$DATA_DIR/storm.log" || true
storm_secs=$(awk -v s="$storm_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
STORM_HWM_KB=$(rss_kb VmHWM)
healthz_after=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$URL/healthz" || echo none)
echo "answers: $(sort "$DATA_DIR/storm.codes" | uniq -c | tr -s ' ' | tr '\n' ';') in $storm_secs s; /healthz after: $healthz_after"
storm_met=$([ "$STORM_HWM_KB" -lt "$STORM_RSS_TARGET_KB" ] && echo yes || echo NO)
STORM_SUMMARY=$(
  printf '| VmHWM (peak RSS) after %s concurrent bad logins | %s MiB (before: %s MiB) | < 200 MB | %s |\n' \
    "$STORM" "$((STORM_HWM_KB / 1024))" "$((HWM_BEFORE_KB / 1024))" "$storm_met"
  printf '| %s concurrent bad logins, wall time | %s s | report | - |\n' "$STORM" "$storm_secs"
)

idle_met=$([ "$IDLE_RSS_KB" -lt "$RSS_TARGET_KB" ] && echo yes || echo NO)
echo
echo "== Berth release binary =="
echo "| metric | value | target | met |"
echo "|---|---|---|---|"
printf '| idle VmRSS of berth serve | %s kB (%.1f MiB) | < 40 MB | %s |\n' \
  "$IDLE_RSS_KB" "$(awk -v k="$IDLE_RSS_KB" 'BEGIN { print k / 1024 }')" "$idle_met"
[ -n "$WRK_SUMMARY" ] && echo "$WRK_SUMMARY"
echo "$STORM_SUMMARY"
exit 0
