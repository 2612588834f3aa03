//! The `/metrics` text: the seed's metric names and labels, in Prometheus' format.

use berth_demo::metrics::{Metrics, Observation, MAX_SITES};
use std::time::Duration;

fn observe(m: &Metrics, site: &str, method: &str, status: u16, ms: u64) {
    m.observe(&Observation {
        site,
        method,
        view: "health",
        status,
        duration: Duration::from_millis(ms),
    });
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn requests_are_counted_by_site_method_and_view() {
    let m = Metrics::default();
    observe(&m, "site-a.local", "GET", 200, 1);
    observe(&m, "site-a.local", "GET", 200, 1);
    observe(&m, "site-b.local", "GET", 200, 1);
    let text = m.render("v1", true);
    assert!(text.contains("# TYPE django_requests_total counter\n"));
    let a = r#"django_requests_total{site="site-a.local",method="GET",view="health"} 2"#;
    let b = r#"django_requests_total{site="site-b.local",method="GET",view="health"} 1"#;
    assert!(has_line(&text, a) && has_line(&text, b), "{text}");
}

#[test]
fn durations_form_a_cumulative_histogram() {
    let m = Metrics::default();
    observe(&m, "a", "GET", 200, 3);
    observe(&m, "a", "GET", 200, 30);
    observe(&m, "a", "GET", 200, 3000);
    let text = m.render("v1", true);
    let l = r#"site="a",method="GET",view="health""#;
    assert!(text.contains("# TYPE django_request_duration_seconds histogram\n"));
    for (le, n) in [("0.005", 1), ("0.05", 2), ("2", 2), ("5", 3), ("+Inf", 3)] {
        let line = format!("django_request_duration_seconds_bucket{{{l},le=\"{le}\"}} {n}");
        assert!(has_line(&text, &line), "missing {line}\n{text}");
    }
    assert!(has_line(
        &text,
        &format!("django_request_duration_seconds_count{{{l}}} 3")
    ));
    let sum_prefix = format!("django_request_duration_seconds_sum{{{l}}} ");
    let sum = text.lines().find_map(|line| line.strip_prefix(&sum_prefix));
    let sum: f64 = sum.expect("a _sum line").parse().unwrap();
    assert!((sum - 3.033).abs() < 1e-9, "{sum}");
}

#[test]
fn server_errors_are_counted_as_exceptions_and_zeros_are_written() {
    let m = Metrics::default();
    observe(&m, "a", "GET", 500, 1);
    observe(&m, "a", "GET", 404, 1);
    observe(&m, "b", "GET", 200, 1);
    let text = m.render("v1", true);
    let exceptions = |site: &str, n: u64| {
        format!(
            r#"django_request_exceptions_total{{site="{site}",method="GET",view="health"}} {n}"#
        )
    };
    assert!(has_line(&text, &exceptions("a", 1)), "{text}");
    assert!(has_line(&text, &exceptions("b", 0)), "{text}");
    let by_status = r#"django_responses_total{site="a",method="GET",view="health",status="404"} 1"#;
    assert!(has_line(&text, by_status), "{text}");
}

#[test]
fn build_info_and_health_are_exported() {
    let text = Metrics::default().render("v2-unhealthy", false);
    assert!(has_line(
        &text,
        r#"demo_build_info{version="v2-unhealthy"} 1"#
    ));
    assert!(has_line(&text, "demo_healthy 0"));
}

#[test]
fn label_values_are_escaped() {
    let m = Metrics::default();
    observe(&m, "a\"b\\c\nd", "GET", 200, 1);
    let text = m.render("v\"1", true);
    assert!(text.contains(r#"site="a\"b\\c\nd""#), "{text}");
    assert!(text.contains(r#"version="v\"1""#), "{text}");
}

#[test]
fn unusual_methods_and_too_many_sites_are_folded() {
    let m = Metrics::default();
    for i in 0..MAX_SITES + 5 {
        observe(&m, &format!("s{i}.local"), "BREW", 200, 1);
    }
    let text = m.render("v1", true);
    let other = r#"django_requests_total{site="other",method="other",view="health"} 5"#;
    assert!(has_line(&text, other), "{text}");
}

#[test]
fn every_sample_line_is_well_formed() {
    let m = Metrics::default();
    observe(&m, "a", "GET", 200, 1);
    for line in m.render("v1", true).lines() {
        if line.starts_with('#') {
            assert!(
                line.starts_with("# HELP ") || line.starts_with("# TYPE "),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let name_end = series.find('{').unwrap_or(series.len());
        let name_ok = series[..name_end]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        assert!(name_ok, "{line}");
    }
}
