#!/usr/bin/env bash
# Make sure the tools that building and testing Berth need are present; install the missing
# ones when we can (root on Debian), otherwise list them and fail.
#
#   scripts/ensure-deps.sh [--leptos] [--browser] [--pg] [--nginx] [--docker] [--prometheus]
#                          [--schemathesis] [--no-rust] [--check]
#
#   (default)  rustup target wasm32-unknown-unknown, wasm-bindgen-cli (the version pinned in
#              Cargo.lock), wasm-opt (binaryen from npm, in tools/): what `make build` needs
#   --leptos   also cargo-leptos 0.3.10 (~20 min to compile; only `make dev` uses it)
#   --browser  also chromium (/usr/bin/chromium), node >= 20 + npm, end2end/node_modules
#   --pg       also the PostgreSQL server binaries (initdb, pg_ctl, postgres)
#   --nginx    also nginx and openssl (the generated proxy config is checked with `nginx -t`)
#   --docker   also a running Docker engine (docker.io; dockerd is started when not running)
#   --prometheus  also Debian's prometheus (the PromQL compatibility test runs it next to
#              Berth); the system service the package starts is stopped and disabled
#   --schemathesis  also schemathesis (API fuzzing, `make test-fuzz`), pinned, in a Python
#              venv at $BERTH_VENV (default ~/.cache/berth-venv)
#   --no-rust  skip the default (Rust/wasm build tool) checks
#   --check    only check, never install (also: BERTH_NO_INSTALL=1)
#
# Idempotent and fast (well under 2 s) when everything is already there. The output of
# `cargo install`, `apt-get` and `npm` goes to $BERTH_DEPS_LOG (default
# ${TMPDIR:-/tmp}/berth-ensure-deps.log); one line per step is printed.
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.10
SCHEMATHESIS_VERSION=4.32.5
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG="${BERTH_DEPS_LOG:-${TMPDIR:-/tmp}/berth-ensure-deps.log}"

want_leptos=0
want_browser=0
want_pg=0
want_nginx=0
want_docker=0
want_prometheus=0
want_schemathesis=0
want_rust=1
check_only="${BERTH_NO_INSTALL:-0}"
for arg in "$@"; do
  case "$arg" in
    --leptos) want_leptos=1 ;;
    --browser) want_browser=1 ;;
    --pg) want_pg=1 ;;
    --nginx) want_nginx=1 ;;
    --docker) want_docker=1 ;;
    --prometheus) want_prometheus=1 ;;
    --schemathesis) want_schemathesis=1 ;;
    --no-rust) want_rust=0 ;;
    --check) check_only=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "ensure-deps: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

# Installing is only attempted as root on a system with apt-get (Debian).
can_install=1
why_not=""
if [[ "$check_only" == 1 ]]; then
  can_install=0; why_not="check-only mode"
elif [[ "$(id -u)" != 0 ]]; then
  can_install=0; why_not="not running as root"
elif ! command -v apt-get >/dev/null 2>&1; then
  can_install=0; why_not="no apt-get (not Debian)"
fi

missing=()
step() { printf 'ensure-deps: %-22s %s\n' "$1" "$2"; }

log_header() { printf '\n==== %s: %s ====\n' "$(date -u '+%F %T')" "$*" >>"$LOG"; }

# Run a command with its output going to the log; on failure show the log's tail.
run_logged() {
  log_header "$*"
  if ! "$@" >>"$LOG" 2>&1; then
    echo "ensure-deps: FAILED: $* (last lines of $LOG follow)" >&2
    tail -n 30 "$LOG" >&2 || true
    return 1
  fi
}

apt_updated=0
apt_install() {
  if [[ "$apt_updated" == 0 ]]; then
    run_logged apt-get update -q
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive run_logged apt-get install -y -q --no-install-recommends "$@"
}

if [[ "$want_rust" == 1 ]]; then
# ---- Rust toolchain -----------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 || ! command -v rustup >/dev/null 2>&1; then
  step "rust toolchain" "MISSING (cargo/rustup not on PATH; install Rust with rustup)"
  echo "ensure-deps: cannot continue without cargo and rustup" >&2
  exit 1
fi

# ---- wasm32 target ------------------------------------------------------------------------
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  step "wasm32 target" "ok"
elif [[ "$can_install" == 1 ]]; then
  step "wasm32 target" "installing (rustup target add wasm32-unknown-unknown)"
  run_logged rustup target add wasm32-unknown-unknown
