//! The public API: result shapes, errors and their Prometheus types, limits, scoping,
//! what storage is asked for, and float formatting.
use super::testing::load;
use super::*;
use crate::model::{stale_nan, MemSeries};
use std::sync::Mutex;

fn db() -> MemSeries {
    load(
        r#"
load 1m
  up{job="a", project="p"} 1 1 1 1 1
  up{job="b", project="q"} 0 0 0 0 0
  req_total{job="a", project="p"} 0+60x30
"#,
    )
    .unwrap()
}

#[test]
fn format_value_writes_floats_as_prometheus_json_does() {
    let cases = [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (1e21, "1000000000000000000000"),
        (1e-7, "0.0000001"),
        (0.1, "0.1"),
        (-0.0, "-0"),
        (123.456, "123.456"),
        (1.0 / 3.0, "0.3333333333333333"),
        (2.5e-5, "0.000025"),
    ];
    for (v, want) in cases {
        assert_eq!(format_value(v), want, "{v:e}");
    }
}

#[test]
fn an_instant_query_answers_by_type() {
    let e = Engine::default();
    let db = db();
    assert_eq!(
        e.instant(&db, "1 + 2", 5_000).unwrap(),
        Value::Scalar(5_000, 3.0)
    );
    assert_eq!(
        e.instant(&db, r#""hi""#, 5_000).unwrap(),
        Value::String(5_000, "hi".into())
    );
    let Value::Vector(v) = e.instant(&db, "up", 120_000).unwrap() else {
        panic!("vector expected")
    };
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|s| s.t == 120_000));
    assert_eq!(v[0].labels.get("job"), Some("a"));
}

#[test]
fn a_range_selector_at_the_top_answers_raw_samples_without_stale_markers() {
    let mut db = db();
    db.0[0].samples.push((300_000, stale_nan()));
    let e = Engine::default();
    let Value::Matrix(m) = e.instant(&db, "up[2m]", 300_000).unwrap() else {
        panic!("matrix expected")
    };
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].labels.name(), Some("up"));
    assert_eq!(m[0].samples, vec![(180_000, 1.0), (240_000, 1.0)]);
    assert_eq!(m[1].samples, vec![(180_000, 0.0), (240_000, 0.0)]);
}

#[test]
fn a_subquery_at_the_top_answers_its_aligned_points() {
    let e = Engine::default();
    let Value::Matrix(m) = e.instant(&db(), "req_total[3m:2m]", 250_000).unwrap() else {
        panic!("matrix expected")
    };
    // From 70 s (250 - 180) the first multiple of 2 m is 120 s, then 240 s.
    assert_eq!(m[0].samples, vec![(120_000, 120.0), (240_000, 240.0)]);
}

#[test]
fn a_range_query_answers_series_sorted_by_labels() {
    let e = Engine::default();
    let m = e.range(&db(), "up * 2", 0, 120_000, 60_000).unwrap();
    let jobs: Vec<_> = m.iter().map(|s| s.labels.get("job").unwrap()).collect();
    assert_eq!(jobs, ["a", "b"]);
    assert_eq!(m[0].samples, vec![(0, 2.0), (60_000, 2.0), (120_000, 2.0)]);
    assert_eq!(m[0].labels.name(), None);
    let scalar = e.range(&db(), "time()", 0, 60_000, 30_000).unwrap();
    assert_eq!(scalar.len(), 1);
    assert!(scalar[0].labels.is_empty());
    assert_eq!(
        scalar[0].samples,
        vec![(0, 0.0), (30_000, 30.0), (60_000, 60.0)]
    );
}

