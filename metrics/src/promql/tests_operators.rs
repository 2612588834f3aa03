//! Binary operators, in Prometheus's test notation: cases ported from Prometheus 2.42's
//! `promql/testdata/operators.test`, values checked by hand.
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
  vector_matching_a{l="x"} 0+1x100
  vector_matching_a{l="y"} 0+2x50
"#;

fn with_requests(cases: &str) {
    check(&format!("{HTTP_REQUESTS}\n{cases}"));
}

#[test]
fn arithmetic_follows_precedence_and_drops_the_name() {
    with_requests(
        r#"
eval instant at 50m SUM(http_requests) BY (job) - COUNT(http_requests) BY (job)
  {job="api-server"} 996
  {job="app-server"} 2596

eval instant at 50m 2 - SUM(http_requests) BY (job)
  {job="api-server"} -998
  {job="app-server"} -2598

eval instant at 50m -http_requests{job="api-server",instance="0",group="production"}
  {job="api-server",instance="0",group="production"} -100

eval instant at 50m +http_requests{job="api-server",instance="0",group="production"}
  http_requests{job="api-server",instance="0",group="production"} 100

eval instant at 50m - - - SUM(http_requests) BY (job)
  {job="api-server"} -1000
  {job="app-server"} -2600

eval instant at 50m -2^---1*3
  -1.5

eval instant at 50m 2/-2^---1*3+2
  -10

eval instant at 50m -10^3 * - SUM(http_requests) BY (job) ^ -1
  {job="api-server"} 1
  {job="app-server"} 0.38461538461538464

eval instant at 50m 1000 / SUM(http_requests) BY (job)
  {job="api-server"} 1
  {job="app-server"} 0.38461538461538464

eval instant at 50m SUM(http_requests) BY (job) % 0.3
  {job="api-server"} 0.1
  {job="app-server"} 0.2

eval instant at 50m SUM(http_requests) BY (job) % 2 ^ 3 ^ 2
  {job="api-server"} 488
  {job="app-server"} 40

eval instant at 50m SUM(http_requests) BY (job) % 2 ^ 3 ^ 2 ^ 2
  {job="api-server"} 1000
  {job="app-server"} 2600

eval instant at 50m COUNT(http_requests) BY (job) ^ COUNT(http_requests) BY (job)
  {job="api-server"} 256
  {job="app-server"} 256
"#,
    );
}

#[test]
fn division_by_zero_gives_infinities_and_nan() {
    with_requests(
        r#"
eval instant at 50m SUM(http_requests) BY (job) / 0
  {job="api-server"} +Inf
  {job="app-server"} +Inf

eval instant at 50m -1 * http_requests{group="canary", instance="0", job="api-server"} / 0
  {group="canary", instance="0", job="api-server"} -Inf

eval instant at 50m 0 * http_requests{group="canary", instance="0", job="api-server"} / 0
  {group="canary", instance="0", job="api-server"} NaN

eval instant at 50m 0 * http_requests{group="canary", instance="0", job="api-server"} % 0
  {group="canary", instance="0", job="api-server"} NaN
"#,
    );
}

#[test]
fn vectors_match_on_all_labels_but_the_name() {
    with_requests(
        r#"
eval instant at 50m SUM(http_requests) BY (job) + SUM(http_requests) BY (job)
  {job="api-server"} 2000
  {job="app-server"} 5200

eval instant at 50m http_requests{job="api-server", group="canary"} + rate(http_requests{job="api-server"}[5m]) * 5 * 60
  {group="canary", instance="0", job="api-server"} 330
  {group="canary", instance="1", job="api-server"} 440

eval instant at 50m rate(http_requests[25m]) * 25 * 60
  {group="canary", instance="0", job="api-server"} 150
  {group="canary", instance="0", job="app-server"} 350
  {group="canary", instance="1", job="api-server"} 200
  {group="canary", instance="1", job="app-server"} 400
  {group="production", instance="0", job="api-server"} 50
  {group="production", instance="0", job="app-server"} 249.99999999999997
  {group="production", instance="1", job="api-server"} 100
  {group="production", instance="1", job="app-server"} 300

eval instant at 50m http_requests{group="canary"} / on(instance,job) http_requests{group="production"}
  {instance="0", job="api-server"} 3
  {instance="0", job="app-server"} 1.4
  {instance="1", job="api-server"} 2
  {instance="1", job="app-server"} 1.3333333333333333

eval instant at 50m http_requests{group="canary"} / ignoring(group) http_requests{group="production"}
  {instance="0", job="api-server"} 3
  {instance="0", job="app-server"} 1.4
  {instance="1", job="api-server"} 2
  {instance="1", job="app-server"} 1.3333333333333333
"#,
    );
}

