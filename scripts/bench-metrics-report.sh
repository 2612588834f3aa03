#!/usr/bin/env bash
# Prints the Markdown tables of scripts/bench-metrics.sh's results (its key=value file):
# Berth against Prometheus, with ratios and the issue's targets.
#   bash scripts/bench-metrics-report.sh results.txt
set -euo pipefail
f=${1:?usage: bench-metrics-report.sh RESULTS}
get() { sed -n "s/^$1=//p" "$f" | tail -1; }
max() { sed -n "s/^$1=//p" "$f" | sort -n | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

echo
echo "## Berth vs Prometheus ($(get prometheus_version | cut -d' ' -f3))"
echo "machine: $(get machine); commit $(get commit); load at start $(get load_at_start); quick=$(get quick)"
echo
p=$(max 'ingest_prometheus_run[0-9]*_samples_per_sec')
b2=$(max 'ingest_run[0-9]*_threads2_samples_per_sec')
b1=$(max 'ingest_run[0-9]*_threads1_samples_per_sec')
bp=$(get bytes_per_sample)
pp=$(get bytes_prometheus_per_sample)
echo "| what | Berth | Prometheus | Berth ÷ Prometheus | target |"
echo "|---|---|---|---|---|"
echo "| ingest, samples/s (best of 2 runs; Berth's shards on 2 threads, promtool on Go's 2 Ps) | $b2 | $p | $(ratio "$b2" "$p") | ≥ 1.5 and ≥ 1,000,000/s |"
for run in 1 2; do
  pr=$(max "ingest_prometheus_run${run}_samples_per_sec")
  br=$(max "ingest_run${run}_threads2_samples_per_sec")
  echo "| ingest, run $run alone | $br | $pr | $(ratio "$br" "$pr") | |"
done
echo "| ingest, samples/s, Berth on 1 thread (best of 2) | $b1 | $p | $(ratio "$b1" "$p") | |"
echo "| bytes per sample, blocks after compaction (timestamps ±2 ms) | $bp | $pp | $(ratio "$bp" "$pp") | ≤ 1.0 and ≤ 1.3 |"
echo "| bytes per sample, Berth's raw + rollup blocks | $(get bytes_per_sample_incl_rollups) | $pp | $(ratio "$(get bytes_per_sample_incl_rollups)" "$pp") | |"
ba=$(get bytes_aligned_per_sample)
pa=$(get bytes_aligned_prometheus_per_sample)
echo "| bytes per sample, timestamps aligned to 15 s | $ba | $pa | $(ratio "$ba" "$pa") | |"
br=$(get rss_berth_vmrss_kib)
pr=$(get rss_prometheus_vmrss_kib)
echo "| VmRSS holding $(get rss_berth_series) series, MiB | $(mib "$br") | $(mib "$pr") | $(ratio "$br" "$pr") | ≤ 1.0 |"
echo "| VmHWM (peak), MiB | $(mib "$(get rss_berth_vmhwm_kib)") | $(mib "$(get rss_prometheus_vmhwm_kib)") | $(ratio "$(get rss_berth_vmhwm_kib)" "$(get rss_prometheus_vmhwm_kib)") | |"
echo
echo "query_range, ms p50 / p95 (HTTP: both over a loopback HTTP/1.0 request; Prometheus exec: its stats=all execTotalTime)"
echo
echo "| range | step | expression | series, points | Berth in-process | Berth HTTP | Prometheus HTTP | Prometheus exec | Berth HTTP p50 ÷ Prometheus HTTP p50 |"
echo "|---|---|---|---|---|---|---|---|---|"
for key in $(sed -n 's/^\(query_[0-9a-z]*_e[0-9]\)_expr=.*/\1/p' "$f"); do
  range=$(echo "$key" | cut -d_ -f2)
  cell() { get "${key}_$1_ms" | sed 's/p50=//; s/ p95=/ \/ /'; }
  p50() { get "${key}_$1_ms" | sed 's/p50=\([0-9.]*\).*/\1/'; }
  echo "| $range | $(get "${key}_step_s") s | \`$(get "${key}_expr")\` | $(get "${key}_series_points" | sed 's/ prometheus_points=.*//; s/ /, /') | $(cell berth_inproc) | $(cell berth_http) | $(cell prom_http) | $(cell prom_exec) | $(ratio "$(p50 berth_http)" "$(p50 prom_http)") |"
done
sed -n 's/^\(query_[0-9a-z]*_e[0-9]\)_series_points=[0-9]* \([0-9]*\) prometheus_points=\([0-9]*\)$/\1 \2 \3/p' "$f" |
  awk '$2 != $3 { print "warning: " $1 ": Berth answered " $2 " points, Prometheus " $3 }'
