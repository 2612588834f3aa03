//! Queries run in a bounded number of slots (`BERTH_METRICS_MAX_QUERIES`): while every slot
//! is taken a query waits for one. (Past the query timeout, 30 s, it is answered
//! `503 unavailable`: a core unit test.)
use super::super::support::spawn_with;
use super::{prom, q, world};
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

/// A remote read store that answers an error after `delay`.
async fn slow_store(delay: Duration) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/api/v1/read",
        listener.local_addr().expect("addr")
    );
    let router = axum::Router::new().route(
        "/api/v1/read",
        axum::routing::post(move || async move {
            tokio::time::sleep(delay).await;
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "slow and failing",
            )
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, task)
}

#[tokio::test]
async fn a_query_waits_while_every_slot_is_taken() {
    let app = spawn_with(|c| c.metrics_max_queries = 1).await;
    let admin = world(&app).await;
    app.project("other").await;
    app.environment("other", "staging", &admin).await;
    let (url, store) = slow_store(Duration::from_millis(1_500)).await;
    let (s, b) = app
        .api(
            Method::PUT,
            "/projects/shop/environments/staging/metrics/settings",
            Some(&admin),
            Some(json!({ "remote_read_url": url })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // One query holds the only slot while shop's store takes its time.
    let slow = {
        let (url, admin) = (app.url.clone(), admin.clone());
        tokio::spawn(async move {
            let res = reqwest::Client::new()
                .get(format!(
                    "{url}/api/v1/projects/shop/prometheus/api/v1/query?query=up"
                ))
                .bearer_auth(admin)
                .send()
                .await
                .expect("slow query");
            res.status().as_u16()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A query about the other project (no store) waits for that slot.
    let began = Instant::now();
    let (s, _, body) = prom(
        &app,
        &format!("/projects/other/prometheus/api/v1{}", q("vector(1)")),
        &admin,
    )
    .await;
    let waited = began.elapsed();
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["result"][0]["value"][1], "1", "{body}");
    assert!(
        waited >= Duration::from_millis(900),
        "answered while the only slot was taken: {waited:?}"
    );
    assert_eq!(slow.await.unwrap(), 503, "the failing store's query");
    store.abort();
}
