#!/usr/bin/env bash
# Berth benchmarks (what `make bench` runs):
#   1. `cargo bench -p server --bench foundation`: argon2id cost, GET /projects under load
#      (in-process server, in-repo load generator), audit append rate, audit verify of 1M events;
#   1a. `cargo bench -p server --bench webhook`: GitHub delivery latency p50/p99, alone and under
#      concurrent load (signature, matching, queueing deploys, recording the delivery);
#   1b. `cargo bench -p server --bench zero_downtime`: failed requests under steady load through
#      nginx during Berth's rolling update vs a `docker compose up -d`-style stop-then-start,
#      and Berth's own time per deploy (Docker engine and nginx needed);
#   1c. scripts/bench-metrics.sh: Berth's metrics storage and PromQL vs Debian's Prometheus;
#   2. the release binary: idle memory (VmRSS) of `berth serve`; then, side by side under `wrk`
#      at 1 and $BERTH_BENCH_CONNECTIONS connections: /login (the framework's floor here),
#      signed-in /projects and an environment page, and /healthz, with their ratios to /login
#      and RSS after the load (skipped when wrk cannot be found or installed);
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
#   BERTH_BENCH_SKIP_METRICS=1 skip scripts/bench-metrics.sh (Berth vs Prometheus, issue 13)
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

