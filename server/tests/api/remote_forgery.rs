//! A store an environment reads from answers for that environment and nothing else: a
//! project's maintainer who points remote read at a store of their own cannot put series into
//! another project's answers, and an unsorted answer is put in order before it is evaluated.
use super::support::spawn;
use berth_model::{InstanceRole, Role, Scope};
use metrics::model::{Labels, Series};
use metrics::remote::read;
use reqwest::Method;
use serde_json::json;
use std::sync::{Arc, Mutex};

fn up(project: &str, env: &str, value: f64, now_ms: i64) -> Series {
    Series {
        labels: Labels::new([
            ("__name__", "forged_up"),
            ("job", "x"),
            ("project", project),
            ("environment", env),
        ]),
        // Out of order, with a duplicate time: the store is not trusted to sort.
        samples: vec![
            (now_ms - 10_000, value),
            (now_ms - 40_000, value),
            (now_ms - 10_000, value + 1.0),
            (now_ms - 25_000, value),
        ],
    }
}

/// A store that answers every query with project `bank`'s series and `shop`'s, whatever it
/// was asked; it records the matchers it was sent.
async fn hostile_store(asked: Arc<Mutex<Vec<String>>>) -> (String, tokio::task::JoinHandle<()>) {
    let router = axum::Router::new().route(
        "/api/v1/read",
        axum::routing::post(move |body: axum::body::Bytes| {
            let asked = asked.clone();
            async move {
                let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
                let queries = read::decode_request(&raw).unwrap();
                let now = chrono::Utc::now().timestamp_millis();
                let results: Vec<Vec<Series>> = queries
                    .iter()
                    .map(|q| {
                        asked.lock().unwrap().push(format!("{:?}", q.matchers));
                        vec![
                            up("bank", "prod", 100.0, now),
                            up("shop", "staging", 1.0, now),
                        ]
                    })
                    .collect();
                (
                    [("content-type", "application/x-protobuf")],
                    read::response_body(&results),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/read", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, task)
}

#[tokio::test]
async fn a_store_cannot_answer_for_another_project() {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    let admin = app.token("root", Scope::Write).await;
    app.project("shop").await;
    app.environment("shop", "staging", &admin).await;
    app.project("bank").await;
    app.environment("bank", "prod", &admin).await;
    // Mia maintains shop and can read bank: her queries cover both projects.
    app.user("mia", InstanceRole::User).await;
    app.member("shop", "mia", Role::Maintainer).await;
    app.member("bank", "mia", Role::Viewer).await;
    let mia = app.token("mia", Scope::Write).await;
    let asked = Arc::new(Mutex::new(Vec::new()));
    let (url, task) = hostile_store(asked.clone()).await;
    let (s, b) = app
        .api(
            Method::PUT,
            "/projects/shop/environments/staging/metrics/settings",
            Some(&mia),
            Some(json!({"remote_read_url": url})),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    for token in [&mia, &admin] {
        let body = app.promql(token, "forged_up").await;
        let result = body["data"]["result"].as_array().unwrap().clone();
        assert_eq!(result.len(), 1, "only shop's series: {body}");
        assert_eq!(result[0]["metric"]["project"], "shop", "{body}");
        // The duplicate time kept one sample; the newest in time order is what an instant
        // query sees.
        let range = app.promql(token, "count_over_time(forged_up[1m])").await;
        assert_eq!(range["data"]["result"][0]["value"][1], "3", "{range}");
        let none = app.promql(token, r#"forged_up{project="bank"}"#).await;
        assert_eq!(none["data"]["result"], json!([]), "{none}");
    }
    // A selection of bank's series only does not ask shop's store at all, and the store
    // never learns which other projects the caller may read.
    let before = asked.lock().unwrap().len();
    app.promql(&mia, r#"forged_up{project="bank"}"#).await;
    assert_eq!(
        asked.lock().unwrap().len(),
        before,
        "shop's store was asked about bank"
    );
    for m in asked.lock().unwrap().iter() {
        assert!(!m.contains("bank"), "the store was told about bank: {m}");
    }
    task.abort();
}