#[test]
fn a_range_query_over_too_many_points_is_bad_data() {
    let e = Engine::default();
    let err = e.range(&db(), "up", 0, 11_001_000, 1_000).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadData);
    assert_eq!(err.error_type(), "bad_data");
    assert_eq!(
        err.message,
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
    );
    assert!(e.range(&db(), "up", 0, 11_000_000, 1_000).is_ok());
    let err = e.range(&db(), "up[5m]", 0, 60_000, 1_000).unwrap_err();
    assert_eq!(
        err.message,
        "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"
    );
    assert_eq!(
        e.range(&db(), "up", 0, 60_000, 0).unwrap_err().kind,
        ErrorKind::BadData
    );
}

#[test]
fn parse_errors_and_unsupported_features_are_bad_data_naming_them() {
    for (q, needle) in [
        ("sum(", "parse error"),
        ("histogram_count(x)", "histogram_count"),
        ("sort_by_label(x, \"a\")", "sort_by_label"),
        ("limitk(2, x)", "limitk"),
        ("x + fill(0) y", "fill"),
        ("x{a=\"b\" or c=\"d\"}", "or"),
    ] {
        let err = parse(q).unwrap_err();
        assert_eq!(err.error_type(), "bad_data", "{q}");
        assert!(err.message.contains(needle), "{q}: {}", err.message);
    }
    assert!(parse("holt_winters(x[5m], 0.5, 0.5)").is_ok());
}

#[test]
fn many_to_many_matching_errors_with_prometheus_message() {
    let db = load(
        r#"
load 1m
  a{i="1", m="x"} 1
  a{i="1", m="y"} 2
  b{i="1"} 3
"#,
    )
    .unwrap();
    let e = Engine::default();
    let err = e.instant(&db, "b + on(i) a", 0).unwrap_err();
    assert_eq!(err.error_type(), "execution");
    assert_eq!(
        err.message,
        r#"found duplicate series for the match group {i="1"} on the right hand-side of the operation: [{__name__="a", i="1", m="y"}, {__name__="a", i="1", m="x"}];many-to-many matching not allowed: matching labels must be unique on one side"#
    );
    let err = e.instant(&db, "a + on(i) group_right b", 0).unwrap_err();
    assert!(
        err.message.contains("on the left hand-side"),
        "{}",
        err.message
    );
    let err = e.instant(&db, "a + on(i) b", 0).unwrap_err();
    assert_eq!(
        err.message,
        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
    );
    let ok = e.instant(&db, "a + on(i) group_left b", 0).unwrap();
    assert_eq!(ok.result_type(), "vector");
}

#[test]
fn selectors_list_every_matcher_and_scoping_adds_the_enforced_ones() {
    let p =
        parse(r#"sum(rate(req_total{job="a"}[5m])) / sum(up) + max_over_time(up[1h:])"#).unwrap();
    let sels = p.selectors();
    assert_eq!(sels.len(), 3);
    assert!(sels[0]
        .iter()
        .any(|m| m.name == "__name__" && m.value == "req_total"));
    assert!(sels[0].iter().any(|m| m.name == "job" && m.value == "a"));
    let scoped = p.scoped(&[Matcher::equal("project", "p")]);
    assert!(scoped
        .selectors()
        .iter()
        .all(|s| s.iter().any(|m| m.name == "project" && m.value == "p")));
    assert_eq!(p.value_type(), "vector");
}

#[test]
fn a_scoped_query_sees_only_its_projects_series() {
    let e = Engine::default();
    let only_p = [Matcher::equal("project", "p")];
    let Value::Vector(v) = e.instant_scoped(&db(), "up", 60_000, &only_p).unwrap() else {
        panic!()
    };
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].labels.get("project"), Some("p"));
    let Value::Vector(v) = e
        .instant_scoped(&db(), "absent(nope)", 60_000, &only_p)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(v[0].labels.get("project"), Some("p"));
    let parsed = parse("count(up)").unwrap().scoped(&only_p);
    let m = e.range_parsed(&db(), &parsed, 0, 60_000, 60_000).unwrap();
    assert_eq!(m[0].samples, vec![(0, 1.0), (60_000, 1.0)]);
}

