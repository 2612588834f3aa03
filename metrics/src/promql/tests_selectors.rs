//! Selectors over time: staleness, lookback, `offset`, `@`, subqueries and range queries,
//! with cases ported from Prometheus 2.42's `staleness.test`, `subquery.test` and
//! `at_modifier.test`, values checked by hand.
use super::testing::run;

fn check(script: &str) {
    if let Err(e) = run(script) {
        panic!("{e}");
    }
}

#[test]
fn a_staleness_marker_ends_a_series_until_the_next_sample() {
    check(
        r#"
load 10s
  metric 0 1 stale 2

eval instant at 10s metric
  {__name__="metric"} 1

eval instant at 20s metric

eval instant at 30s metric
  {__name__="metric"} 2

eval instant at 330s metric
  {__name__="metric"} 2

eval instant at 331s metric

eval instant at 30s count_over_time(metric[1m])
  {} 3

eval instant at 10s count_over_time(metric[1s])
  {} 1

eval instant at 20s count_over_time(metric[1s])

eval instant at 20s count_over_time(metric[10s])
  {} 1
"#,
    );
}

#[test]
fn range_windows_skip_staleness_markers_and_see_resets_across_them() {
    // Samples 0 10 _ 5 15 (a marker at 20s): the reset from 10 to 5 counts, so
    // increase = 15 - 0 + 10 over exactly the window's 40 s.
    check(
        r#"
load 10s
  r 0 10 stale 5 15
  only_stale stale

eval instant at 40s increase(r[40s])
  {} 25

eval instant at 40s resets(r[40s])
  {} 1

eval instant at 40s changes(r[40s])
  {} 3

eval instant at 0s count_over_time(only_stale[1m])

eval instant at 0s absent_over_time(only_stale[1m])
  {} 1
"#,
    );
}

#[test]
fn lookback_includes_a_sample_exactly_five_minutes_old() {
    check(
        r#"
load 10s
  metric 0

eval instant at 0s metric
  {__name__="metric"} 0

eval instant at 300s metric
  {__name__="metric"} 0

eval instant at 301s metric
"#,
    );
}

#[test]
fn offset_shifts_the_window_back_and_negative_offset_forward() {
    check(
        r#"
load 1m
  m 0+1x20

eval instant at 10m m offset 3m
  m 7

eval instant at 10m m offset -3m
  m 13

eval instant at 10m sum_over_time(m[2m] offset 5m)
  {} 12

eval range from 0 to 4m step 2m m offset 1m
  m _ 1 3
"#,
    );
}

#[test]
fn subqueries_align_steps_to_absolute_multiples() {
    check(
        r#"
load 10s
  metric 1 2

eval instant at 10s sum_over_time(metric[50s:10s])
  {} 3

eval instant at 10s sum_over_time(metric[50s:5s])
  {} 4

eval instant at 5m sum_over_time(metric[50s:10s])
  {} 12

eval instant at 6m sum_over_time(metric[50s:10s])
  {} 2

eval instant at 10s rate(metric[20s:10s])
  {} 0.1

eval instant at 20s rate(metric[20s:10s])
  {} 0.05

eval instant at 7s count_over_time(metric[20s:4s])
  {} 2
"#,
    );
}

#[test]
fn subqueries_of_rates_with_offset() {
    check(
        r#"
load 10s
  http_requests{job="api-server", instance="1", group="production"} 0+20x1000 200+30x1000
  http_requests{job="api-server", instance="0", group="canary"} 0+30x1000 300+80x1000
  http_requests{job="api-server", instance="1", group="canary"} 0+40x2000

eval instant at 8000s rate(http_requests[10m])
  {job="api-server", instance="1", group="production"} 2
  {job="api-server", instance="0", group="canary"} 3
  {job="api-server", instance="1", group="canary"} 4

eval instant at 20000s avg_over_time(rate(http_requests[10m])[15m:1m])
  {job="api-server", instance="1", group="production"} 3
  {job="api-server", instance="0", group="canary"} 8
  {job="api-server", instance="1", group="canary"} 4

eval instant at 20000s avg_over_time(rate(http_requests[10m])[15m:1m] offset 10000s)
  {job="api-server", instance="1", group="production"} 2
  {job="api-server", instance="0", group="canary"} 3
  {job="api-server", instance="1", group="canary"} 4

eval instant at 20000s max_over_time(max_over_time(rate(http_requests[10m])[5m:30s])[10m:1m])
  {job="api-server", instance="1", group="production"} 3
  {job="api-server", instance="0", group="canary"} 8
  {job="api-server", instance="1", group="canary"} 4
"#,
    );
}

#[test]
fn at_fixes_the_evaluation_time_of_a_selector() {
    check(
        r#"
load 10s
  metric{job="1"} 0+1x1000
  metric{job="2"} 0+2x1000

eval instant at 10s metric @ 100
  metric{job="1"} 10
  metric{job="2"} 20

eval instant at 1000s metric{job="1"} @ 100 offset 50s
  metric{job="1"} 5

eval instant at 25s sum_over_time(metric{job="1"}[100s] @ 100)
  {job="1"} 55

eval instant at 25s sum_over_time(metric{job="1"}[100s:25s] @ 100)
  {job="1"} 24

eval instant at 25s metric{job="1"} @ start()
  metric{job="1"} 2

eval range from 10s to 30s step 10s metric{job="1"} @ end()
  metric{job="1"} 3 3 3

eval range from 10s to 30s step 10s metric{job="1"} @ start() + metric{job="1"}
  {job="1"} 2 3 4

eval range from 10s to 30s step 10s sum_over_time(metric{job="1"}[20s] @ 100)
  {job="1"} 27 27 27
"#,
    );
}

#[test]
fn range_queries_evaluate_every_step() {
    check(
        r#"
load 30s
  c{a="x"} 0+30x20
  c{a="y"} 0+60x10 stale

eval range from 0 to 6m step 2m rate(c[1m])
  {a="x"} _ 1 1 1
  {a="y"} _ 2 2

eval range from 0 to 6m step 2m c
  c{a="x"} 0 120 240 360
  c{a="y"} 0 240 480

eval range from 0 to 2m step 1m time()
  {} 0 60 120

eval range from 0 to 2m step 1m absent(nonexistent{a="b"})
  {a="b"} 1 1 1

eval range from 0 to 6m step 2m sum(c)
  {} 0 360 720 360
"#,
    );
}

#[test]
fn range_functions_over_subqueries_in_range_queries() {
    check(
        r#"
load 1m
  g 1 2 3 4 5 6 7 8 9 10

eval range from 2m to 6m step 2m max_over_time(g[2m:1m])
  {} 3 5 7

eval range from 2m to 6m step 2m min_over_time((g * 2)[3m:2m])
  {} 2 6 10
"#,
    );
}
