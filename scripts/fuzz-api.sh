#!/usr/bin/env bash
# Schema-based fuzzing of the REST API: schemathesis generates requests for every operation in
# /api/v1/openapi.json and fails when any answer is a 5xx (`not_a_server_error` is the only
# check). `make test-fuzz` runs it after the release build.
#
#   scripts/fuzz-api.sh [extra `schemathesis run` options, e.g. --include-path-regex /users]
#
#   BERTH_BIN       the binary (default ${CARGO_TARGET_DIR:-target}/release/berth)
#
#   FUZZ_EXAMPLES   test cases per operation in the fuzzing phase (default 80: under 2 minutes
#                   in all on 2 idle cores; the coverage phase adds its own fixed set)
#   FUZZ_SEED       random seed, so a run can be repeated (default 20251129)
#   FUZZ_WORKERS    concurrent schemathesis workers (default 1: with more, Python < 3.11.9 /
#                   3.12.4 may fail inside Hypothesis with "AST constructor recursion depth
#                   mismatch", CPython gh-106905, which ast.parse in several threads triggers)
#   FUZZ_REPORT     directory for the reports (default /tmp/berth-fuzz): junit.xml,
#                   schemathesis.txt (the console output, with a curl command per failure),
#                   events.ndjson, server.log, and on failure crashes/ (for `schemathesis
#                   replay`); the data dir is then kept too
#   BERTH_VENV      the venv with schemathesis (scripts/ensure-deps.sh --schemathesis)
#
# Berth runs on a fresh data dir with a free loopback port and DOCKER_HOST pointing at a socket
# that does not exist: no deploy reaches a real engine, so none runs proxy commands either.
# Before fuzzing, a project `fuzz` with an environment `staging` (plus a variable, a secret, a
# service, a site and a deploy) gives the path parameters something real to hit; the
# operations that delete or disable things get sacrificial objects of their own so that the
# fuzzer cannot pull the ground from under the rest of the run (see the config below).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BERTH_BIN="${BERTH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/berth}"
VENV="${BERTH_VENV:-$HOME/.cache/berth-venv}"
REPORT="${FUZZ_REPORT:-/tmp/berth-fuzz}"
EXAMPLES="${FUZZ_EXAMPLES:-80}"
SEED="${FUZZ_SEED:-20251129}"
WORKERS="${FUZZ_WORKERS:-1}"
PASSWORD="fuzz-password-123456"

