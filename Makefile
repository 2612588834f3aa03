# Berth — build, run and test. GNU make.
#
#   make run        build the release binary and start Berth on http://127.0.0.1:3000 (SQLite in ./data)
#   make build      build the release binary (static assets embedded)
#   make test       every check: fmt, clippy, tests on SQLite and PostgreSQL, browser tests, API fuzzing
#   make bench      the benchmarks
#   make demo       Berth with a demo project deployed on Docker (needs a Docker engine)
#   make dev        cargo leptos watch
#
# Missing tools are installed first by scripts/ensure-deps.sh (as root on Debian).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# The steps share the cargo lock and a 2-core machine: never run them in parallel.
.NOTPARALLEL:

CARGO ?= cargo
# A current wasm-opt from tools/node_modules (see scripts/ensure-deps.sh) comes before any other.
export PATH := $(CURDIR)/tools/node_modules/.bin:$(PATH)
CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TARGET_DIR
TARGET_DIR := $(abspath $(CARGO_TARGET_DIR))

# Where `make build` puts the release binary, and the site (wasm, js, css) that the
# binary embeds at compile time. site-root in Cargo.toml is relative to the workspace root,
# not to CARGO_TARGET_DIR.
BERTH_BIN := $(TARGET_DIR)/release/berth
SITE_DIR := $(CURDIR)/target/site

ENSURE_DEPS := $(CURDIR)/scripts/ensure-deps.sh
PG_CLUSTER := $(CURDIR)/scripts/pg-cluster.sh

CLIPPY_SERVER := $(CARGO) clippy -p server -p app -p berth-core -p berth-model -p stack -p engine -p metrics -p berth-demo --features app/ssr,stack/engine --all-targets -- -D warnings
CLIPPY_FRONTEND := $(CARGO) clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
# Tests run in parallel, many in-process servers at once (most of the time is spent waiting
# on databases, Docker and nginx, so more threads than the 2 cores pay off).
TEST_THREADS ?= 4
TEST_CMD := $(CARGO) test -p app -p berth-core -p berth-model -p server -p stack -p engine -p metrics -p berth-demo --features app/ssr,stack/engine -- --test-threads=$(TEST_THREADS)
# On PostgreSQL only the crates and test binaries that touch the database run again (not
# `promcompat`: it compares the PromQL engine with Prometheus and has no database).
TEST_PG_CMD := $(CARGO) test -p app -p berth-core -p server --features app/ssr,stack/engine --lib --bins --test api --test deploy -- --test-threads=$(TEST_THREADS)


# $(call phase,TARGET): run `make TARGET` with a banner and its wall-clock time.
define phase
	@echo "==> [$(1)] start $$(date -u '+%F %T') UTC"; \
	start=$$(date +%s); \
	if $(MAKE) --no-print-directory $(1); then \
	  echo "==> [$(1)] ok in $$(( $$(date +%s) - start ))s"; \
	else \
	  echo "==> [$(1)] FAILED after $$(( $$(date +%s) - start ))s"; exit 1; \
	fi
endef

.PHONY: help deps deps-browser deps-pg deps-nginx deps-runtime deps-fuzz build run dev test fmt fmt-check \
        clippy test-unit test-pg test-e2e test-fuzz fuzz-api bench demo clean

help:
	@sed -n '3,9p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'
	@echo "  other targets: fmt fmt-check clippy test-unit test-pg test-e2e test-fuzz deps clean"

# ---- dependencies ---------------------------------------------------------------------------
deps:
	@$(ENSURE_DEPS)

deps-browser:
	@$(ENSURE_DEPS) --browser

deps-nginx:
	@$(ENSURE_DEPS) --no-rust --nginx

# What the server integration tests run on: nginx, a Docker engine (started when not
# running) and prometheus (the PromQL compatibility test compares its answers with it).
deps-runtime:
	@$(ENSURE_DEPS) --no-rust --nginx --docker --prometheus

deps-pg:
	@$(ENSURE_DEPS) --no-rust --pg

# schemathesis, pinned, in a Python venv ($$BERTH_VENV, default ~/.cache/berth-venv).
deps-fuzz:
	@$(ENSURE_DEPS) --no-rust --schemathesis

