//! Remote read against a real Prometheus (Debian's): samples that only the external store
//! holds come back through Berth's query API, in the caller's scope and no further; a store
//! that fails is an `unavailable` error that keeps the URL's token to itself.
use super::super::support::{spawn, TestApp};
use super::prometheus::Prometheus;
use super::{prom, q, urlencode, world};
use berth_model::{InstanceRole, Role, Scope};
use metrics::model::{Labels, Series};
use reqwest::Method;
use serde_json::{json, Value};

const STEP_MS: i64 = 15_000;
const POINTS: i64 = 40;

/// Sample `i` of a series of `project`'s `env` (values differ per project).
fn series(project: &str, env: &str, base: i64, offset: f64) -> Series {
    Series {
        labels: Labels::new([
            ("__name__", "rr_requests_total"),
            ("job", "app"),
            ("project", project),
            ("environment", env),
        ]),
        samples: (0..POINTS)
            .map(|i| (base + i * STEP_MS, offset + i as f64))
            .collect(),
    }
}

/// Writes the series straight into Prometheus (remote write), never into Berth's storage.
async fn feed(p: &Prometheus, series: &[Series]) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/write", p.url))
        .header("content-type", metrics::remote::CONTENT_TYPE)
        .header("content-encoding", metrics::remote::CONTENT_ENCODING)
        .header(
            metrics::remote::VERSION_HEADER.0,
            metrics::remote::VERSION_HEADER.1,
        )
        .body(metrics::remote::body(series))
        .send()
        .await
        .expect("remote write to prometheus");
    let status = res.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        res.text().await.unwrap_or_default()
    );
}

