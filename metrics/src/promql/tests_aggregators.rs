//! Aggregations, in Prometheus's test notation: cases ported from Prometheus 2.42's
//! `promql/testdata/aggregators.test`, values checked by hand.
use super::testing::run;

fn check(script: &str) {
    if let Err(e) = run(script) {
        panic!("{e}");
    }
}

const HTTP_REQUESTS: &str = r#"
load 5m
  http_requests{job="api-server", instance="0", group="production"} 0+10x10
  http_requests{job="api-server", instance="1", group="production"} 0+20x10
  http_requests{job="api-server", instance="0", group="canary"} 0+30x10
  http_requests{job="api-server", instance="1", group="canary"} 0+40x10
  http_requests{job="app-server", instance="0", group="production"} 0+50x10
  http_requests{job="app-server", instance="1", group="production"} 0+60x10
  http_requests{job="app-server", instance="0", group="canary"} 0+70x10
  http_requests{job="app-server", instance="1", group="canary"} 0+80x10
  foo{job="api-server", instance="0", region="europe"} 0+90x10
  foo{job="api-server"} 0+100x10
"#;

#[test]
fn sum_avg_count_min_max_by_and_without() {
    check(&format!(
        "{HTTP_REQUESTS}\n{}",
        r#"
eval instant at 50m SUM BY (group) (((http_requests{job="api-server"})))
  {group="canary"} 700
  {group="production"} 300

eval instant at 50m avg by (group) (http_requests{job="api-server"})
  {group="canary"} 350
  {group="production"} 150

eval instant at 50m count by (group) (http_requests{job="api-server"})
  {group="canary"} 2
  {group="production"} 2

eval instant at 50m sum without (instance) (http_requests{job="api-server"})
  {group="canary",job="api-server"} 700
  {group="production",job="api-server"} 300

eval instant at 50m sum by () (http_requests{job="api-server"})
  {} 1000

eval instant at 50m sum without () (http_requests{job="api-server",group="production"})
  {group="production",job="api-server",instance="0"} 100
  {group="production",job="api-server",instance="1"} 200

eval instant at 50m sum without (instance) (http_requests{job="api-server"} or foo)
  {group="canary",job="api-server"} 700
  {group="production",job="api-server"} 300
  {region="europe",job="api-server"} 900
  {job="api-server"} 1000

eval instant at 50m sum(http_requests) by (job) + min(http_requests) by (job) + max(http_requests) by (job) + avg(http_requests) by (job)
  {job="app-server"} 4550
  {job="api-server"} 1750

eval instant at 50m SUM(http_requests) BY (job, nonexistent)
  {job="api-server"} 1000
  {job="app-server"} 2600

eval instant at 50m sum by (__name__) (http_requests)
  {__name__="http_requests"} 3600

eval instant at 50m group by (job) (http_requests)
  {job="api-server"} 1
  {job="app-server"} 1
"#
    ));
}

#[test]
fn stddev_and_stdvar_are_population_statistics() {
    check(&format!(
        "{HTTP_REQUESTS}\n{}",
        r#"
eval instant at 50m stddev(http_requests)
  {} 229.12878474779

eval instant at 50m stddev by (instance)(http_requests)
  {instance="0"} 223.60679774998
  {instance="1"} 223.60679774998

eval instant at 50m stdvar(http_requests)
  {} 52500

clear
load 5m
  http_requests{job="api-server", instance="0", group="production"} 0+1.33x10
  http_requests{job="api-server", instance="1", group="production"} 0+1.33x10
  http_requests{job="api-server", instance="0", group="canary"} 0+1.33x10

eval instant at 50m stdvar(http_requests)
  {} 0.0
"#
    ));
}

#[test]
fn min_and_max_skip_nan_unless_all_are_nan() {
    check(
        r#"
load 5m
  http_requests{job="api-server", instance="0", group="production"} 1
  http_requests{job="api-server", instance="1", group="production"} 2
  http_requests{job="api-server", instance="0", group="canary"} NaN
  http_requests{job="api-server", instance="1", group="canary"} 3
  http_requests{job="api-server", instance="2", group="canary"} 4
  only_nan NaN

eval instant at 0m max(http_requests)
  {} 4

eval instant at 0m min by (group) (http_requests)
  {group="production"} 1
  {group="canary"} 3

eval instant at 0m max(only_nan)
  {} NaN
"#,
    );
}

