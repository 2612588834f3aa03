//! `histogram_quantile` over classic buckets, in Prometheus's test notation: cases ported
//! from Prometheus 2.42's `promql/testdata/histograms.test`, values checked by hand.
use super::testing::run;

fn check(script: &str) {
    if let Err(e) = run(script) {
        panic!("{e}");
    }
}

const HISTOGRAMS: &str = r#"
load 5m
  testhistogram_bucket{le="0.1", start="positive"} 0+5x10
  testhistogram_bucket{le=".2", start="positive"} 0+7x10
  testhistogram_bucket{le="1e0", start="positive"} 0+11x10
  testhistogram_bucket{le="+Inf", start="positive"} 0+12x10
  testhistogram_bucket{le="-.2", start="negative"} 0+1x10
  testhistogram_bucket{le="-0.1", start="negative"} 0+2x10
  testhistogram_bucket{le="0.3", start="negative"} 0+2x10
  testhistogram_bucket{le="+Inf", start="negative"} 0+3x10
  request_duration_seconds_bucket{job="job1", instance="ins1", le="0.1"} 0+1x10
  request_duration_seconds_bucket{job="job1", instance="ins1", le="0.2"} 0+3x10
  request_duration_seconds_bucket{job="job1", instance="ins1", le="+Inf"} 0+4x10
  request_duration_seconds_bucket{job="job1", instance="ins2", le="0.1"} 0+2x10
  request_duration_seconds_bucket{job="job1", instance="ins2", le="0.2"} 0+5x10
  request_duration_seconds_bucket{job="job1", instance="ins2", le="+Inf"} 0+6x10
  request_duration_seconds_bucket{job="job2", instance="ins1", le="0.1"} 0+3x10
  request_duration_seconds_bucket{job="job2", instance="ins1", le="0.2"} 0+4x10
  request_duration_seconds_bucket{job="job2", instance="ins1", le="+Inf"} 0+6x10
  request_duration_seconds_bucket{job="job2", instance="ins2", le="0.1"} 0+4x10
  request_duration_seconds_bucket{job="job2", instance="ins2", le="0.2"} 0+7x10
  request_duration_seconds_bucket{job="job2", instance="ins2", le="+Inf"} 0+9x10
  mixed_bucket{job="job1", instance="ins1", le="0.1"} 0+1x10
  mixed_bucket{job="job1", instance="ins1", le="0.2"} 0+1x10
  mixed_bucket{job="job1", instance="ins1", le="2e-1"} 0+1x10
  mixed_bucket{job="job1", instance="ins1", le="2.0e-1"} 0+1x10
  mixed_bucket{job="job1", instance="ins1", le="+Inf"} 0+4x10
  mixed_bucket{job="job1", instance="ins2", le="+inf"} 0+0x10
  mixed_bucket{job="job1", instance="ins2", le="+Inf"} 0+0x10
  nonmonotonic_bucket{le="0.1"} 0+2x10
  nonmonotonic_bucket{le="1"} 0+1x10
  nonmonotonic_bucket{le="10"} 0+5x10
  nonmonotonic_bucket{le="100"} 0+4x10
  nonmonotonic_bucket{le="1000"} 0+9x10
  nonmonotonic_bucket{le="+Inf"} 0+8x10
  only_inf_bucket{le="+Inf"} 0+8x10
  no_inf_bucket{le="1"} 0+8x10
"#;

#[test]
fn histogram_quantile_interpolates_within_buckets() {
    check(&format!(
        "{HISTOGRAMS}\n{}",
        r#"
eval instant at 50m histogram_quantile(-0.1, testhistogram_bucket)
  {start="positive"} -Inf
  {start="negative"} -Inf

eval instant at 50m histogram_quantile(1.01, testhistogram_bucket)
  {start="positive"} +Inf
  {start="negative"} +Inf

eval instant at 50m histogram_quantile(NaN, testhistogram_bucket)
  {start="positive"} NaN
  {start="negative"} NaN

eval instant at 50m histogram_quantile(0, testhistogram_bucket)
  {start="positive"} 0
  {start="negative"} -0.2

eval instant at 50m histogram_quantile(1, testhistogram_bucket)
  {start="positive"} 1
  {start="negative"} 0.3

eval instant at 50m histogram_quantile(0.2, rate(testhistogram_bucket[5m]))
  {start="positive"} 0.048
  {start="negative"} -0.2

eval instant at 50m histogram_quantile(0.5, testhistogram_bucket)
  {start="positive"} 0.15
  {start="negative"} -0.15

eval instant at 50m histogram_quantile(0.8, rate(testhistogram_bucket[5m]))
  {start="positive"} 0.72
  {start="negative"} 0.3
"#
    ));
}

#[test]
fn histogram_quantile_over_aggregated_rates() {
    check(&format!(
        "{HISTOGRAMS}\n{}",
        r#"
eval instant at 50m histogram_quantile(0.3, sum(rate(request_duration_seconds_bucket[5m])) by (le))
  {} 0.075

eval instant at 50m histogram_quantile(0.5, avg(rate(request_duration_seconds_bucket[5m])) by (le))
  {} 0.12777777777777778

eval instant at 50m histogram_quantile(0.5, sum(rate(request_duration_seconds_bucket[5m])) by (le, job))
  {job="job1"} 0.14
  {job="job2"} 0.1125

eval instant at 50m histogram_quantile(0.5, rate(request_duration_seconds_bucket[5m]))
  {instance="ins1", job="job1"} 0.15
  {instance="ins2", job="job1"} 0.13333333333333333
  {instance="ins1", job="job2"} 0.1
  {instance="ins2", job="job2"} 0.11666666666666667
"#
    ));
}

#[test]
fn histogram_quantile_fixes_odd_buckets_and_refuses_nonsense() {
    // Counts made monotonic (20 20 50 50 90 90); equal bounds written differently merge; an
    // only-+Inf or no-+Inf histogram, or one without observations, is NaN.
    check(&format!(
        "{HISTOGRAMS}\n{}",
        r#"
eval instant at 50m histogram_quantile(0.01, nonmonotonic_bucket)
  {} 0.0045

eval instant at 50m histogram_quantile(0.5, nonmonotonic_bucket)
  {} 8.5

eval instant at 50m histogram_quantile(0.99, nonmonotonic_bucket)
  {} 979.75

eval instant at 50m histogram_quantile(0.5, rate(mixed_bucket[5m]))
  {instance="ins1", job="job1"} 0.15
  {instance="ins2", job="job1"} NaN

eval instant at 50m histogram_quantile(1, rate(mixed_bucket[5m]))
  {instance="ins1", job="job1"} 0.2
  {instance="ins2", job="job1"} NaN

eval instant at 50m histogram_quantile(0.5, only_inf_bucket)
  {} NaN

eval instant at 50m histogram_quantile(0.5, no_inf_bucket)
  {} NaN

eval instant at 0m histogram_quantile(0.5, nonmonotonic_bucket)
  {} NaN
"#
    ));
}

#[test]
fn histogram_quantile_refuses_two_histograms_with_one_label_set() {
    check(
        r#"
load 5m
  request_duration_seconds_bucket{job="job1", instance="ins1", le="0.1"} 0+1x10
  request_duration_seconds_bucket{job="job1", instance="ins1", le="+Inf"} 0+4x10
  request_duration_seconds2_bucket{job="job1", instance="ins1", le="0.1"} 0+1x10
  request_duration_seconds2_bucket{job="job1", instance="ins1", le="+Inf"} 0+4x10

eval_fail instant at 50m histogram_quantile(0.99, {__name__=~"request_duration.*"})
"#,
    );
}