#[test]
fn and_or_unless_keep_elements_whole() {
    with_requests(
        r#"
eval instant at 50m http_requests{group="canary"} and http_requests{instance="0"}
  http_requests{group="canary", instance="0", job="api-server"} 300
  http_requests{group="canary", instance="0", job="app-server"} 700

eval instant at 50m (http_requests{group="canary"} + 1) and on(instance) http_requests{instance="0", group="production"}
  {group="canary", instance="0", job="api-server"} 301
  {group="canary", instance="0", job="app-server"} 701

eval instant at 50m (http_requests{group="canary"} + 1) and ignoring(group, job) http_requests{instance="0", group="production"}
  {group="canary", instance="0", job="api-server"} 301
  {group="canary", instance="0", job="app-server"} 701

eval instant at 50m (http_requests{group="canary"} + 1) or http_requests{instance="1"}
  {group="canary", instance="0", job="api-server"} 301
  {group="canary", instance="0", job="app-server"} 701
  {group="canary", instance="1", job="api-server"} 401
  {group="canary", instance="1", job="app-server"} 801
  http_requests{group="production", instance="1", job="api-server"} 200
  http_requests{group="production", instance="1", job="app-server"} 600

eval instant at 50m (http_requests{group="canary"} + 1) or on(instance) (http_requests or cpu_count or vector_matching_a)
  {group="canary", instance="0", job="api-server"} 301
  {group="canary", instance="0", job="app-server"} 701
  {group="canary", instance="1", job="api-server"} 401
  {group="canary", instance="1", job="app-server"} 801
  vector_matching_a{l="x"} 10
  vector_matching_a{l="y"} 20

eval instant at 50m http_requests{group="canary"} unless http_requests{instance="0"}
  http_requests{group="canary", instance="1", job="api-server"} 400
  http_requests{group="canary", instance="1", job="app-server"} 800

eval instant at 50m http_requests{group="canary"} unless on(job) http_requests{instance="0"}

eval instant at 50m http_requests{group="canary"} unless ignoring(group) http_requests{instance="0"}
  http_requests{group="canary", instance="1", job="api-server"} 400
  http_requests{group="canary", instance="1", job="app-server"} 800

eval instant at 50m http_requests{job="api-server"} AND ON (dummy) vector(1)
  http_requests{group="canary", instance="0", job="api-server"} 300
  http_requests{group="canary", instance="1", job="api-server"} 400
  http_requests{group="production", instance="0", job="api-server"} 100
  http_requests{group="production", instance="1", job="api-server"} 200
"#,
    );
}

#[test]
fn comparisons_filter_or_give_booleans() {
    with_requests(
        r#"
eval instant at 50m SUM(http_requests) BY (job) > 1000
  {job="app-server"} 2600

eval instant at 50m 1000 < SUM(http_requests) BY (job)
  {job="app-server"} 2600

eval instant at 50m SUM(http_requests) BY (job) <= 1000
  {job="api-server"} 1000

eval instant at 50m SUM(http_requests) BY (job) == bool 1000
  {job="api-server"} 1
  {job="app-server"} 0

eval instant at 50m SUM(http_requests) BY (job) != bool SUM(http_requests) BY (job)
  {job="api-server"} 0
  {job="app-server"} 0

eval instant at 50m 0 == bool 1
  0

eval instant at 50m 1 == bool 1
  1

eval instant at 50m http_requests{job="api-server", instance="0", group="production"} == bool 100
  {job="api-server", instance="0", group="production"} 1

eval instant at 50m http_requests{job="api-server", instance="0", group="production"} > 50
  http_requests{job="api-server", instance="0", group="production"} 100
"#,
    );
}

const NODES: &str = r#"
load 5m
  node_var{instance="abc",job="node"} 2
  node_role{instance="abc",job="node",role="prometheus"} 1
  node_cpu{instance="abc",job="node",mode="idle"} 3
  node_cpu{instance="abc",job="node",mode="user"} 1
  node_cpu{instance="def",job="node",mode="idle"} 8
  node_cpu{instance="def",job="node",mode="user"} 2
  random{foo="bar"} 1
  threshold{instance="abc",job="node",target="a@b.com"} 0
"#;

