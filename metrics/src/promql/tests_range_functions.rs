//! Range-argument functions, in Prometheus's test notation: cases ported from Prometheus
//! 2.42's `promql/testdata/functions.test`, values checked by hand.
use super::testing::run;

fn check(script: &str) {
    if let Err(e) = run(script) {
        panic!("{e}");
    }
}

#[test]
fn resets_and_changes_count_within_the_closed_window() {
    check(
        r#"
load 5m
  http_requests{path="/foo"} 1 2 3 0 1 0 0 1 2 0
  http_requests{path="/bar"} 1 2 3 4 5 1 2 3 4 5

eval instant at 50m resets(http_requests[5m])
  {path="/foo"} 0
  {path="/bar"} 0

eval instant at 50m resets(http_requests[20m])
  {path="/foo"} 1
  {path="/bar"} 0

eval instant at 50m resets(http_requests[30m])
  {path="/foo"} 2
  {path="/bar"} 1

eval instant at 50m resets(http_requests[50m])
  {path="/foo"} 3
  {path="/bar"} 1

eval instant at 50m resets(nonexistent_metric[50m])

eval instant at 50m changes(http_requests[20m])
  {path="/foo"} 3
  {path="/bar"} 3

eval instant at 50m changes(http_requests[30m])
  {path="/foo"} 4
  {path="/bar"} 5

eval instant at 50m changes((http_requests[50m]))
  {path="/foo"} 8
  {path="/bar"} 9
"#,
    );
}

#[test]
fn increase_extrapolates_but_not_below_a_counters_zero() {
    // Prometheus 2.42 limits the start extrapolation to the zero point before comparing with
    // the threshold, so "dings" (10 at t=0, zero point 5m earlier) extrapolates a whole
    // interval: 100 * 3300 / 3000 = 110; "bumms" (1 at t=0) only 30 s: 101.
    check(
        r#"
load 5m
  http_requests{path="/foo"} 0+10x10
  http_requests{path="/bar"} 0+10x5 0+10x5
  http_requests{path="/dings"} 10+10x10
  http_requests{path="/bumms"} 1+10x10

eval instant at 50m increase(http_requests[50m])
  {path="/foo"} 100
  {path="/bar"} 90
  {path="/dings"} 100
  {path="/bumms"} 100

eval instant at 50m increase(http_requests[100m])
  {path="/foo"} 100
  {path="/bar"} 90
  {path="/dings"} 110
  {path="/bumms"} 101
"#,
    );
}

#[test]
fn rate_handles_counter_resets_and_offsets() {
    check(
        r#"
load 5m
  testcounter_reset_middle 0+10x4 0+10x5
  testcounter_reset_end 0+10x9 0 10
  calculate_rate_window 0+80x10
  calculate_rate_offset{x="a"} 0+10x10

eval instant at 50m rate(testcounter_reset_middle[50m])
  {} 0.03

eval instant at 50m rate(testcounter_reset_end[5m])
  {} 0

eval instant at 50m rate(calculate_rate_window[50m])
  {} 0.26666666666666666

eval instant at 50m rate(calculate_rate_offset[10m] offset 5m)
  {x="a"} 0.03333333333333333
"#,
    );
}

#[test]
fn rate_extrapolates_to_the_zero_point_or_half_an_interval() {
    // Samples at 1m..4m (60 s apart, 180 s sampled). At 270 s the [5m] window starts 90 s
    // before the first sample: too far (over 1.1 × 60 s), but the counter's zero point is
    // only 30 s back, so 30 s; 30 s to the end: 60 × 240 / 180 = 80. At 330 s `delta`
    // (no zero point) has 30 s to the start and 90 s to the end, which becomes half an
    // interval (30 s): again 80.
    check(
        r#"
load 1m
  c _ 10 30 50 70

eval instant at 270s increase(c[5m])
  {} 80

eval instant at 330s delta(c[5m])
  {} 80
"#,
    );
}