# Issue 13: Berth's metrics storage and PromQL against Debian's Prometheus 2.42, side by side
# (about 10 minutes; BERTH_BENCH_SKIP_METRICS=1 skips it, BENCH_QUICK=1 shrinks it).
if [ -z "${BERTH_BENCH_SKIP_METRICS:-}" ]; then
  echo "==> scripts/bench-metrics.sh (Berth vs Prometheus)"
  CARGO="$CARGO" bash scripts/bench-metrics.sh
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

  # An environment page with something on it: bench-project-00 (the user is a viewer there)
  # gets `staging` with three services and a few variables.
  ENV_PAGE="/projects/bench-project-00/environments/staging"
  api() { curl -fsS -o /dev/null --max-time 10 -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$3" "$URL/api/v1$2"; }
  api POST /projects/bench-project-00/environments '{"name":"Staging","slug":"staging"}'
  for svc in web worker cache; do
    api PUT "/projects/bench-project-00/environments/staging/services/$svc" "{\"name\":\"$svc\",\"image\":\"shop:1\",\"replicas\":2}"
  done
  for v in DEBUG LOG_LEVEL SITE_URL; do
    api PUT "/projects/bench-project-00/environments/staging/variables/$v" '{"value":"1"}'
  done
  api PUT /projects/bench-project-00/environments/staging/variables/DB_PASSWORD '{"value":"bench-secret","secret":true}'
  if ! curl -fsS --max-time 10 -H "Cookie: $COOKIE" "$URL$ENV_PAGE" | grep -q 'worker'; then
    echo "error: GET $ENV_PAGE did not render the environment" >&2
    exit 1
  fi

  # wrk on one page: "rps p50_ms p99_ms bad" on stdout, wrk's own report on stderr.
  to_ms() { awk -v v="$1" 'BEGIN { n = v + 0
    if (v ~ /us$/) n = n / 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n = n * 1000
    printf "%.3f", n }'; }
  measure() { # path conns [cookie]
    local args=(-t"$(( $2 < 2 ? $2 : 2 ))" -c"$2" --timeout 10s --latency)
    [ -n "${3:-}" ] && args+=(-H "Cookie: $3")
    wrk "${args[@]}" -d2s "$URL$1" >/dev/null
    local out
    out=$(wrk "${args[@]}" -d"${SECS}s" "$URL$1")
    echo "wrk -c$2 -d${SECS}s $1:" >&2
    echo "$out" >&2
    local bad errs
    bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    errs=$(awk '/Socket errors:/ { n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n }' <<<"$out")
    echo "$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out") \
$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")") \
$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")") $(( ${bad:-0} + ${errs:-0} ))"
  }
  declare -A R
  for conns in 1 "$CONNS"; do
    R[login,$conns]=$(measure /login "$conns")
    R[projects,$conns]=$(measure /projects "$conns" "$COOKIE")
    R[env,$conns]=$(measure "$ENV_PAGE" "$conns" "$COOKIE")
    R[healthz,$conns]=$(measure /healthz "$conns")
  done
  LOADED_RSS_KB=$(rss_kb VmRSS)
  PEAK_RSS_KB=$(rss_kb VmHWM)
  field() { awk -v i="$2" '{ print $i }' <<<"$1"; }
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
  met() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == "<=" ? v <= t : v >= t); print (ok ? "yes" : "NO") }'; }
  bad_total=0
  WRK_SUMMARY=$(
    for conns in 1 "$CONNS"; do
      for page in login projects env healthz; do
        r=${R[$page,$conns]}
        printf '| %s, %s conn(s): requests/s, p50, p99 | %s/s, %s ms, %s ms | report | - |\n' \
          "$page" "$conns" "$(field "$r" 1)" "$(field "$r" 2)" "$(field "$r" 3)"
      done
    done
    x=$(ratio "$(field "${R[projects,1]}" 2)" "$(field "${R[login,1]}" 2)")
    printf '| /projects p50 ÷ /login p50, 1 conn | %s | <= 2 | %s |\n' "$x" "$(met "$x" '<=' 2)"
    x=$(ratio "$(field "${R[env,1]}" 2)" "$(field "${R[login,1]}" 2)")
    printf '| environment page p50 ÷ /login p50, 1 conn | %s | report | - |\n' "$x"
    x=$(ratio "$(field "${R[projects,$CONNS]}" 3)" "$(field "${R[login,$CONNS]}" 3)")
    printf '| /projects p99 ÷ /login p99, %s conns | %s | <= 2.5 | %s |\n' "$CONNS" "$x" "$(met "$x" '<=' 2.5)"
    x=$(ratio "$(field "${R[env,$CONNS]}" 3)" "$(field "${R[login,$CONNS]}" 3)")
    printf '| environment page p99 ÷ /login p99, %s conns | %s | <= 2.5 | %s |\n' "$CONNS" "$x" "$(met "$x" '<=' 2.5)"
    x=$(field "${R[env,$CONNS]}" 1)
    printf '| environment page requests/s, %s conns | %s/s | >= 2000 | %s |\n' "$CONNS" "$x" "$(met "$x" '>=' 2000)"
    x=$(field "${R[healthz,1]}" 1)
    printf '| /healthz requests/s, 1 conn | %s/s | >= 2000 | %s |\n' "$x" "$(met "$x" '>=' 2000)"
    for k in "${!R[@]}"; do bad_total=$((bad_total + $(field "${R[$k]}" 4))); done
    printf '| errors and non-2xx/3xx answers, all runs | %s | 0 | %s |\n' "$bad_total" "$([ "$bad_total" = 0 ] && echo yes || echo NO)"
    printf '| VmRSS right after the load | %s MiB | <= 40 MiB | %s |\n' "$((LOADED_RSS_KB / 1024))" \
      "$([ "$LOADED_RSS_KB" -le "$RSS_TARGET_KB" ] && echo yes || echo NO)"
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

# ---- 4. soak test: scripts/soak.sh ------------------------------------------------------------
# SOAK_SECS (default 600) each on SQLite and on PostgreSQL of signed-in page views, REST reads
# and writes, signed webhook deliveries and SSE followers at SOAK_CONNS (default 64)
# connections, on servers and data directories of its own: zero errors, zero requests over
# 5 s, VmRSS flat, or `make bench` fails. BERTH_BENCH_SKIP_SOAK=1 skips it.
if [ "${BERTH_BENCH_SKIP_SOAK:-}" != 1 ]; then
  cleanup # this server is done with: stop it before the soak starts its own
  echo
  echo "==> soak test (scripts/soak.sh; BERTH_BENCH_SKIP_SOAK=1 skips it)"
  soak_rc=0
  BERTH_BIN="$BERTH_BIN" bash scripts/soak.sh || soak_rc=$?
  exit "$soak_rc"
fi
exit 0