async fn set_read_url(app: &TestApp, token: &str, project: &str, url: &str) {
    let (s, b) = app
        .api(
            Method::PUT,
            &format!("/projects/{project}/environments/staging/metrics/settings"),
            Some(token),
            Some(json!({"remote_read_url": url})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

fn values(sample: &Value) -> Vec<f64> {
    sample["values"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|p| {
                    p[1].as_str()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(f64::NAN)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Two projects' samples in Prometheus only; shop's viewer reads shop's through Berth.
async fn two_projects() -> (TestApp, String, String, Prometheus, i64) {
    let app = spawn().await;
    let admin = world(&app).await;
    app.project("other").await;
    app.environment("other", "staging", &admin).await;
    let p = Prometheus::start("remote-read", "global:\n  scrape_interval: 15s\n").await;
    let now = berth_core::now_ms() / 1000 * 1000;
    let base = now - (POINTS - 1) * STEP_MS;
    feed(
        &p,
        &[
            series("shop", "staging", base, 0.0),
            series("other", "staging", base, 1000.0),
            // The same project's other environment, not read by staging.
            series("shop", "prod", base, 500.0),
        ],
    )
    .await;
    let read = format!("{}/api/v1/read", p.url);
    set_read_url(&app, &admin, "shop", &read).await;
    set_read_url(&app, &admin, "other", &read).await;
    app.user("vera", InstanceRole::User).await;
    app.member("shop", "vera", Role::Viewer).await;
    let vera = app.token("vera", Scope::Read).await;
    (app, admin, vera, p, base)
}

#[tokio::test]
async fn a_viewer_reads_its_projects_series_from_the_remote_store_and_no_others() {
    let (app, admin, vera, _p, base) = two_projects().await;
    let last = base + (POINTS - 1) * STEP_MS;
    let at = |expr: &str| format!("{}&time={}", q(expr), last as f64 / 1000.0);

    let (s, _, body) = prom(&app, &at("rr_requests_total"), &vera).await;
    assert_eq!(s, 200, "{body}");
    let result = body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(result.len(), 1, "{body}");
    assert_eq!(result[0]["metric"]["project"], "shop");
    assert_eq!(result[0]["metric"]["environment"], "staging");
    assert_eq!(result[0]["value"][1], "39", "{body}");

    // A range, and an expression over it.
    let range = |expr: &str| {
        format!(
            "/query_range?query={}&start={}&end={}&step=15",
            urlencode(expr),
            (base + 20 * STEP_MS) as f64 / 1000.0,
            last as f64 / 1000.0
        )
    };
    let (s, _, body) = prom(&app, &range("rr_requests_total"), &vera).await;
    assert_eq!(s, 200, "{body}");
    let result = body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(result.len(), 1, "{body}");
    let want: Vec<f64> = (20..POINTS).map(|i| i as f64).collect();
    assert_eq!(values(&result[0]), want, "{body}");
    let (s, _, body) = prom(&app, &range("sum(rate(rr_requests_total[1m]))"), &vera).await;
    assert_eq!(s, 200, "{body}");
    let rates = values(&body["data"]["result"][0]);
    assert!(
        !rates.is_empty() && rates.iter().all(|r| (r - 1.0 / 15.0).abs() < 1e-9),
        "{body}"
    );

    // Never the other project's, whatever the expression or endpoint says.
    for path in [
        at(r#"rr_requests_total{project="other"}"#),
        at(r#"{__name__=~"rr_.+", project=~".+"}"#),
        at("count(rr_requests_total) + sum(rr_requests_total)"),
        range(r#"{project="other"}"#),
        format!("/series?match[]={}", urlencode("rr_requests_total")),
        "/label/project/values".to_string(),
        "/label/environment/values".to_string(),
        "/labels".to_string(),
        format!(
            "/projects/shop/prometheus/api/v1{}",
            at("rr_requests_total")
        ),
    ] {
        let (s, _, body) = prom(&app, &path, &vera).await;
        assert_eq!(s, 200, "{path}: {body}");
        let text = body.to_string();
        assert!(
            !text.contains("other") && !text.contains("prod"),
            "{path} leaked: {text}"
        );
        assert!(!text.contains("1039"), "{path} leaked a value: {text}");
    }
    let (_, _, body) = prom(
        &app,
        &at("count(rr_requests_total) + sum(rr_requests_total)"),
        &vera,
    )
    .await;
    assert_eq!(body["data"]["result"][0]["value"][1], "40", "{body}");
    // The series and label endpoints list the remote series.
    let (_, _, body) = prom(
        &app,
        &format!("/series?match[]={}", urlencode("rr_requests_total")),
        &vera,
    )
    .await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body["data"][0]["project"], "shop", "{body}");
    let (_, _, body) = prom(&app, "/label/project/values", &vera).await;
    assert_eq!(body["data"], json!(["shop"]));

    // The other project's own API is not hers; the admin sees both projects' staging.
    let (s, _, _) = prom(
        &app,
        &format!(
            "/projects/other/prometheus/api/v1{}",
            at("rr_requests_total")
        ),
        &vera,
    )
    .await;
    assert!(matches!(s, 403 | 404), "{s}");
    let (s, _, body) = prom(&app, &at("sort(rr_requests_total)"), &admin).await;
    assert_eq!(s, 200, "{body}");
    let got: Vec<(String, String)> = body["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["metric"]["project"].to_string(),
                r["value"][1].to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("\"shop\"".into(), "\"39\"".into()),
            ("\"other\"".into(), "\"1039\"".into())
        ],
        "{body}"
    );
}

#[tokio::test]
async fn a_failing_store_is_unavailable_and_keeps_its_token() {
    let (app, admin, vera, p, base) = two_projects().await;
    let last = (base + (POINTS - 1) * STEP_MS) as f64 / 1000.0;
    let path = format!("{}&time={last}", q("rr_requests_total"));
    // The store answers an error; then it is gone altogether.
    let token = "rr-s3cret-token-5150";
    for url in [
        format!("{}/api/v1/nothing-here/read?token={token}", p.url),
        format!("http://127.0.0.1:1/api/v1/read?token={token}"),
    ] {
        set_read_url(&app, &admin, "shop", &url).await;
        let (s, _, body) = prom(&app, &path, &vera).await;
        assert_eq!(s, 503, "{url}: {body}");
        assert_eq!(body["errorType"], "unavailable", "{body}");
        let text = body.to_string();
        assert!(text.contains("remote read"), "{text}");
        assert!(!text.contains(token), "the token leaked: {text}");
        let (s, _, body) = prom(&app, "/labels", &vera).await;
        assert_eq!(s, 503, "{body}");
    }
    // Back to a working store, the answer is back.
    set_read_url(&app, &admin, "shop", &format!("{}/api/v1/read", p.url)).await;
    let (s, _, body) = prom(&app, &path, &vera).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["result"][0]["value"][1], "39", "{body}");
}

/// Prometheus's answer to an instant query at `t` (seconds), straight from the store.
async fn ask_store(p: &Prometheus, expr: &str, t: f64) -> Value {
    let url = format!("{}/api/v1/query?query={}&time={t}", p.url, urlencode(expr));
    let res = reqwest::get(url).await.expect("query prometheus");
    res.json().await.expect("prometheus json")
}

/// An environment that remote-writes to the store it reads from: every sample is in both,
/// and counts once.
#[tokio::test]
async fn a_sample_in_both_stores_counts_once() {
    let app = spawn().await;
    let admin = world(&app).await;
    let p = Prometheus::start("remote-read-both", "global:\n  scrape_interval: 15s\n").await;
    let ex = super::exporter::Exporter::counting(Default::default()).await;
    let (s, b) = super::add_target(
        &app,
        &admin,
        "shop",
        json!({"job_name": "app", "address": ex.address(), "interval_ms": 1000, "timeout_ms": 900}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = app
        .api(
            Method::PUT,
            "/projects/shop/environments/staging/metrics/settings",
            Some(&admin),
            Some(json!({"interval_ms": 1000, "timeout_ms": 900,
                        "remote_write_url": format!("{}/api/v1/write", p.url),
                        "remote_read_url": format!("{}/api/v1/read", p.url)})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Wait until the store holds a 20 s window of scrapes, sent by remote write.
    let expr = r#"count_over_time(up{job="app"}[20s])"#;
    let mut t = 0.0;
    let mut stored = 0.0;
    for _ in 0..150 {
        t = (berth_core::now_ms() - 6_000) as f64 / 1000.0;
        let answer = ask_store(&p, expr, t).await;
        stored = answer["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        if stored >= 15.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(stored >= 15.0, "the store never held 15 scrapes: {stored}");
    let (s, _, body) = prom(&app, &format!("{}&time={t}", q(expr)), &admin).await;
    assert_eq!(s, 200, "{body}");
    let result = body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(result.len(), 1, "one series, not one per store: {body}");
    assert_eq!(
        result[0]["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok()),
        Some(stored),
        "each scrape once: {body}"
    );
}

/// `cargo test -p server --features app/ssr,stack/engine --test api --release
/// remote_read_timing -- --ignored --nocapture`: an instant and a range query answered from
/// the store through Berth, against the store asked directly (medians of 100).
#[tokio::test]
#[ignore]
async fn remote_read_timing() {
    let (app, _admin, vera, p, base) = two_projects().await;
    let last = (base + (POINTS - 1) * STEP_MS) as f64 / 1000.0;
    let first = (base + STEP_MS) as f64 / 1000.0;
    let paths = [
        format!("/query?query=rr_requests_total&time={last}"),
        format!(
            "/query_range?query={}&start={first}&end={last}&step=15",
            urlencode("sum(rate(rr_requests_total[1m]))")
        ),
    ];
    let c = reqwest::Client::new();
    for path in &paths {
        let mut berth = Vec::new();
        let mut store = Vec::new();
        for _ in 0..100 {
            let t = std::time::Instant::now();
            let (s, _, _) = prom(&app, path, &vera).await;
            assert_eq!(s, 200);
            berth.push(t.elapsed());
            let t = std::time::Instant::now();
            let res = c.get(format!("{}/api/v1{path}", p.url)).send().await;
            assert!(res.is_ok_and(|r| r.status().is_success()));
            store.push(t.elapsed());
        }
        berth.sort();
        store.sort();
        eprintln!(
            "{path}: through Berth p50 {:?}, the store directly p50 {:?}",
            berth[50], store[50]
        );
    }
}
