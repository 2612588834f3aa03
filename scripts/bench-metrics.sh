#!/usr/bin/env bash
# Issue 13's side-by-side benchmark: Berth's metrics storage and PromQL engine against
# Debian's Prometheus 2.42 (`prometheus`, `promtool`), on the same generated data, in one run.
# `make bench` runs it (from scripts/bench.sh); alone: `bash scripts/bench-metrics.sh`.
#
#   1. ingest: `promtool tsdb bench write` on a label file this script writes, and Berth's
#      `Tsdb::append` doing the same (same label sets, shards, scrapes, timestamps, values);
#   2. bytes per sample after compaction: 10,000 series × 24 h × 15 s (the storage
#      benchmark's mix of counters with resets, gauges, histogram buckets, floats; scrape
#      timestamps jittered by ±2 ms, then aligned): Berth appends and compacts; Prometheus gets the same
#      samples as OpenMetrics through `promtool tsdb create-blocks-from openmetrics
#      --max-block-duration=744h` (one block, as large as Prometheus's compaction makes them);
#   3. `query_range` of the seed dashboard's four expressions over 1 h, 24 h and 30 days of
#      200 series: a real `prometheus` serving the backfilled blocks on 127.0.0.1, timed over
#      HTTP (and its own `stats=all` execTotalTime); Berth's engine on its storage, timed
#      in-process and over a minimal HTTP/1.0 endpoint in the bench process; interleaved;
#   4. RSS while holding 1,000,000 active series of 3 samples each: Prometheus fed by remote
#      write (`--web.enable-remote-write-receiver`), 30 s to settle; Berth's storage in a
#      process of its own.
#
# Environment:
#   BENCH_QUICK=1        smaller sizes (1,000 series, 3 days, 100,000 active series), ~2 min
#   BENCH_METRICS_OUT    also copy the key=value results to this file
#   CARGO                cargo to build with (default cargo)
# Everything listens on 127.0.0.1 only and works in a temporary directory, removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO=${CARGO:-cargo}
QUICK=${BENCH_QUICK:-${BERTH_BENCH_QUICK:-0}}
if [ "$QUICK" = 1 ]; then
  SCRAPES=300 BYTES_SERIES=1000 DAYS=3 RUNS=5 ACTIVE=100000
else
  SCRAPES=3000 BYTES_SERIES=10000 DAYS=30 RUNS=15 ACTIVE=1000000
fi