[[ -x "$BERTH_BIN" ]] || { echo "fuzz-api: no berth binary at $BERTH_BIN (make build)" >&2; exit 1; }
[[ -x "$VENV/bin/schemathesis" ]] || {
  echo "fuzz-api: no schemathesis in $VENV (scripts/ensure-deps.sh --no-rust --schemathesis)" >&2
  exit 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/berth-fuzz.XXXXXX")"
mkdir -p "$REPORT"
rm -rf "$REPORT"/{junit.xml,schemathesis.txt,events.ndjson,server.log,crashes}
server_log="$work/server.log"

port="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export BERTH_DATA_DIR="$work/data" BERTH_LISTEN="127.0.0.1:$port"
export DOCKER_HOST="unix:///nonexistent/docker.sock"
export NO_COLOR=1 RUST_LOG="${RUST_LOG:-info}"
unset BERTH_DATABASE_URL BERTH_MASTER_KEY BERTH_PUBLIC_URL BERTH_LOG_FORMAT

berth_pid=""
cleanup() {
  local status=$?
  if [[ -n "$berth_pid" ]]; then
    kill "$berth_pid" 2>/dev/null || true
    wait "$berth_pid" 2>/dev/null || true
  fi
  cp "$server_log" "$REPORT/server.log" 2>/dev/null || true
  if [[ "$status" == 0 ]]; then
    rm -rf "$work"
  else
    cp -r "$work/.schemathesis/default/cache/crashes" "$REPORT/" 2>/dev/null || true
    echo "fuzz-api: data dir kept: $BERTH_DATA_DIR" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

server_tail() {
  echo "---- berth server log: errors and warnings, then the last 40 lines (all: $REPORT/server.log) ----" >&2
  grep -E ' (ERROR|WARN) ' "$server_log" | grep -v 'No users yet' | tail -n 40 >&2 || true
  echo "----" >&2
  tail -n 40 "$server_log" >&2 || true
}
die() { echo "fuzz-api: $*" >&2; server_tail; exit 1; }

"$BERTH_BIN" serve >"$server_log" 2>&1 &
berth_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$berth_pid" 2>/dev/null || die "berth serve exited"
  sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null || die "berth did not answer $base/healthz"

printf '%s\n' "$PASSWORD" | "$BERTH_BIN" admin create --username fuzz --role admin --password-stdin >/dev/null
# `token create` prints the token alone, once, on stdout.
TOKEN="$("$BERTH_BIN" token create --username fuzz --name fuzz --scope write | tail -n 1 | awk '{print $NF}')"
[[ "$TOKEN" == berth_* ]] || die "unexpected output from berth token create"

api() { # METHOD PATH [JSON] -> the body; any status >= 300 ends the script
  local out code
  out="$(curl -sS -o - -w '\n%{http_code}' -X "$1" "$base/api/v1$2" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+--data "$3"})"
  code="${out##*$'\n'}"
  [[ "$code" -lt 300 ]] || die "set-up: $1 $2 -> $code: ${out%$'\n'*}"
  printf '%s' "${out%$'\n'*}"
}
json_eval() { "$VENV/bin/python" -c "import json, sys; d = json.load(sys.stdin); print($1)"; } # EXPR on d

echo "==> fuzz-api: berth at $base (data: $BERTH_DATA_DIR), setting up fixtures"
api POST /projects '{"name":"Fuzz","slug":"fuzz"}' >/dev/null
api POST /projects/fuzz/environments '{"name":"Staging","slug":"staging","protected":false,"branch":"main"}' >/dev/null
api PUT /projects/fuzz/variables/IMAGE_TAG '{"value":"v1","secret":false}' >/dev/null
api PUT /projects/fuzz/environments/staging/variables/API_KEY '{"value":"fuzz-secret-value","secret":true}' >/dev/null
api PUT /projects/fuzz/environments/staging/services/web \
  '{"name":"web","image":"example/web:${IMAGE_TAG}","replicas":1,"http_port":8000}' >/dev/null
api PUT /projects/fuzz/sites/www \
  '{"name":"www","hosts":{"staging":{"primary":"www.fuzz.test"}},"routes":[{"path":"/","target":{"kind":"service","service":"web"}}],"health_path":"/health"}' >/dev/null
out="$(api POST /projects/fuzz/environments/staging/deploys '{"reason":"fuzz fixture"}')"
deploy_id="$(json_eval 'd["id"]' <<<"$out")"
# Sacrificial objects for the destructive operations. (A token cannot create tokens over the
# API, hence the CLI.)
api POST /projects '{"name":"Doomed","slug":"doomed"}' >/dev/null
api POST /projects/fuzz/environments '{"name":"Doomed","slug":"doomed","protected":false,"branch":"main"}' >/dev/null
api POST /users "{\"username\":\"doomed\",\"password\":\"$PASSWORD\"}" >/dev/null
"$BERTH_BIN" token create --username fuzz --name doomed --scope read >/dev/null
out="$(api GET /tokens)"
doomed_token="$(json_eval 'next(t["id"] for t in d if t["name"] == "doomed")' <<<"$out")"

# Path parameters: the real objects most of the time, generated values otherwise. `id` means
# three things (deploys, containers, tokens), so it is bound per operation.
config="$work/schemathesis.toml"
cat >"$config" <<TOML
# Generated by scripts/fuzz-api.sh.
request-timeout = 10

[dictionaries.project]
values = ["fuzz"]
[dictionaries.env]
values = ["staging"]
[dictionaries.name]
values = ["IMAGE_TAG", "API_KEY", "web", "www"]
[dictionaries.username]
values = ["doomed", "fuzz"]
[dictionaries.deploy]
values = [$deploy_id]

[parameters]
"path.project" = { dictionary = "project", probability = 0.85 }
"path.env" = { dictionary = "env", probability = 0.85 }
"path.name" = { dictionary = "name", probability = 0.5 }
"path.username" = { dictionary = "username", probability = 0.5 }

[[operations]]
include-path-regex = "^/api/v1/deploys/"
parameters = { "path.id" = { dictionary = "deploy", probability = 0.7 } }

# Deleting the project or the environment everything else runs in would leave the rest of the
# run answering 404: these two delete sacrificial ones.
[[operations]]
include-name = "DELETE /api/v1/projects/{project}"
parameters = { "path.project" = "doomed" }

[[operations]]
include-name = "DELETE /api/v1/projects/{project}/environments/{env}"
parameters = { "path.project" = "fuzz", "path.env" = "doomed" }

# Ids and usernames seen in responses are reused as inputs: revoking the fuzzer's own token or
# disabling its user would turn the rest of the run into 401s.
[[operations]]
include-name = "DELETE /api/v1/tokens/{id}"
parameters = { "path.id" = $doomed_token }

[[operations]]
include-name = "PATCH /api/v1/users/{username}"
parameters = { "path.username" = "doomed" }
TOML

# Nothing is excluded. The streaming endpoints cannot hang the run: GET /deploys/{id}/log
# streams only when asked for text/event-stream (the document declares no media type, so
# schemathesis asks for JSON) and deploys end at once without an engine; container logs with
# follow=true fail fast without one; and request-timeout above bounds any request anyway.
echo "==> fuzz-api: schemathesis $("$VENV/bin/schemathesis" --version | awk '{print $NF}'), $EXAMPLES examples per operation, seed $SEED"
cd "$work"
start=$(date +%s)
rc=0
"$VENV/bin/schemathesis" --config-file "$config" run "$base/api/v1/openapi.json" \
  --url "$base" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --generation-database none \
  --workers "$WORKERS" \
  --no-color \
  --report junit,ndjson \
  --report-junit-path "$REPORT/junit.xml" \
  --report-ndjson-path "$REPORT/events.ndjson" \
  "$@" 2>&1 | tee "$REPORT/schemathesis.txt" || rc=$?
echo "==> fuzz-api: schemathesis finished in $(( $(date +%s) - start ))s (exit $rc)"

# A run that lost its credentials or its fixtures half-way would pass without testing much.
me="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$base/api/v1/me")"
env_code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$base/api/v1/projects/fuzz/environments/staging")"
if [[ "$me" != 200 || "$env_code" != 200 ]]; then
  echo "fuzz-api: after the run, GET /me -> $me and GET /projects/fuzz/environments/staging -> $env_code (expected 200): the run lost its token or fixtures" >&2
  rc=1
fi

if [[ "$rc" != 0 ]]; then
  echo "fuzz-api: FAILED (reports in $REPORT)" >&2
  server_tail
  exit 1
fi
echo "==> fuzz-api: no server errors (reports in $REPORT)"
