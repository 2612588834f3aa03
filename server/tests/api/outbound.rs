//! Where a maintainer's scrape targets may point: not at cloud metadata, not at Berth's own
//! loopback unless the operator allows it, and not there through a redirect either.
use super::support::{plain, spawn, spawn_with, TestApp};
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A maintainer's token for project `shop` with environment `staging`.
async fn maintainer(app: &TestApp) -> String {
    app.user("root", InstanceRole::Admin).await;
    let admin = app.token("root", Scope::Write).await;
    app.project("shop").await;
    app.environment("shop", "staging", &admin).await;
    app.user("mia", InstanceRole::User).await;
    app.member("shop", "mia", Role::Maintainer).await;
    app.token("mia", Scope::Write).await
}

async fn add(app: &TestApp, token: &str, address: &str) -> (u16, Value) {
    app.api(
        Method::POST,
        "/projects/shop/environments/staging/metrics/targets",
        Some(token),
        Some(json!({"job_name": "x", "address": address})),
    )
    .await
}

#[tokio::test]
async fn metadata_and_loopback_targets_are_refused_by_default() {
    let app = spawn_with(|c| c.metrics_allow_loopback = false).await;
    let mia = maintainer(&app).await;
    for (address, says) in [
        ("169.254.169.254:80", "link-local"),
        ("[fe80::1]:9100", "link-local"),
        ("0.0.0.0:9100", "unspecified"),
        ("127.0.0.1:9100", "BERTH_METRICS_ALLOW_LOOPBACK"),
        ("[::1]:9100", "loopback"),
        ("localhost:2375", "loopback"),
    ] {
        let (s, body) = add(&app, &mia, address).await;
        assert_eq!(s, 422, "{address}: {body}");
        assert!(body.to_string().contains(says), "{address}: {body}");
    }
    // Names of other machines and private addresses (Docker networks) are fine.
    for address in ["app1:8000", "10.1.2.3:9100", "172.17.0.2:9100"] {
        let (s, body) = add(&app, &mia, address).await;
        assert_eq!(s, 201, "{address}: {body}");
    }
    // The same rule holds for what a prometheus.yml brings in.
    let yaml = "scrape_configs:\n  - job_name: meta\n    static_configs:\n      \
                - targets: ['169.254.169.254:80']\n";
    let res = plain()
        .post(format!(
            "{}/api/v1/projects/shop/environments/staging/metrics/import",
            app.url
        ))
        .bearer_auth(&mia)
        .header("content-type", "application/yaml")
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("link-local"), "{body}");
}

#[tokio::test]
async fn remote_write_and_read_urls_follow_the_same_rule() {
    let app = spawn_with(|c| c.metrics_allow_loopback = false).await;
    let mia = maintainer(&app).await;
    let settings = "/projects/shop/environments/staging/metrics/settings";
    for (field, url, says) in [
        (
            "remote_write_url",
            "http://169.254.169.254/api/v1/write",
            "link-local",
        ),
        (
            "remote_read_url",
            "http://[fe80::1]:9090/api/v1/read",
            "link-local",
        ),
        (
            "remote_write_url",
            "http://127.0.0.1:9090/api/v1/write",
            "loopback",
        ),
        (
            "remote_read_url",
            "http://localhost:9090/api/v1/read",
            "loopback",
        ),
        // Only the protocol's endpoint, not another path of a shared store.
        (
            "remote_write_url",
            "http://vm.example.com:8428/api/v1/admin/tsdb/delete_series?match[]=up",
            "endpoint",
        ),
        (
            "remote_read_url",
            "http://prom.example.com/api/v1/query",
            "endpoint",
        ),
    ] {
        let body = json!({"scrape_replicas": true, "interval_ms": 15000, "timeout_ms": 10000,
                          "retention_raw_days": 15, "retention_rollup_days": 90,
                          field: url});
        let (s, b) = app.api(Method::PUT, settings, Some(&mia), Some(body)).await;
        assert_eq!(s, 422, "{url}: {b}");
        assert!(b.to_string().contains(field), "{url}: {b}");
        assert!(b.to_string().contains(says), "{url}: {b}");
    }
    let body = json!({"scrape_replicas": true, "interval_ms": 15000, "timeout_ms": 10000,
                      "retention_raw_days": 15, "retention_rollup_days": 90,
                      "remote_write_url": "https://mimir.example.com/api/v1/push",
                      "remote_read_url": "http://10.0.0.7:9090/api/v1/read"});
    let (s, b) = app.api(Method::PUT, settings, Some(&mia), Some(body)).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn a_target_redirecting_to_metadata_is_not_followed_there() {
    // Loopback allowed (the test's exporter listens there); the redirect's hop is checked.
    let app = spawn().await;
    let mia = maintainer(&app).await;
    let followed = Arc::new(AtomicU64::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = followed.clone();
    let router = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::FOUND,
                    [("location", "http://169.254.169.254/latest/meta-data/")],
                )
            }),
        )
        .route(
            "/hop",
            axum::routing::get(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                async { "x 1\n" }
            }),
        );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let (s, body) = app
        .api(
            Method::POST,
            "/projects/shop/environments/staging/metrics/targets",
            Some(&mia),
            Some(json!({"job_name": "redir", "address": addr.to_string(),
                        "interval_ms": 1000, "timeout_ms": 1000})),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let mut last = Value::Null;
    let mut error = String::new();
    for _ in 0..100 {
        let (_, list) = app
            .api(
                Method::GET,
                "/projects/shop/environments/staging/metrics/targets",
                Some(&mia),
                None,
            )
            .await;
        if let Some(t) = list
            .as_array()
            .and_then(|l| l.iter().find(|t| t["job"] == "redir"))
        {
            if let Some(e) = t["last_error"].as_str().filter(|e| !e.is_empty()) {
                assert_eq!(t["health"], "down", "{t}");
                error = e.to_string();
                break;
            }
        }
        last = list;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        error.contains("link-local"),
        "the redirect was refused with a reason: {error:?} {last}"
    );
    server.abort();
}

#[tokio::test]
async fn a_viewer_posting_a_bad_target_body_is_refused_before_it_is_parsed() {
    let app = spawn().await;
    let _mia = maintainer(&app).await;
    app.user("vera", InstanceRole::User).await;
    app.member("shop", "vera", Role::Viewer).await;
    let vera = app.token("vera", Scope::Write).await;
    for body in [
        "{\"job_name\": 7}",
        "not json",
        "{\"job_name\": \"x\", \"address\": \"a:1\", \"interval_ms\": \"soon\"}",
    ] {
        let res = plain()
            .post(format!(
                "{}/api/v1/projects/shop/environments/staging/metrics/targets",
                app.url
            ))
            .bearer_auth(&vera)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, 403, "{body}: {text}");
        assert!(
            !text.contains("job_name") && !text.contains("interval"),
            "{text}"
        );
    }
}