for tool in prometheus promtool; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool not found (install it: scripts/ensure-deps.sh --no-rust --prometheus)" >&2
    exit 1
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-metrics.XXXXXX")
RESULTS=$WORK/results.txt
PROM_PID=
stop_prometheus() {
  if [ -n "$PROM_PID" ] && kill -0 "$PROM_PID" 2>/dev/null; then
    kill -TERM "$PROM_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$PROM_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$PROM_PID" 2>/dev/null || true
  fi
  PROM_PID=
}
cleanup() {
  stop_prometheus
  if [ -n "${BENCH_METRICS_OUT:-}" ] && [ -f "$RESULTS" ]; then cp "$RESULTS" "$BENCH_METRICS_OUT"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

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

# Starts prometheus on a free loopback port with storage in $1 (more flags after); sets
# PROM_PID and PROM_ADDR once it answers /-/ready (at most 60 s).
start_prometheus() {
  local dir=$1
  shift
  local port
  port=$(free_port)
  printf 'global:\n  scrape_interval: 15s\n' >"$WORK/prometheus.yml"
  prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$dir" \
    --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" "$@" \
    >"$WORK/prometheus.log" 2>&1 &
  PROM_PID=$!
  PROM_ADDR=127.0.0.1:$port
  for _ in $(seq 1 600); do
    if curl -fsS "http://$PROM_ADDR/-/ready" >/dev/null 2>&1; then return 0; fi
    kill -0 "$PROM_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: prometheus did not start:" >&2
  tail -20 "$WORK/prometheus.log" >&2
  exit 1
}

# key=value lines go to the results file and the terminal.
record() { tee -a "$RESULTS"; }
get() { sed -n "s/^$1=//p" "$RESULTS" | tail -1; }

echo "==> building the benchmark (cargo bench -p metrics --bench versus --no-run)"
EXE=$("$CARGO" bench -p metrics --bench versus --no-run 2>&1 | tee "$WORK/build.log" |
  sed -n 's/.*Executable benches\/versus.rs (\(.*\))/\1/p' | tail -1)
if [ -z "$EXE" ] || [ ! -x "$EXE" ]; then
  cat "$WORK/build.log" >&2
  echo "error: no benchmark executable" >&2
  exit 1
fi
{
  echo "quick=$QUICK"
  echo "machine=$(nproc) cpus, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
  echo "prometheus_version=$(prometheus --version 2>&1 | head -1)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)"
} | record

echo "==> 1. ingest: 10,000 series × $SCRAPES scrapes, promtool tsdb bench write vs Tsdb::append"
"$EXE" labels "$WORK/labels.json" 10000
# Each measurement starts with the page cache written back (the one before wrote hundreds
# of MB whose writeback would otherwise take CPU from it), and the runs take turns going first.
settle() { sync; sleep 3; }
prometheus_ingest() {
  settle
  (cd "$WORK" && promtool tsdb bench write --metrics=10000 --scrapes="$SCRAPES" \
    --out="$WORK/promtool-bench" "$WORK/labels.json") >"$WORK/promtool-bench.log" 2>&1
  rate=$(sed -n 's/.*samples\/sec: //p' "$WORK/promtool-bench.log")
  echo "ingest_prometheus_run${run}_samples_per_sec=$(awk -v r="$rate" 'BEGIN {printf "%d", r}')" | record
  rm -rf "$WORK/promtool-bench"
}
berth_ingest() {
  for threads in 2 1; do
    settle
    "$EXE" ingest "$WORK/labels.json" 10000 "$SCRAPES" "$threads" |
      sed "s/^ingest_/ingest_run${run}_/" | record
  done
}
for run in 1 2; do
  if [ "$run" = 1 ]; then prometheus_ingest; berth_ingest; else berth_ingest; prometheus_ingest; fi
done

# Scrape timestamps jittered by ±2 ms (as Prometheus 2.42's scrapes are: it stores the time
# each scrape started), then aligned to the interval (as later Prometheus versions align them).
for jitter in 2 0; do
  tag=bytes
  [ "$jitter" = 0 ] && tag=bytes_aligned
  echo "==> 2. bytes per sample: $BYTES_SERIES series × 24 h × 15 s, timestamps ±$jitter ms"
  "$EXE" bytes "$WORK/bytes.om" "$BYTES_SERIES" 24 "$jitter" | sed "s/^bytes_/${tag}_/" | record
  start=$(date +%s.%N)
  promtool tsdb create-blocks-from openmetrics -q --max-block-duration=744h \
    "$WORK/bytes.om" "$WORK/prom-bytes" >"$WORK/backfill.log" 2>&1
  echo "${tag}_prometheus_backfill_secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.0f", e-s}')" | record
  rm -f "$WORK/bytes.om"
  prom_bytes=$(du -sb "$WORK/prom-bytes" | cut -f1)
  prom_samples=$(cat "$WORK"/prom-bytes/*/meta.json | sed -n 's/.*"numSamples": *\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s}')
  {
    echo "${tag}_prometheus_blocks=$(ls "$WORK/prom-bytes" | wc -l)"
    echo "${tag}_prometheus_block_bytes=$prom_bytes"
    echo "${tag}_prometheus_samples=$prom_samples"
    echo "${tag}_prometheus_per_sample=$(awk -v b="$prom_bytes" -v s="$prom_samples" 'BEGIN {printf "%.3f", b/s}')"
  } | record
  rm -rf "$WORK/prom-bytes"
done

echo "==> 3. query_range: the seed dashboard's expressions, 200 series, $DAYS days"
"$EXE" query-data "$WORK/query.om" "$DAYS" | record
promtool tsdb create-blocks-from openmetrics -q --max-block-duration=744h \
  "$WORK/query.om" "$WORK/prom-query" >"$WORK/backfill.log" 2>&1
rm -f "$WORK/query.om"
start_prometheus "$WORK/prom-query"
"$EXE" query "$PROM_ADDR" "$DAYS" "$RUNS" | record
stop_prometheus
rm -rf "$WORK/prom-query"

echo "==> 4. RSS holding $ACTIVE active series"
start_prometheus "$WORK/prom-rss" --web.enable-remote-write-receiver
echo "rss_prometheus_start_kib=$(awk '/VmRSS/ {print $2}' "/proc/$PROM_PID/status")" | record
"$EXE" remote-write "$PROM_ADDR" "$ACTIVE" | record
sleep 30
{
  echo "rss_prometheus_head_series=$(curl -fsS "http://$PROM_ADDR/api/v1/status/tsdb" | sed -n 's/.*"numSeries":\([0-9]*\).*/\1/p')"
  echo "rss_prometheus_vmrss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$PROM_PID/status")"
  echo "rss_prometheus_vmhwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$PROM_PID/status")"
} | record
stop_prometheus
"$EXE" rss-berth "$ACTIVE" | record

bash scripts/bench-metrics-report.sh "$RESULTS"