else
  step "wasm32 target" "MISSING"
  missing+=("rust target wasm32-unknown-unknown: rustup target add wasm32-unknown-unknown")
fi

# ---- cargo-leptos -------------------------------------------------------------------------
# Only `make dev` (cargo leptos watch) needs it; `make build` drives cargo, wasm-bindgen and
# wasm-opt itself (scripts/build-site.sh).
if [[ "$want_leptos" == 1 ]]; then
  cargo_leptos_version() { cargo leptos --version 2>/dev/null | awk '{print $NF}' || true; }

  have="$(cargo_leptos_version)"
  if [[ "$have" != "$CARGO_LEPTOS_VERSION" && "$can_install" == 1 ]] && pgrep -f "cargo install cargo-leptos" >/dev/null 2>&1; then
    # Another `cargo install cargo-leptos` is running (it takes ~20 min on 2 cores): wait for it
    # rather than starting a second one that would fight it for the cargo lock.
    step "cargo-leptos" "waiting for the cargo-leptos install already running"
    while pgrep -f "cargo install cargo-leptos" >/dev/null 2>&1; do sleep 10; done
    have="$(cargo_leptos_version)"
  fi
  if [[ "$have" == "$CARGO_LEPTOS_VERSION" ]]; then
    step "cargo-leptos" "ok ($have)"
  elif [[ "$can_install" == 1 ]]; then
    step "cargo-leptos" "installing $CARGO_LEPTOS_VERSION (was: ${have:-none}; ~20 min, log: $LOG)"
    run_logged cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
    have="$(cargo_leptos_version)"
    if [[ "$have" != "$CARGO_LEPTOS_VERSION" ]]; then
      echo "ensure-deps: cargo-leptos still reports '${have:-nothing}' after install" >&2
      exit 1
    fi
  else
    step "cargo-leptos" "MISSING (have: ${have:-none}, need $CARGO_LEPTOS_VERSION)"
    missing+=("cargo-leptos $CARGO_LEPTOS_VERSION: cargo install cargo-leptos --version $CARGO_LEPTOS_VERSION --locked")
  fi
fi

