//! Instant-vector functions, in Prometheus's test notation: cases ported from Prometheus
//! 2.42's `promql/testdata/functions.test`, values checked by hand.
use super::testing::run;

fn check(script: &str) {
    if let Err(e) = run(script) {
        panic!("{e}");
    }
}

#[test]
fn label_replace_matches_whole_values_and_expands_groups() {
    check(
        r#"
load 5m
  testmetric{src="source-value-10",dst="original-destination-value"} 0
  testmetric{src="source-value-20",dst="original-destination-value"} 1

eval instant at 0m label_replace(testmetric, "dst", "destination-value-$1", "src", "source-value-(.*)")
  testmetric{src="source-value-10",dst="destination-value-10"} 0
  testmetric{src="source-value-20",dst="destination-value-20"} 1

eval instant at 0m label_replace(testmetric, "dst", "destination-value-$1", "src", "value-(.*)")
  testmetric{src="source-value-10",dst="original-destination-value"} 0
  testmetric{src="source-value-20",dst="original-destination-value"} 1

eval instant at 0m label_replace(testmetric, "dst", "$1-value-$2", "src", "(.*)-value-(.*)")
  testmetric{src="source-value-10",dst="source-value-10"} 0
  testmetric{src="source-value-20",dst="source-value-20"} 1

eval instant at 0m label_replace(testmetric, "dst", "value-$1", "nonexistent-src", "source-value-(.*)")
  testmetric{src="source-value-10",dst="original-destination-value"} 0
  testmetric{src="source-value-20",dst="original-destination-value"} 1

eval instant at 0m label_replace(testmetric, "dst", "value-$1", "nonexistent-src", "(.*)")
  testmetric{src="source-value-10",dst="value-"} 0
  testmetric{src="source-value-20",dst="value-"} 1

eval instant at 0m label_replace((((testmetric))), (("dst")), (("value-$1")), (("src")), (("non-matching-regex")))
  testmetric{src="source-value-10",dst="original-destination-value"} 0
  testmetric{src="source-value-20",dst="original-destination-value"} 1

eval instant at 0m label_replace(testmetric, "dst", "", "dst", ".*")
  testmetric{src="source-value-10"} 0
  testmetric{src="source-value-20"} 1

eval_fail instant at 0m label_replace(testmetric, "dst", "value-$1", "src", "(.*")

eval_fail instant at 0m label_replace(testmetric, "invalid-label-name", "", "src", "(.*)")

eval_fail instant at 0m label_replace(testmetric, "src", "", "", "")
"#,
    );
}

#[test]
fn label_join_joins_sources_in_order() {
    check(
        r#"
load 5m
  testmetric{src="a",src1="b",src2="c",dst="original-destination-value"} 0
  testmetric{src="d",src1="e",src2="f",dst="original-destination-value"} 1
  testmetric1{src="foo",src1="bar",src2="foobar"} 0

eval instant at 0m label_join(testmetric, "dst", "-", "src", "src1", "src2")
  testmetric{src="a",src1="b",src2="c",dst="a-b-c"} 0
  testmetric{src="d",src1="e",src2="f",dst="d-e-f"} 1

eval instant at 0m label_join(testmetric, "dst", "-", "src", "src3", "src1")
  testmetric{src="a",src1="b",src2="c",dst="a--b"} 0
  testmetric{src="d",src1="e",src2="f",dst="d--e"} 1

eval instant at 0m label_join(testmetric, "dst", "", "emptysrc", "emptysrc1", "emptysrc2")
  testmetric{src="a",src1="b",src2="c"} 0
  testmetric{src="d",src1="e",src2="f"} 1

eval instant at 0m label_join(testmetric1, "dst", ", ", "src", "src1", "src2")
  testmetric1{src="foo",src1="bar",src2="foobar",dst="foo, bar, foobar"} 0
"#,
    );
}