#[test]
fn irate_delta_and_idelta_use_the_last_samples() {
    check(
        r#"
load 5m
  http_requests{path="/foo"} 0+10x10
  http_requests{path="/bar"} 0+10x5 0+10x5

eval instant at 50m irate(http_requests[50m])
  {path="/foo"} .03333333333333333333
  {path="/bar"} .03333333333333333333

eval instant at 30m irate(http_requests[50m])
  {path="/foo"} .03333333333333333333
  {path="/bar"} 0

clear
load 5m
  http_requests{path="/foo"} 0 50 100 150 200
  http_requests{path="/bar"} 200 150 100 50 0

eval instant at 20m delta(http_requests[20m])
  {path="/foo"} 200
  {path="/bar"} -200

eval instant at 20m idelta(http_requests[20m])
  {path="/foo"} 50
  {path="/bar"} -50
"#,
    );
}

#[test]
fn deriv_and_predict_linear_fit_a_least_squares_line() {
    // X/s = 0 300 … 3000, Y = 0 10 20 30 40 0 10 20 30 40 50: slope 0.010606…,
    // intercept at t=0 6.8181…; at 3000+3600 s 76.8181….
    check(
        r#"
load 5m
  testcounter_reset_middle 0+10x4 0+10x5
  http_requests{job="app-server", instance="1", group="canary"} 0+80x10

eval instant at 50m deriv(http_requests{group="canary", instance="1", job="app-server"}[50m])
  {group="canary", instance="1", job="app-server"} 0.26666666666666666

eval instant at 50m deriv(testcounter_reset_middle[100m])
  {} 0.010606060606060607

eval instant at 50m predict_linear(testcounter_reset_middle[100m], 3600)
  {} 76.81818181818181

eval instant at 50m predict_linear(testcounter_reset_middle[50m] @ 3000, 3600)
  {} 76.81818181818181

eval instant at 10m predict_linear(testcounter_reset_middle[50m] @ 3000, 3600)
  {} 51.36363636363637

eval instant at 70m predict_linear(testcounter_reset_middle[50m] @ 3000, 3600)
  {} 89.54545454545455

eval instant at 50m predict_linear(http_requests[50m], 3600) - (http_requests + deriv(http_requests[50m]) * 3600)
  {group="canary", instance="1", job="app-server"} 0
"#,
    );
}

#[test]
fn holt_winters_follows_linear_trends() {
    check(
        r#"
load 10s
  http_requests{job="api-server", instance="0", group="production"} 0+10x1000 100+30x1000
  http_requests{job="api-server", instance="1", group="canary"} 0-40x1000 0+40x1000

eval instant at 8000s holt_winters(http_requests[1m], 0.01, 0.1)
  {job="api-server", instance="0", group="production"} 8000
  {job="api-server", instance="1", group="canary"} -32000

eval_fail instant at 8000s holt_winters(http_requests[1m], 1, 0.1)
"#,
    );
}

#[test]
fn over_time_aggregates_handle_nan_and_infinities() {
    check(
        r#"
load 10s
  data{type="numbers"} 2 0 3
  data{type="some_nan"} 2 0 NaN
  data{type="some_nan2"} 2 NaN 1
  data{type="some_nan3"} NaN 0 1
  data{type="only_nan"} NaN NaN NaN
  metric 1 2 3 4 5
  metric4 1 2 3 Inf -Inf
  metric5 Inf 0 Inf
  metric7 1 2 -Inf -Inf Inf
  metric8 9.988465674311579e+307 9.988465674311579e+307
  metric10 -9.988465674311579e+307 9.988465674311579e+307
  spread 0 8 8 2 3

eval instant at 1m min_over_time(data[1m])
  {type="numbers"} 0
  {type="some_nan"} 0
  {type="some_nan2"} 1
  {type="some_nan3"} 0
  {type="only_nan"} NaN

eval instant at 1m max_over_time(data[1m])
  {type="numbers"} 3
  {type="some_nan"} 2
  {type="some_nan2"} 2
  {type="some_nan3"} 1
  {type="only_nan"} NaN

eval instant at 1m last_over_time(data[1m])
  data{type="numbers"} 3
  data{type="some_nan"} NaN
  data{type="some_nan2"} 1
  data{type="some_nan3"} 1
  data{type="only_nan"} NaN

eval instant at 1m avg_over_time(metric[1m])
  {} 3

eval instant at 1m sum_over_time(metric[1m])/count_over_time(metric[1m])
  {} 3

eval instant at 1m avg_over_time(metric4[1m])
  {} NaN

eval instant at 1m avg_over_time(metric5[1m])
  {} Inf

eval instant at 1m avg_over_time(metric7[1m])
  {} NaN

eval instant at 1m avg_over_time(metric8[1m])
  {} 9.988465674311579e+307

eval instant at 1m avg_over_time(metric10[1m])
  {} 0

eval instant at 1m stdvar_over_time(spread[1m])
  {} 10.56

eval instant at 1m stddev_over_time((spread[1m]))
  {} 3.249615

eval instant at 1m present_over_time(metric[1m])
  {} 1
"#,
    );
}