# ---- wasm-bindgen-cli (same version as the wasm-bindgen crate in Cargo.lock) ---------------
lock="$ROOT/Cargo.lock"
wb_want=""
if [[ -f "$lock" ]]; then
  wb_want="$(awk '
    /^\[\[package\]\]/ { in_wb = 0 }
    /^name = "wasm-bindgen"$/ { in_wb = 1; next }
    in_wb && /^version = / { gsub(/"/, "", $3); print $3; exit }
  ' "$lock")"
fi
if [[ -z "$wb_want" ]]; then
  step "wasm-bindgen-cli" "skipped (no wasm-bindgen in Cargo.lock)"
else
  wb_have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
  if [[ "$wb_have" == "$wb_want" ]]; then
    step "wasm-bindgen-cli" "ok ($wb_have)"
  elif [[ "$can_install" == 1 ]]; then
    step "wasm-bindgen-cli" "installing $wb_want (was: ${wb_have:-none}; log: $LOG)"
    run_logged cargo install wasm-bindgen-cli --version "$wb_want"
  else
    step "wasm-bindgen-cli" "MISSING (have: ${wb_have:-none}, need $wb_want)"
    missing+=("wasm-bindgen-cli $wb_want: cargo install wasm-bindgen-cli --version $wb_want")
  fi
fi

# ---- wasm-opt (binaryen, from npm) -------------------------------------------------------
# Debian's binaryen is version 108, which points wasm-bindgen's externref table export at the
# wrong table, so the optimised wasm fails to start. tools/package.json pins a current
# binaryen from the npm registry; the Makefile puts tools/node_modules/.bin first on PATH.
tools="$ROOT/tools"
tools_stamp="$tools/node_modules/.package-lock.json"
if [[ -x "$tools/node_modules/.bin/wasm-opt" && -f "$tools_stamp" \
      && ! "$tools/package-lock.json" -nt "$tools_stamp" ]]; then
  step "wasm-opt (binaryen)" "ok ($("$tools/node_modules/.bin/wasm-opt" --version 2>/dev/null | head -n1))"
elif command -v npm >/dev/null 2>&1 && [[ "$check_only" != 1 ]]; then
  step "wasm-opt (binaryen)" "installing (npm ci in tools/; log: $LOG)"
  (cd "$tools" && run_logged npm ci --no-audit --no-fund)
else
  step "wasm-opt (binaryen)" "MISSING"
  missing+=("wasm-opt: node and npm, then (cd tools && npm ci)")
fi
fi # want_rust

# ---- PostgreSQL server (for the PostgreSQL test run) -------------------------------------
if [[ "$want_nginx" == 1 ]]; then
  for tool in nginx openssl; do
    if command -v "$tool" >/dev/null 2>&1 || [[ -x "/usr/sbin/$tool" ]]; then
      step "$tool" "ok"
    elif [[ "$can_install" == 1 ]]; then
      step "$tool" "installing (apt-get install $tool)"
      apt_install "$tool"
    else
      step "$tool" "MISSING"
      missing+=("$tool: apt-get install $tool")
    fi
  done
fi

if [[ "$want_pg" == 1 ]]; then
  pg_found=""
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    pg_found="$(command -v initdb)"
  else
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
      if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then pg_found="$d/initdb"; break; fi
    done
  fi
  if [[ -n "$pg_found" ]]; then
    step "postgresql" "ok ($pg_found)"
  elif [[ "$can_install" == 1 ]]; then
    step "postgresql" "installing (apt-get install postgresql)"
    apt_install postgresql
  else
    step "postgresql" "MISSING"
    missing+=("PostgreSQL server (initdb, pg_ctl): apt-get install postgresql")
  fi
fi

# ---- browser tests: chromium, node, end2end/node_modules ---------------------------------
if [[ "$want_browser" == 1 ]]; then
  if [[ -x /usr/bin/chromium ]]; then
    step "chromium" "ok"
  elif [[ "$can_install" == 1 ]]; then
    step "chromium" "installing (apt-get install chromium)"
    apt_install chromium
  else
    step "chromium" "MISSING"
    missing+=("chromium at /usr/bin/chromium: apt-get install chromium")
  fi

  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    node_major="$(node -p 'process.versions.node.split(".")[0]')"
    if (( node_major < 20 )); then
      step "node" "TOO OLD ($(node --version); the tests need node >= 20)"
      missing+=("node >= 20 (have $(node --version))")
    else
      step "node" "ok ($(node --version))"
    fi
  elif [[ "$can_install" == 1 ]]; then
    step "node" "installing (apt-get install nodejs npm)"
    apt_install nodejs npm
    node_major="$(node -p 'process.versions.node.split(".")[0]')"
    if (( node_major < 20 )); then
      step "node" "TOO OLD ($(node --version); the tests need node >= 20)"
      missing+=("node >= 20 (have $(node --version))")
    fi
  else
    step "node" "MISSING"
    missing+=("node >= 20 and npm")
  fi

  e2e="$ROOT/end2end"
  stamp="$e2e/node_modules/.package-lock.json"
  if [[ -f "$e2e/node_modules/playwright-core/package.json" && -f "$stamp" \
        && ! "$e2e/package-lock.json" -nt "$stamp" && ! "$e2e/package.json" -nt "$stamp" ]]; then
    step "end2end/node_modules" "ok"
  elif command -v npm >/dev/null 2>&1 && [[ "$check_only" != 1 ]]; then
    # npm installs into the work tree only, so it needs no root.
    if [[ -f "$e2e/package-lock.json" ]]; then
      step "end2end/node_modules" "installing (npm ci; log: $LOG)"
      (cd "$e2e" && run_logged npm ci --no-audit --no-fund)
    else
      step "end2end/node_modules" "installing (npm install; log: $LOG)"
      (cd "$e2e" && run_logged npm install --no-audit --no-fund)
    fi
  else
    step "end2end/node_modules" "MISSING"
    missing+=("end2end/node_modules: (cd end2end && npm ci)")
  fi
fi

# ---- Docker engine (deploy tests, `make demo`) -------------------------------------------
docker_up() { docker info >/dev/null 2>&1; }
if [[ "$want_docker" == 1 ]]; then
  if ! command -v dockerd >/dev/null 2>&1; then
    if [[ "$can_install" == 1 ]]; then
      step "docker engine" "installing (apt-get install docker.io)"
      apt_install docker.io
    else
      step "docker engine" "MISSING"
      missing+=("Docker engine: apt-get install docker.io, then start dockerd")
    fi
  fi
  if command -v dockerd >/dev/null 2>&1; then
    if docker_up; then
      step "docker engine" "ok ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    elif [[ "$can_install" == 1 ]]; then
      # No init system in containers and CI sandboxes: start the daemon in the background.
      step "docker engine" "starting dockerd (log: ${TMPDIR:-/tmp}/berth-dockerd.log)"
      nohup dockerd >"${TMPDIR:-/tmp}/berth-dockerd.log" 2>&1 &
      for _ in $(seq 1 60); do docker_up && break; sleep 0.5; done
      if docker_up; then
        step "docker engine" "ok ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
      else
        step "docker engine" "FAILED to start (see ${TMPDIR:-/tmp}/berth-dockerd.log)"
        tail -n 20 "${TMPDIR:-/tmp}/berth-dockerd.log" >&2 || true
        missing+=("a running Docker engine (dockerd did not start)")
      fi
    else
      step "docker engine" "NOT RUNNING"
      missing+=("a running Docker engine: start dockerd (or set DOCKER_HOST)")
    fi
  fi
fi

# ---- Prometheus (the PromQL compatibility test, server/tests/promcompat.rs) --------------
# The test starts its own prometheus on a free port with a temporary data dir. Debian's
# package also starts a system prometheus on :9090 (and node_exporter through Recommends,
# which we skip): stop and disable it, nothing here wants it running.
if [[ "$want_prometheus" == 1 ]]; then
  prom_bin() { command -v prometheus 2>/dev/null || { [[ -x /usr/bin/prometheus ]] && echo /usr/bin/prometheus; } || true; }
  if [[ -n "$(prom_bin)" ]]; then
    step "prometheus" "ok ($("$(prom_bin)" --version 2>&1 | head -n1 | awk '{print $3}'))"
  elif [[ "$can_install" == 1 ]]; then
    step "prometheus" "installing (apt-get install prometheus)"
    apt_install prometheus
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
      run_logged systemctl disable --now prometheus || true
    elif [[ -x /etc/init.d/prometheus ]]; then
      run_logged /etc/init.d/prometheus stop || true
      command -v update-rc.d >/dev/null 2>&1 && { run_logged update-rc.d prometheus disable || true; }
    fi
    if [[ -z "$(prom_bin)" ]]; then
      echo "ensure-deps: prometheus still missing after apt-get install prometheus" >&2
      exit 1
    fi
  else
    step "prometheus" "MISSING"
    missing+=("prometheus (the PromQL compatibility test): apt-get install prometheus")
  fi
fi

# ---- schemathesis (API fuzzing), in a venv of its own -----------------------------------
# pip installs into the venv only, so it needs no root; python3 with its venv module is
# installed with apt when missing.
if [[ "$want_schemathesis" == 1 ]]; then
  venv="${BERTH_VENV:-$HOME/.cache/berth-venv}"
  st_version() { "$venv/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}' || true; }
  have="$(st_version)"
  if [[ "$have" == "$SCHEMATHESIS_VERSION" ]]; then
    step "schemathesis" "ok ($have, $venv)"
  elif [[ "$check_only" == 1 ]]; then
    step "schemathesis" "MISSING (have: ${have:-none}, need $SCHEMATHESIS_VERSION in $venv)"
    missing+=("schemathesis $SCHEMATHESIS_VERSION: scripts/ensure-deps.sh --no-rust --schemathesis")
  else
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
      if [[ "$can_install" == 1 ]]; then
        step "python3-venv" "installing (apt-get install python3 python3-venv)"
        apt_install python3 python3-venv
      else
        step "python3-venv" "MISSING"
        missing+=("python3 with venv and ensurepip: apt-get install python3 python3-venv")
      fi
    fi
    if python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
      step "schemathesis" "installing $SCHEMATHESIS_VERSION (was: ${have:-none}; venv $venv; log: $LOG)"
      [[ -x "$venv/bin/pip" ]] || run_logged python3 -m venv "$venv"
      run_logged "$venv/bin/pip" install --disable-pip-version-check -q "schemathesis==$SCHEMATHESIS_VERSION"
      have="$(st_version)"
      if [[ "$have" != "$SCHEMATHESIS_VERSION" ]]; then
        echo "ensure-deps: schemathesis still reports '${have:-nothing}' after install" >&2
        exit 1
      fi
    fi
  fi
fi

if (( ${#missing[@]} > 0 )); then
  echo "ensure-deps: missing, and not installed ($why_not):" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  exit 1
fi
