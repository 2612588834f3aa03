//! Metrics end to end: static targets scraped by the real scheduler into the real storage,
//! answered through Prometheus's HTTP API (shapes, errors, scoping per project), a
//! `prometheus.yml` imported, targets that time out, answer too much or go away.
use super::support::{plain, spawn, TestApp};
use berth_model::{InstanceRole, Scope};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[path = "metrics/exporter.rs"]
mod exporter;
#[path = "metrics/import.rs"]
mod import;
#[path = "metrics/limits.rs"]
mod limits;
#[path = "../promcompat/prometheus.rs"]
#[allow(dead_code)]
mod prometheus;
#[path = "metrics/remote_read.rs"]
mod remote_read;
#[path = "metrics/settings.rs"]
mod settings;
#[path = "metrics/trust.rs"]
mod trust;
use exporter::Exporter;

/// An admin token, project `shop` with environment `staging`.
async fn world(app: &TestApp) -> String {
    app.user("root", InstanceRole::Admin).await;
    let admin = app.token("root", Scope::Write).await;
    app.project("shop").await;
    app.environment("shop", "staging", &admin).await;
    admin
}

async fn add_target(app: &TestApp, token: &str, project: &str, body: Value) -> (u16, Value) {
    app.api(
        Method::POST,
        &format!("/projects/{project}/environments/staging/metrics/targets"),
        Some(token),
        Some(body),
    )
    .await
}

/// The targets of shop's staging, with their health.
async fn targets(app: &TestApp, token: &str) -> (u16, Value) {
    app.api(
        Method::GET,
        "/projects/shop/environments/staging/metrics/targets",
        Some(token),
        None,
    )
    .await
}

