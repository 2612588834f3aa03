#!/usr/bin/env bash
# `make demo`: a running Berth with a demo project deployed for real, in a few minutes.
#
#   scripts/demo.sh            (after `make build`; BERTH_BIN names the binary)
#
# Builds the demo site images (berth-demo:v1 and :v2, a static binary FROM scratch), starts
# an nginx of its own on 127.0.0.1 (staging on port 8081, production on 8080), starts Berth
# with a fresh data dir, creates the admin user, the project `demo` with the seed's four sites
# (localhost, site-a.local, site-b.local, portal.local) and two environments, and deploys v1
# to both. Then it prints where to look and keeps Berth in the foreground; Ctrl-C stops
# Berth and nginx and removes the demo containers.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BERTH_BIN="${BERTH_BIN:?set BERTH_BIN to the berth binary (make demo does)}"
LISTEN="${BERTH_LISTEN:-127.0.0.1:3000}"
PASSWORD="${BERTH_DEMO_PASSWORD:-demo-password-123}"
STAGING_PORT="${BERTH_DEMO_STAGING_PORT:-8081}"
PRODUCTION_PORT="${BERTH_DEMO_PRODUCTION_PORT:-8080}"

command -v docker >/dev/null && docker info >/dev/null 2>&1 || {
  echo "demo: the Docker engine is not reachable (run scripts/ensure-deps.sh --docker as root)" >&2
  exit 1
}
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$NGINX" ]] || { echo "demo: nginx is not installed (apt-get install nginx)" >&2; exit 1; }

echo "==> building the demo site images"
"$ROOT/scripts/demo-image.sh" v1 v2

dir="$(mktemp -d "${TMPDIR:-/tmp}/berth-demo.XXXXXX")"
chmod 755 "$dir"
mkdir -p "$dir/nginx"
: >"$dir/nginx/staging.conf"
: >"$dir/nginx/production.conf"
user=""; [[ "$(id -u)" == 0 ]] && user="user root;"
cat >"$dir/nginx/nginx.conf" <<CONF
$user
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/nginx/body; proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi; uwsgi_temp_path $dir/nginx/uwsgi; scgi_temp_path $dir/nginx/scgi;
  server { listen 127.0.0.1:$STAGING_PORT default_server; return 421; }
  server { listen 127.0.0.1:$PRODUCTION_PORT default_server; return 421; }
  include $dir/nginx/staging.conf;
  include $dir/nginx/production.conf;
}
CONF
NGINX_ARGS=(-p "$dir/nginx" -e "$dir/nginx/error.log" -c "$dir/nginx/nginx.conf")
"$NGINX" "${NGINX_ARGS[@]}"

export BERTH_DATA_DIR="$dir/data" BERTH_LISTEN="$LISTEN"
unset BERTH_DATABASE_URL
berth_pid=""
cleanup() {
  [[ -n "$berth_pid" ]] && kill "$berth_pid" 2>/dev/null || true
  "$NGINX" "${NGINX_ARGS[@]}" -s stop 2>/dev/null || true
  ids="$(docker ps -aq --filter label=berth.project=demo)"
  [[ -n "$ids" ]] && docker rm -f $ids >/dev/null || true
  echo "demo stopped; data left in $dir"
}
trap cleanup EXIT INT TERM

printf '%s\n' "$PASSWORD" | "$BERTH_BIN" admin create --username admin --role admin --password-stdin >/dev/null
TOKEN="$("$BERTH_BIN" token create --username admin --name demo --scope write | tail -n 1 | awk '{print $NF}')"
"$BERTH_BIN" serve &
berth_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://$LISTEN/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

api() { # METHOD PATH [JSON]
  local out code
  out="$(curl -sS -o - -w '\n%{http_code}' -X "$1" "http://$LISTEN/api/v1$2" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+--data "$3"})"
  code="${out##*$'\n'}"
  if [[ "$code" -ge 300 ]]; then echo "demo: $1 $2 -> $code: ${out%$'\n'*}" >&2; exit 1; fi
  printf '%s' "${out%$'\n'*}"
}
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

