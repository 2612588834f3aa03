//! A one-shot service (a migration) runs to completion before what depends on it, is not run
//! again when nothing changed, and a failing one fails the deploy with the app left serving.
use super::stage::{log_text, status, web_service, Stage};
use super::stateful::put_service;
use serde_json::json;

/// `depends_on: {setup: {condition: service_completed_successfully}}`: the one-shot `setup`
/// runs to completion (exit 0) before `web` starts, is not restarted, and an unchanged deploy
/// does not run it again; a failing one stops the deploy before `web` changes.
#[tokio::test]
async fn a_one_shot_service_completes_before_what_depends_on_it() {
    let s = Stage::new("d-once").await;
    let setup = json!({
        "name": "setup",
        "image": "berth-demo:${IMAGE_TAG}",
        "replicas": 1,
        "command": ["migrate"],
    });
    put_service(&s, "setup", setup.clone()).await;
    let mut w = web_service(1);
    w["depends_on"] =
        json!([{ "service": "setup", "condition": "service_completed_successfully" }]);
    put_service(&s, "web", w).await;
    let d = s.deploy_and_wait(json!({})).await;
    let log = log_text(&d);
    assert_eq!(status(&d), "succeeded", "{log}");
    let pos = |needle: &str| {
        log.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {log}"))
    };
    assert!(pos("-setup-r1-0-d") < pos("-web-r1-0-d"), "{log}");
    assert!(log.contains("completed with exit code 0"), "{log}");
    let rt = s.runtime().await;
    let states: Vec<(&str, &str)> = rt["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["service"].as_str().unwrap(), c["state"].as_str().unwrap()))
        .collect();
    assert!(states.contains(&("setup", "exited")), "{rt}");
    s.assert_serving("v1").await;

    let d2 = s
        .deploy_and_wait(json!({"reason": "nothing changed"}))
        .await;
    let log2 = log_text(&d2);
    assert_eq!(status(&d2), "succeeded", "{log2}");
    assert!(log2.contains("setup (rolling): unchanged"), "{log2}");
    assert!(!log2.contains("-setup-r2-"), "setup ran again: {log2}");

    // A one-shot that fails: the deploy fails and web stays as it was.
    let mut bad = setup;
    bad["env"] = json!({ "DEMO_MIGRATE_FAIL": "1" });
    put_service(&s, "setup", bad).await;
    let d3 = s.deploy_and_wait(json!({"reason": "failing setup"})).await;
    let log3 = log_text(&d3);
    assert_ne!(status(&d3), "succeeded", "{log3}");
    assert!(log3.contains("setup"), "{log3}");
    s.assert_serving("v1").await;
}