#[test]
fn the_sample_limit_and_the_timeout_stop_a_query() {
    let small = Engine::new(EngineOptions {
        max_samples: 10,
        ..EngineOptions::default()
    });
    let err = small.range(&db(), "up", 0, 600_000, 60_000).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooMany);
    assert_eq!(err.error_type(), "execution");
    assert_eq!(
        err.message,
        "query processing would load too many samples into memory in query execution"
    );
    let hurried = Engine::new(EngineOptions {
        timeout: Some(std::time::Duration::ZERO),
        ..EngineOptions::default()
    });
    let err = hurried.instant(&db(), "up", 0).unwrap_err();
    assert_eq!(err.error_type(), "timeout");
}

/// Records what is asked of it; refuses `fail`.
#[derive(Default)]
struct Recorder {
    inner: MemSeries,
    asked: Mutex<Vec<(i64, i64, SelectHints)>>,
}

impl Queryable for Recorder {
    fn select(&self, m: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, QueryError> {
        self.select_hinted(
            m,
            mint,
            maxt,
            &SelectHints {
                start_ms: mint,
                end_ms: maxt,
                step_ms: 0,
                range_ms: 0,
                func: None,
            },
        )
    }
    fn label_names(&self, _: &[Matcher], _: i64, _: i64) -> Result<Vec<String>, QueryError> {
        Ok(Vec::new())
    }
    fn label_values(
        &self,
        _: &str,
        _: &[Matcher],
        _: i64,
        _: i64,
    ) -> Result<Vec<String>, QueryError> {
        Ok(Vec::new())
    }
}

impl HintedQueryable for Recorder {
    fn select_hinted(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
        hints: &SelectHints,
    ) -> Result<Vec<Series>, QueryError> {
        if m.iter().any(|m| m.value == "fail") {
            return Err(QueryError::TooMuchData("too many series (limit 1)".into()));
        }
        self.asked.lock().unwrap().push((mint, maxt, *hints));
        self.inner.select(m, mint, maxt)
    }
}

#[test]
fn a_range_query_selects_once_per_selector_with_hints() {
    let r = Recorder {
        inner: db(),
        ..Recorder::default()
    };
    let e = Engine::default();
    let p = parse("rate(req_total[5m] offset 1m) / up").unwrap();
    e.range_parsed(&r, &p, 600_000, 1_200_000, 60_000).unwrap();
    let asked = r.asked.lock().unwrap();
    assert_eq!(asked.len(), 2);
    let (mint, maxt, h) = asked[0];
    assert_eq!(
        (mint, maxt),
        (600_000 - 60_000 - 300_000, 1_200_000 - 60_000)
    );
    assert_eq!(
        (h.step_ms, h.range_ms, h.func),
        (60_000, 300_000, Some("rate"))
    );
    assert_eq!((asked[1].0, asked[1].1), (600_000 - 300_000, 1_200_000));
}

#[test]
fn storage_limits_come_back_as_too_many() {
    let r = Recorder::default();
    let p = parse(r#"up{job="fail"}"#).unwrap();
    let err = Engine::default().instant_parsed(&r, &p, 0).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooMany);
    assert_eq!(err.message, "too many series (limit 1)");
}

#[test]
fn regex_matchers_read_braces_as_go_does() {
    let db = load("load 1m\n  x{a=\"b{c}\"} 1\n  x{a=\"bc\"} 2").unwrap();
    let Value::Vector(v) = Engine::default()
        .instant(&db, r#"x{a=~"b{c}"}"#, 0)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].v, 1.0);
}

#[test]
fn step_invariant_parts_equal_their_per_step_value() {
    let e = Engine::default();
    let m = e
        .range(
            &db(),
            "scalar(sum(req_total @ 120)) + req_total",
            0,
            240_000,
            60_000,
        )
        .unwrap();
    let got: Vec<f64> = m[0].samples.iter().map(|s| s.1).collect();
    assert_eq!(got, [120.0, 180.0, 240.0, 300.0, 360.0]);
}
