//! Metrics of what a deploy runs: every replica of the demo service is scraped (with its
//! project, environment, service, replica and release), its container's CPU, memory and
//! network come from the Docker engine, and a replica that a scale-down removes drops out.
use super::stage::{log_text, status, Stage};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// The instant query `expr` through the project's Prometheus API, once it has `n` samples.
async fn until_n(s: &Stage, expr: &str, n: usize) -> Vec<Value> {
    let path = format!("/projects/{}/prometheus/api/v1/query", s.project);
    let mut last = Value::Null;
    for _ in 0..150 {
        let res = super::support::plain()
            .get(format!("{}/api/v1{path}", s.app.url))
            .query(&[("query", expr)])
            .bearer_auth(&s.token)
            .send()
            .await
            .expect("query");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if let Some(list) = body["data"]["result"].as_array() {
            if list.len() == n {
                return list.clone();
            }
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{expr} never had {n} samples; last answer {last}");
}

#[tokio::test]
async fn replicas_and_their_containers_are_scraped_and_follow_the_deploys() {
    let s = Stage::new("d-met").await;
    let (code, b) = s
        .call(
            Method::PUT,
            &s.env_path("/metrics/settings"),
            json!({"scrape_replicas": true, "interval_ms": 1000, "timeout_ms": 900,
                   "retention_raw_days": 15, "retention_rollup_days": 90}),
        )
        .await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(status(&s.deploy_and_wait(json!({})).await), "succeeded");
    let up = until_n(&s, r#"up{service="web"} == 1"#, 2).await;
    let mut replicas: Vec<&str> = up
        .iter()
        .map(|v| v["metric"]["replica"].as_str().unwrap_or(""))
        .collect();
    replicas.sort();
    assert_eq!(replicas, ["0", "1"], "{up:?}");
    for v in &up {
        let m = &v["metric"];
        assert_eq!(m["project"], s.project.as_str());
        assert_eq!(m["environment"], "staging");
        assert_eq!(m["job"], "web");
        assert_eq!(m["release"], "1");
    }
    // What the demo app exports, with the replica's labels.
    let requests = until_n(
        &s,
        r#"count by (replica) (django_requests_total{service="web"})"#,
        2,
    )
    .await;
    assert_eq!(requests.len(), 2);
    // The containers, from the Docker engine, under cAdvisor's names.
    let cpu = until_n(&s, r#"container_cpu_usage_seconds_total{service="web"}"#, 2).await;
    assert!(
        cpu.iter().all(|v| v["metric"]["job"] == "docker"),
        "{cpu:?}"
    );
    let mem = until_n(
        &s,
        r#"container_memory_working_set_bytes{service="web"} > 0"#,
        2,
    )
    .await;
    assert_eq!(mem.len(), 2);
    // The targets list shows both replicas up.
    let (code, list) = s
        .call(Method::GET, &s.env_path("/metrics/targets"), Value::Null)
        .await;
    assert_eq!(code, 200);
    let web: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["job"] == "web")
        .collect();
    assert_eq!(web.len(), 2, "{list}");
    assert!(web.iter().all(|t| t["kind"] == "replica"), "{list}");

    // Down to one replica: the other one's series end.
    let (code, b) = s
        .call(
            Method::POST,
            &s.env_path("/scale"),
            json!({"replicas": {"web": 1}}),
        )
        .await;
    assert_eq!(code, 202, "{b}");
    let d = s.wait(b["id"].as_i64().unwrap()).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let up = until_n(&s, r#"up{service="web"}"#, 1).await;
    assert_eq!(up[0]["value"][1], "1", "{up:?}");
}