#[test]
fn timestamp_reports_the_samples_own_time() {
    check(
        r#"
load 10s
  metric 0 1

eval instant at 0s timestamp(metric)
  {} 0

eval instant at 5s timestamp(metric)
  {} 0

eval instant at 10s timestamp(((metric)))
  {} 10

eval instant at 15s timestamp(metric * 1)
  {} 15
"#,
    );
}

#[test]
fn sort_orders_values_with_nan_last() {
    check(
        r#"
load 5m
  http_requests{job="api-server", instance="0", group="production"} 0+10x10
  http_requests{job="api-server", instance="1", group="production"} 0+20x10
  http_requests{job="api-server", instance="0", group="canary"} 0+30x10
  http_requests{job="api-server", instance="2", group="canary"} NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN
  http_requests{job="app-server", instance="0", group="production"} 0+50x10

eval_ordered instant at 50m sort(http_requests)
  http_requests{group="production", instance="0", job="api-server"} 100
  http_requests{group="production", instance="1", job="api-server"} 200
  http_requests{group="canary", instance="0", job="api-server"} 300
  http_requests{group="production", instance="0", job="app-server"} 500
  http_requests{group="canary", instance="2", job="api-server"} NaN

eval_ordered instant at 50m sort_desc(http_requests)
  http_requests{group="production", instance="0", job="app-server"} 500
  http_requests{group="canary", instance="0", job="api-server"} 300
  http_requests{group="production", instance="1", job="api-server"} 200
  http_requests{group="production", instance="0", job="api-server"} 100
  http_requests{group="canary", instance="2", job="api-server"} NaN
"#,
    );
}

#[test]
fn calendar_functions_read_utc_dates() {
    check(
        r#"
eval instant at 0m year()
  {} 1970

eval instant at 1ms time()
  0.001

eval instant at 50m time()
  3000

eval instant at 0s year(vector(1136239445))
  {} 2006

eval instant at 0s day_of_month(vector(1136239445))
  {} 2

eval instant at 0s day_of_year(vector(1136239445))
  {} 2

eval instant at 0s day_of_week()
  {} 4

eval instant at 0s day_of_week(vector(1136239445))
  {} 1

eval instant at 0s hour(vector(1136239445))
  {} 22

eval instant at 0s minute(vector(1136239445))
  {} 4

eval instant at 0s year(vector(1230767999))
  {} 2008

eval instant at 0s month(vector(1456790399)) + day_of_month(vector(1456790399)) / 100
  {} 2.29

eval instant at 0s month(vector(1456790400)) + day_of_month(vector(1456790400)) / 100
  {} 3.01

eval instant at 0s days_in_month(vector(1454284800))
  {} 29

eval instant at 0s days_in_month(vector(1485907200))
  {} 28
"#,
    );
}

#[test]
fn math_functions_drop_the_name_and_follow_go() {
    check(
        r#"
load 5m
  m{a="x"} -2.5
  m{a="y"} 4

eval instant at 0m abs(m)
  {a="x"} 2.5
  {a="y"} 4

eval instant at 0m sqrt(m)
  {a="x"} NaN
  {a="y"} 2

eval instant at 0m sgn(m)
  {a="x"} -1
  {a="y"} 1

eval instant at 0m clamp(m, 0, 3)
  {a="x"} 0
  {a="y"} 3

eval instant at 0m clamp(m, 3, 0)

eval instant at 0m clamp_min(m, 0)
  {a="x"} 0
  {a="y"} 4

eval instant at 0m clamp_max(m, 0)
  {a="x"} -2.5
  {a="y"} 0

eval instant at 0m exp(ln(m{a="y"}))
  {a="y"} 4

eval instant at 0m log2(m{a="y"}) + log10(m{a="y"} * 25)
  {a="y"} 4

eval instant at 0m deg(pi() * m{a="y"})
  {a="y"} 720

eval instant at 0m scalar(m)
  NaN

eval instant at 0m scalar(m{a="y"})
  4

eval instant at 0m vector(scalar(m{a="y"}) * 2)
  {} 8
"#,
    );
}
