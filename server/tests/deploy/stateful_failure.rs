//! A recreate that fails: the old database comes back on its data, and at no moment do two
//! postgres containers run, whether a deploy or "replace now" started it.
use super::stage::{log_text, status, Stage};
use super::stateful::{container_of, postgres, postgres_processes, psql, put_service, stage};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Waits for deploy `id`, polling how many postgres containers run; (detail, most seen).
async fn watch(s: &Stage, id: i64) -> (Value, usize) {
    let t0 = Instant::now();
    let mut most = 0;
    loop {
        most = most.max(postgres_processes(&s.project));
        let d = s.get(&format!("/deploys/{id}")).await;
        if !matches!(d["deploy"]["status"].as_str(), Some("queued" | "running")) {
            return (d, most);
        }
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "deploy still running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_failed_recreate_brings_the_old_database_back_on_its_data() {
    let (s, volume) = stage("d-pgfail").await;
    let mut pg = postgres(&volume.0, &[]);
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let before = container_of(&s, "postgres").await;
    psql(&before.0, "CREATE TABLE kept (v text)");
    psql(&before.0, "INSERT INTO kept VALUES ('still here')");

    // A setting PostgreSQL refuses: the new container exits at start.
    pg["command"] = json!(["berth-postgres", "-c", "no_such_setting=1"]);
    put_service(&s, "postgres", pg.clone()).await;
    let id = s.deploy(json!({"reason": "broken setting"})).await;
    let (d, most) = watch(&s, id).await;
    let log = log_text(&d);
    assert_eq!(status(&d), "rolled_back", "{log}");
    assert_eq!(most, 1, "two postgres containers ran at once: {log}");
    let back = container_of(&s, "postgres").await;
    assert_eq!(psql(&back.0, "SELECT v FROM kept"), "still here");
    assert_eq!(s.runtime().await["current_release"], 1);
    s.assert_serving("v1").await;

    // The same through "replace now" of a manual service.
    pg["command"] = json!(["berth-postgres"]);
    pg["update"] = json!("manual");
    put_service(&s, "postgres", pg.clone()).await;
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    pg["command"] = json!(["berth-postgres", "-c", "no_such_setting=1"]);
    put_service(&s, "postgres", pg).await;
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let (code, b) = s
        .call(
            Method::POST,
            &s.env_path("/services/postgres/replace"),
            json!({"reason": "apply the broken setting"}),
        )
        .await;
    assert_eq!(code, 202, "{b}");
    let (d, most) = watch(&s, b["id"].as_i64().unwrap()).await;
    let log = log_text(&d);
    assert_ne!(status(&d), "succeeded", "{log}");
    assert_eq!(most, 1, "two postgres containers ran at once: {log}");
    let back = container_of(&s, "postgres").await;
    assert_eq!(psql(&back.0, "SELECT v FROM kept"), "still here");
    assert_eq!(psql(&back.0, "SHOW work_mem"), "4MB");
}