proxy() { # ENV PORT
  python3 - "$1" "$2" "$dir/nginx" "$NGINX" <<'PY'
import json, sys
env, port, d, nginx = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
args = ["-p", d, "-e", d + "/error.log", "-c", d + "/nginx.conf"]
print(json.dumps({"http_port": port, "listen_address": "127.0.0.1", "https_port": None,
  "redirect_http": False, "hsts_max_age": 0,
  "manager": {"mode": "host", "config_path": f"{d}/{env}.conf",
              "test_command": [nginx, "-t", "-q"] + args,
              "reload_command": [nginx, "-s", "reload"] + args}}))
PY
}

echo "==> creating the demo project"
api POST /projects '{"name":"Demo","slug":"demo"}' >/dev/null
api POST /projects/demo/environments "{\"name\":\"Staging\",\"slug\":\"staging\",\"branch\":\"develop\",\"proxy\":$(proxy staging "$STAGING_PORT")}" >/dev/null
api POST /projects/demo/environments "{\"name\":\"Production\",\"slug\":\"production\",\"protected\":true,\"branch\":\"main\",\"proxy\":$(proxy production "$PRODUCTION_PORT")}" >/dev/null
api PUT /projects/demo/variables/IMAGE_TAG '{"value":"v1","secret":false}' >/dev/null
api PUT /projects/demo/variables/DJANGO_SECRET_KEY "{\"value\":\"$(head -c 24 /dev/urandom | base64 | tr -d '/+=')\",\"secret\":true}" >/dev/null
for env in staging production; do
  api PUT "/projects/demo/environments/$env/services/web" '{"name":"web","image":"berth-demo:${IMAGE_TAG}","replicas":2,"http_port":8000,"pre_deploy":[{"name":"migrate","command":["migrate"],"timeout_secs":120}]}' >/dev/null
done
for pair in main:localhost site-a:site-a.local site-b:site-b.local portal:portal.local; do
  name="${pair%%:*}"; host="${pair#*:}"
  api PUT "/projects/demo/sites/$name" "{\"name\":\"$name\",\"hosts\":{\"staging\":{\"primary\":\"$host\"},\"production\":{\"primary\":\"$host\"}},\"routes\":[{\"path\":\"/\",\"target\":{\"kind\":\"service\",\"service\":\"web\"}}],\"health_path\":\"/api/health\",\"smoke_checks\":[{\"path\":\"/api/feed?size=1\",\"assertions\":[{\"op\":\"non_empty\",\"pointer\":\".items\"},{\"op\":\"equals\",\"pointer\":\".debug.site\",\"value\":\"\${HOST}\"}]}]}" >/dev/null
done
for env in staging production; do
  api PUT "/projects/demo/environments/$env/deploy-settings" '{"gate_interval_secs":1,"gate_timeout_secs":60,"ready_timeout_secs":60,"drain_secs":1}' >/dev/null
done

echo "==> deploying v1 to staging and production"
for env in staging production; do
  id="$(api POST "/projects/demo/environments/$env/deploys" '{"reason":"make demo"}' | json_field '["id"]')"
  for _ in $(seq 1 600); do
    status="$(api GET "/deploys/$id" | json_field '["deploy"]["status"]')"
    [[ "$status" != queued && "$status" != running ]] && break
    sleep 0.5
  done
  echo "    $env: deploy #$id $status"
done

cat <<INFO

Berth demo is running.
  console:    http://$LISTEN/login   (admin / $PASSWORD)
  deploys:    http://$LISTEN/projects/demo/environments/staging/deploys
  staging:    curl -H 'Host: site-a.local' http://127.0.0.1:$STAGING_PORT/api/feed?size=2
  production: curl -H 'Host: portal.local' http://127.0.0.1:$PRODUCTION_PORT/api/health
  next:       set IMAGE_TAG to v2 on the project and deploy again; watch the live log.
  API token:  $TOKEN
Ctrl-C stops it all (data dir: $dir).
INFO
wait "$berth_pid"