#[test]
fn group_left_and_group_right_copy_labels_from_the_one_side() {
    check(&format!(
        "{NODES}\n{}",
        r#"
eval instant at 5m node_role * on (instance) group_right (role) node_var
  {instance="abc",job="node",role="prometheus"} 2

eval instant at 5m node_var * on (instance) group_left (role) node_role
  {instance="abc",job="node",role="prometheus"} 2

eval instant at 5m node_var * ignoring (role) group_left (role) node_role
  {instance="abc",job="node",role="prometheus"} 2

eval instant at 5m node_cpu * ignoring (role, mode) group_left (role) node_role
  {instance="abc",job="node",mode="idle",role="prometheus"} 3
  {instance="abc",job="node",mode="user",role="prometheus"} 1

eval instant at 5m node_cpu / on (instance) group_left sum by (instance,job)(node_cpu)
  {instance="abc",job="node",mode="idle"} .75
  {instance="abc",job="node",mode="user"} .25
  {instance="def",job="node",mode="idle"} .80
  {instance="def",job="node",mode="user"} .20

eval instant at 5m sum(sum by (mode, job)(node_cpu) / on (job) group_left sum by (job)(node_cpu))
  {} 1.0

eval instant at 5m node_cpu + on(dummy) group_left(foo) random*0
  {instance="abc",job="node",mode="idle",foo="bar"} 3
  {instance="abc",job="node",mode="user",foo="bar"} 1
  {instance="def",job="node",mode="idle",foo="bar"} 8
  {instance="def",job="node",mode="user",foo="bar"} 2

eval instant at 5m node_cpu > on(job, instance) group_left(target) threshold
  node_cpu{instance="abc",job="node",mode="idle",target="a@b.com"} 3
  node_cpu{instance="abc",job="node",mode="user",target="a@b.com"} 1

eval instant at 5m node_cpu > on(job, instance) group_left(target) (threshold or on (job, instance) (sum by (job, instance)(node_cpu) * 0 + 1))
  node_cpu{instance="abc",job="node",mode="idle",target="a@b.com"} 3
  node_cpu{instance="abc",job="node",mode="user",target="a@b.com"} 1
  node_cpu{instance="def",job="node",mode="idle"} 8
  node_cpu{instance="def",job="node",mode="user"} 2
"#
    ));
}

#[test]
fn many_to_many_matching_is_an_error() {
    check(&format!(
        "{NODES}\n{}",
        r#"
eval_fail instant at 5m node_cpu * on(instance) node_var

eval_fail instant at 5m node_var * on(instance) group_left node_cpu

eval_fail instant at 5m node_cpu + ignoring(mode) node_cpu
"#
    ));
}

#[test]
fn on_and_ignoring_without_labels() {
    check(
        r#"
load 5m
  random{foo="bar"} 2
  metricA{baz="meh"} 3
  metricB{baz="meh"} 4

eval instant at 5m random + on() metricA
  {} 5

eval instant at 5m metricA + ignoring() metricB
  {baz="meh"} 7

eval instant at 5m metricA + metricB
  {baz="meh"} 7
"#,
    );
}

#[test]
fn duplicate_label_sets_after_dropping_the_name_are_an_error() {
    check(
        r#"
load 5m
  testmetric1{src="a",dst="b"} 0
  testmetric2{src="a",dst="b"} 1

eval_fail instant at 0m -{__name__=~'testmetric1|testmetric2'}

eval_fail instant at 0m {__name__=~'testmetric1|testmetric2'} * 2

eval_fail instant at 0m changes({__name__=~'testmetric1|testmetric2'}[5m])

eval instant at 0m {__name__=~'testmetric1|testmetric2'} > 0.5
  testmetric2{src="a",dst="b"} 1
"#,
    );
}

#[test]
fn atan2_keeps_the_name_and_bool_between_vectors() {
    check(
        r#"
load 5m
  trigy{} 10
  trigx{} 20
  trigNaN{} NaN
  test_total{instance="localhost"} 50
  test_smaller{instance="localhost"} 10

eval instant at 5m trigy atan2 trigx
  trigy 0.4636476090008061

eval instant at 5m trigy atan2 trigNaN
  trigy NaN

eval instant at 5m 10 atan2 20
  0.4636476090008061

eval instant at 5m test_total > bool test_smaller
  {instance="localhost"} 1

eval instant at 5m test_total > test_smaller
  test_total{instance="localhost"} 50

eval instant at 5m test_total < bool test_smaller
  {instance="localhost"} 0

eval instant at 5m test_total < test_smaller
"#,
    );
}