#[test]
fn quantile_over_time_interpolates_and_clamps() {
    check(
        r#"
load 10s
  data{test="two samples"} 0 1
  data{test="three samples"} 0 1 2
  data{test="uneven samples"} 0 1 4

eval instant at 1m quantile_over_time(0, data[1m])
  {test="two samples"} 0
  {test="three samples"} 0
  {test="uneven samples"} 0

eval instant at 1m quantile_over_time(0.75, data[1m])
  {test="two samples"} 0.75
  {test="three samples"} 1.5
  {test="uneven samples"} 2.5

eval instant at 1m quantile_over_time(0.8, data[1m])
  {test="two samples"} 0.8
  {test="three samples"} 1.6
  {test="uneven samples"} 2.8

eval instant at 1m quantile_over_time(-1, data[1m])
  {test="two samples"} -Inf
  {test="three samples"} -Inf
  {test="uneven samples"} -Inf

eval instant at 1m (quantile_over_time(2, (data[1m])))
  {test="two samples"} +Inf
  {test="three samples"} +Inf
  {test="uneven samples"} +Inf
"#,
    );
}

#[test]
fn absent_reports_the_selectors_equality_labels() {
    check(
        r#"
load 5m
  http_requests{job="api-server", instance="0", group="production"} 0+10x10

eval instant at 50m absent(nonexistent)
  {} 1

eval instant at 50m absent(nonexistent{job="testjob", instance="testinstance", method=~".x"})
  {instance="testinstance", job="testjob"} 1

eval instant at 50m absent(nonexistent{job="testjob",job="testjob2",foo="bar"})
  {foo="bar"} 1

eval instant at 50m absent(nonexistent{job="testjob",job=~"testjob2",foo="bar"})
  {foo="bar"} 1

eval instant at 50m absent(http_requests)

eval instant at 50m absent(sum(http_requests))

eval instant at 50m absent(sum(nonexistent{job="testjob", instance="testinstance"}))
  {} 1

eval instant at 50m absent(rate(nonexistant[5m]))
  {} 1
"#,
    );
}

#[test]
fn absent_over_time_looks_through_the_whole_window() {
    check(
        r#"
load 1m
  http_requests{path="/foo",instance="127.0.0.1",job="httpd"} 1+1x10
  http_requests{path="/bar",instance="127.0.0.1",job="httpd"} 1+1x10
  httpd_handshake_failures_total{instance="127.0.0.1",job="node"} 1+1x15
  httpd_log_lines_total{instance="127.0.0.1",job="node"} 1
  ssl_certificate_expiry_seconds{job="ingress"} NaN NaN NaN NaN NaN

eval instant at 1m absent_over_time(nonexistent{handler="/foo", instance="x"}[5m])
  {handler="/foo", instance="x"} 1

eval instant at 5m absent_over_time(http_requests[5m])

eval instant at 5m absent_over_time(rate(http_requests[5m])[5m:1m])

eval instant at 0m absent_over_time(httpd_log_lines_total[30s])

eval instant at 1m absent_over_time(httpd_log_lines_total[30s])
  {} 1

eval instant at 15m absent_over_time(http_requests[5m])

eval instant at 16m absent_over_time(http_requests[5m])
  {} 1

eval instant at 16m absent_over_time(http_requests[6m])

eval instant at 21m absent_over_time({instance="127.0.0.1"}[5m])
  {instance="127.0.0.1"} 1

eval instant at 21m absent_over_time({instance="127.0.0.1"}[20m])

eval instant at 30m absent_over_time({instance="127.0.0.1"}[5m:5s])
  {} 1

eval instant at 5m absent_over_time({job="ingress"}[4m])

eval instant at 10m absent_over_time({job="ingress"}[4m])
  {job="ingress"} 1

eval range from 14m to 17m step 1m absent_over_time(http_requests[5m])
  {} _ _ 1 1
"#,
    );
}