/// `GET /api/v1{path}` with a bearer token: status, headers' Cache-Control, JSON body.
async fn prom(app: &TestApp, path: &str, token: &str) -> (u16, String, Value) {
    let res = plain()
        .get(format!("{}/api/v1{path}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("query");
    let status = res.status().as_u16();
    let cache = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, cache, body)
}

fn q(expr: &str) -> String {
    format!("/query?query={}", urlencode(expr))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Waits until the instant query `expr` has at least one sample; returns the result list.
async fn eventually(app: &TestApp, token: &str, expr: &str) -> Vec<Value> {
    eventually_n(app, token, expr, 1).await
}

/// Waits until the instant query `expr` has at least `n` samples.
async fn eventually_n(app: &TestApp, token: &str, expr: &str, n: usize) -> Vec<Value> {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (s, _, body) = prom(app, &q(expr), token).await;
        if s == 200 {
            if let Some(list) = body["data"]["result"].as_array().filter(|l| l.len() >= n) {
                return list.clone();
            }
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{expr} never had a sample; last answer {last}");
}

fn value(sample: &Value) -> f64 {
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

#[tokio::test]
async fn a_static_target_is_scraped_and_answers_like_prometheus() {
    let app = spawn().await;
    let admin = world(&app).await;
    let hits = Arc::new(AtomicU64::new(0));
    let ex = Exporter::counting(hits.clone()).await;
    let (s, b) = add_target(
        &app,
        &admin,
        "shop",
        json!({"job_name": "app", "address": ex.address(), "interval_ms": 1000, "timeout_ms": 900,
               "labels": [["team", "web"]]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let up = eventually(&app, &admin, r#"up{job="app"}"#).await;
    assert_eq!(value(&up[0]), 1.0, "{up:?}");
    let m = &up[0]["metric"];
    assert_eq!(m["project"], "shop");
    assert_eq!(m["environment"], "staging");
    assert_eq!(m["instance"], ex.address());
    assert_eq!(m["team"], "web");
    assert!(
        up[0]["value"][0].is_number(),
        "time is a JSON number: {up:?}"
    );

    // The counter the exporter serves, with its labels and the target's.
    let served = eventually(&app, &admin, r#"demo_requests_total{path="/a"}"#).await;
    assert_eq!(served[0]["metric"]["job"], "app");
    // A label the target exposes that Berth also sets is kept as exported_<name>.
    assert_eq!(served[0]["metric"]["exported_job"], "inner", "{served:?}");
    for name in [
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_series_added",
    ] {
        eventually(&app, &admin, &format!(r#"{name}{{job="app"}}"#)).await;
    }
    let scraped = eventually(&app, &admin, r#"scrape_samples_scraped{job="app"}"#).await;
    assert_eq!(value(&scraped[0]), 3.0, "{scraped:?}");

    // A few scrapes later the counter has a rate (the exporter adds 1 per scrape).
    tokio::time::sleep(Duration::from_secs(4)).await;
    let r = eventually(&app, &admin, r#"rate(demo_requests_total{path="/a"}[10s])"#).await;
    let rate = value(&r[0]);
    assert!(rate > 0.3 && rate < 3.0, "about 1 per second: {r:?}");
    assert!(hits.load(Ordering::Relaxed) >= 3);

    // query_range: Prometheus's matrix shape.
    let now = chrono::Utc::now().timestamp();
    let (s, cache, body) = prom(
        &app,
        &format!(
            "/query_range?query={}&start={}&end={}&step=1",
            urlencode(r#"up{job="app"}"#),
            now - 5,
            now
        ),
        &admin,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(cache, "no-store");
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["resultType"], "matrix");
    let values = body["data"]["result"][0]["values"]
        .as_array()
        .expect("values");
    assert!(values.len() >= 4, "{body}");
    assert_eq!(values[0][1], "1");

    // series, labels, label values.
    let (s, _, body) = prom(
        &app,
        &format!("/series?match[]={}", urlencode(r#"up{job="app"}"#)),
        &admin,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"][0]["__name__"], "up");
    let (_, _, body) = prom(&app, "/labels", &admin).await;
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for n in [
        "__name__",
        "environment",
        "exported_job",
        "instance",
        "job",
        "path",
        "project",
        "team",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let (_, _, body) = prom(&app, "/label/path/values", &admin).await;
    assert_eq!(body["data"], json!(["/a", "/b"]));

    // POST with a form body, as Grafana sends long queries.
    let res = plain()
        .post(format!("{}/api/v1/query", app.url))
        .bearer_auth(&admin)
        .form(&[("query", "sum(demo_requests_total)")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["resultType"], "vector", "{body}");

    // The targets list says how the target did.
    let (s, list) = targets(&app, &admin).await;
    assert_eq!(s, 200, "{list}");
    let t = &list[0];
    assert_eq!(t["health"], "up", "{list}");
    assert_eq!(t["job"], "app");
    assert_eq!(t["last_samples"], 3);
}

#[tokio::test]
async fn prometheus_errors_have_prometheus_shape() {
    let app = spawn().await;
    let admin = world(&app).await;
    let (s, cache, body) = prom(&app, &q("rate(up[5m]"), &admin).await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(cache, "no-store");
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "bad_data");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    let (s, _, body) = prom(&app, "/query_range?query=up&start=10&end=5&step=1", &admin).await;
    assert_eq!(
        (s, body["errorType"].as_str()),
        (400, Some("bad_data")),
        "{body}"
    );
    let (s, _, body) = prom(
        &app,
        "/query_range?query=up&start=0&end=100000&step=1",
        &admin,
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("11,000 points"),
        "{body}"
    );
    let (s, _, body) = prom(&app, "/query?query=up&time=yesterday", &admin).await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("invalid parameter \"time\""),
        "{body}"
    );
    // Without credentials: refused in the same shape.
    let res = plain()
        .get(format!("{}/api/v1/query?query=up", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "unauthorized");
    let (s, _, body) = prom(
        &app,
        "/projects/nope/prometheus/api/v1/query?query=up",
        &admin,
    )
    .await;
    assert_eq!(
        (s, body["errorType"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
}

#[tokio::test]
async fn slow_huge_and_vanished_targets_are_reported_and_end_their_series() {
    let app = spawn().await;
    let admin = world(&app).await;
    let slow = Exporter::slow(Duration::from_secs(5)).await;
    let huge = Exporter::huge(20 << 20).await;
    let good = Exporter::counting(Arc::new(AtomicU64::new(0))).await;
    for (job, ex) in [("slow", &slow), ("huge", &huge), ("good", &good)] {
        let (s, b) = add_target(&app, &admin, "shop", json!({"job_name": job, "address": ex.address(), "interval_ms": 1000, "timeout_ms": 500})).await;
        assert_eq!(s, 201, "{b}");
    }
    let down = eventually(&app, &admin, r#"up{job=~"slow|huge"} == 0"#).await;
    assert!(!down.is_empty());
    let mut errors = Value::Null;
    for _ in 0..50 {
        let (_, list) = targets(&app, &admin).await;
        let err = |job: &str| {
            list.as_array()
                .and_then(|l| l.iter().find(|t| t["job"] == job))
                .and_then(|t| t["last_error"].as_str())
                .unwrap_or("")
                .to_string()
        };
        if !err("slow").is_empty() && !err("huge").is_empty() {
            assert!(
                err("slow").contains("timeout") || err("slow").contains("deadline"),
                "{list}"
            );
            assert!(err("huge").contains("limit"), "{list}");
            errors = list;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!errors.is_null(), "both targets report why they are down");
    // The good target was scraped all along, then removed: its series end (stale), so an
    // instant query no longer finds them.
    eventually(&app, &admin, r#"up{job="good"} == 1"#).await;
    let (_, list) = targets(&app, &admin).await;
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["job"] == "good")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, _) = app
        .api(
            Method::DELETE,
            &format!("/projects/shop/environments/staging/metrics/targets/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let mut gone = false;
    for _ in 0..50 {
        let (_, _, body) = prom(&app, &q(r#"up{job="good"}"#), &admin).await;
        if body["data"]["result"] == json!([]) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(gone, "a removed target's series are marked stale");
    // Still there when asked for the past.
    let (_, _, body) = prom(&app, &q(r#"max_over_time(up{job="good"}[1m])"#), &admin).await;
    assert_eq!(body["data"]["result"][0]["value"][1], "1", "{body}");
}