#[test]
fn topk_and_bottomk_keep_input_labels_and_put_nan_last() {
    check(
        r#"
load 5m
  http_requests{job="api-server", instance="0", group="production"} 0+10x10
  http_requests{job="api-server", instance="1", group="production"} 0+20x10
  http_requests{job="api-server", instance="2", group="production"} NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN
  http_requests{job="api-server", instance="0", group="canary"} 0+30x10
  http_requests{job="api-server", instance="1", group="canary"} 0+40x10
  http_requests{job="app-server", instance="0", group="production"} 0+50x10
  http_requests{job="app-server", instance="1", group="production"} 0+60x10
  http_requests{job="app-server", instance="0", group="canary"} 0+70x10
  http_requests{job="app-server", instance="1", group="canary"} 0+80x10
  foo 3+0x10

eval_ordered instant at 50m topk(3, http_requests)
  http_requests{group="canary", instance="1", job="app-server"} 800
  http_requests{group="canary", instance="0", job="app-server"} 700
  http_requests{group="production", instance="1", job="app-server"} 600

eval_ordered instant at 50m bottomk(3, http_requests)
  http_requests{group="production", instance="0", job="api-server"} 100
  http_requests{group="production", instance="1", job="api-server"} 200
  http_requests{group="canary", instance="0", job="api-server"} 300

eval instant at 50m topk by (group) (1, http_requests)
  http_requests{group="production", instance="1", job="app-server"} 600
  http_requests{group="canary", instance="1", job="app-server"} 800

eval_ordered instant at 50m topk(3, http_requests{job="api-server",group="production"})
  http_requests{job="api-server", instance="1", group="production"} 200
  http_requests{job="api-server", instance="0", group="production"} 100
  http_requests{job="api-server", instance="2", group="production"} NaN

eval_ordered instant at 50m bottomk(9999999999, http_requests{job="api-server",group="production"})
  http_requests{job="api-server", instance="0", group="production"} 100
  http_requests{job="api-server", instance="1", group="production"} 200
  http_requests{job="api-server", instance="2", group="production"} NaN

eval_ordered instant at 50m topk(scalar(foo), http_requests)
  http_requests{group="canary", instance="1", job="app-server"} 800
  http_requests{group="canary", instance="0", job="app-server"} 700
  http_requests{group="production", instance="1", job="app-server"} 600

eval instant at 50m topk(0, http_requests)
"#,
    );
}

#[test]
fn topk_ties_keep_the_earlier_series() {
    // Equal values: the heap only replaces its least element with a strictly greater one,
    // so with k=1 the first series in input order wins; here storage order, by labels.
    // Prometheus's input order is its storage's (series creation), so it may pick another
    // tied series; the compatibility test avoids ties.
    check(
        r#"
load 5m
  tie{i="a"} 5
  tie{i="b"} 5
  tie{i="c"} 5

eval instant at 0m topk(1, tie)
  tie{i="a"} 5

eval instant at 0m bottomk(1, tie)
  tie{i="a"} 5
"#,
    );
}

#[test]
fn count_values_groups_by_the_value_as_a_label() {
    check(
        r#"
load 5m
  version{job="api-server", instance="0", group="production"} 6
  version{job="api-server", instance="1", group="production"} 6
  version{job="api-server", instance="2", group="production"} 6
  version{job="api-server", instance="0", group="canary"} 8
  version{job="api-server", instance="1", group="canary"} 8
  version{job="app-server", instance="0", group="production"} 6
  version{job="app-server", instance="1", group="production"} 6
  version{job="app-server", instance="0", group="canary"} 7
  version{job="app-server", instance="1", group="canary"} 7

eval instant at 5m count_values("version", version)
  {version="6"} 5
  {version="7"} 2
  {version="8"} 2

eval instant at 5m count_values without (instance)("version", version)
  {job="api-server", group="production", version="6"} 3
  {job="api-server", group="canary", version="8"} 2
  {job="app-server", group="production", version="6"} 2
  {job="app-server", group="canary", version="7"} 2

eval instant at 5m count_values without (instance)("job", version)
  {job="6", group="production"} 5
  {job="8", group="canary"} 2
  {job="7", group="canary"} 2

eval instant at 5m count_values by (job, group)("job", version)
  {job="6", group="production"} 5
  {job="8", group="canary"} 2
  {job="7", group="canary"} 2

eval_fail instant at 5m count_values("a-b", version)
"#,
    );
}

#[test]
fn quantile_interpolates_and_avg_keeps_infinities() {
    check(
        r#"
load 10s
  data{test="two samples",point="a"} 0
  data{test="two samples",point="b"} 1
  data{test="three samples",point="a"} 0
  data{test="three samples",point="b"} 1
  data{test="three samples",point="c"} 2
  data{test="uneven samples",point="a"} 0
  data{test="uneven samples",point="b"} 1
  data{test="uneven samples",point="c"} 4
  foo .8
  avgdata{test="inf",point="a"} 0
  avgdata{test="inf",point="b"} Inf
  avgdata{test="inf",point="c"} 0
  avgdata{test="nan",point="a"} -Inf
  avgdata{test="nan",point="b"} 0
  avgdata{test="nan",point="c"} Inf
  avgdata{test="big",point="a"} 9.988465674311579e+307
  avgdata{test="big",point="b"} 9.988465674311579e+307

eval instant at 1m quantile without(point)(0.8, data)
  {test="two samples"} 0.8
  {test="three samples"} 1.6
  {test="uneven samples"} 2.8

eval instant at 1m quantile without(point)((scalar(foo)), data)
  {test="two samples"} 0.8
  {test="three samples"} 1.6
  {test="uneven samples"} 2.8

eval instant at 1m avg by (test) (avgdata)
  {test="inf"} Inf
  {test="nan"} NaN
  {test="big"} 9.988465674311579e+307
"#,
    );
}