# ---- build and run ----------------------------------------------------------------------------
# The site first (scripts/build-site.sh: cargo for the wasm, wasm-bindgen, wasm-opt, precompressed
# forms; nothing redone when nothing changed), then the server, which embeds it at compile time.
# cargo-leptos is not needed here, only for `make dev`.
build: deps
	CARGO="$(CARGO)" bash scripts/build-site.sh
	$(CARGO) build --release -p server --bin berth
	@test -x "$(BERTH_BIN)" || { echo "error: expected the binary at $(BERTH_BIN), not found" >&2; exit 1; }
	@echo "built: $(BERTH_BIN)"
	@echo "site:  $(SITE_DIR)"

run: build
	BERTH_DATA_DIR=$${BERTH_DATA_DIR:-./data} exec $(BERTH_BIN) serve

dev:
	@$(ENSURE_DEPS) --leptos
	$(CARGO) leptos watch

# A running Berth with the demo project (four sites, staging and production) deployed on the
# local Docker engine behind an nginx of its own: see scripts/demo.sh.
demo: build deps-runtime
	BERTH_BIN="$(BERTH_BIN)" bash scripts/demo.sh

# ---- checks ---------------------------------------------------------------------------------
fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

# The server embeds $(SITE_DIR) at compile time; make sure the folder exists even before the
# first `make build`, so that checking and testing do not depend on it.
$(SITE_DIR):
	@mkdir -p $@

clippy: deps | $(SITE_DIR)
	$(CLIPPY_SERVER)
	$(CLIPPY_FRONTEND)

# Unit and integration tests on SQLite (the default database).
test-unit: deps-runtime | $(SITE_DIR)
	env -u BERTH_TEST_DATABASE_URL $(TEST_CMD)

# The same tests on a throwaway PostgreSQL server; the tests create one database per test on
# it. The cluster is stopped and deleted however the tests end.
test-pg: deps-pg deps-runtime | $(SITE_DIR)
	@export BERTH_PG_DIR="$$(mktemp -d "$${TMPDIR:-/tmp}/berth-pg-test.XXXXXX")"; \
	trap '$(PG_CLUSTER) stop' EXIT; \
	url="$$($(PG_CLUSTER) start)"; \
	echo "BERTH_TEST_DATABASE_URL=$$url"; \
	BERTH_TEST_DATABASE_URL="$$url" $(TEST_PG_CMD)

# Browser tests: release build, then node's test runner on end2end/tests with real chromium.
test-e2e: deps-browser deps-runtime build
	cd end2end && BERTH_BIN="$(BERTH_BIN)" node --test --test-concurrency=1 tests/

# Schema-based fuzzing of the REST API against its OpenAPI document: no request may get a 5xx.
# The release binary on a throwaway data dir, no Docker engine; reports in $$FUZZ_REPORT
# (default /tmp/berth-fuzz). See scripts/fuzz-api.sh for the knobs (FUZZ_EXAMPLES, FUZZ_SEED).
test-fuzz: build
	@$(MAKE) --no-print-directory fuzz-api

# The fuzzing alone, on the release binary as it is (`make test` runs it right after
# test-e2e has built it, instead of building again).
fuzz-api: deps-fuzz
	BERTH_BIN="$(BERTH_BIN)" bash scripts/fuzz-api.sh

test:
	$(call phase,fmt-check)
	$(call phase,clippy)
	$(call phase,test-unit)
	$(call phase,test-pg)
	$(call phase,test-e2e)
	$(call phase,fuzz-api)
	@echo "==> all checks passed"

# ---- benchmarks -----------------------------------------------------------------------------
# The release build, then scripts/bench.sh: `cargo bench -p server --bench foundation` once,
# and the idle memory and load measurements of the release binary. Results: BENCHMARKS.md.
bench: build deps-runtime deps-pg
	CARGO="$(CARGO)" BERTH_BIN="$(BERTH_BIN)" bash scripts/bench.sh

clean:
	$(CARGO) clean
	rm -rf $(SITE_DIR)
