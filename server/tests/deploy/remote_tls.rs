//! Deploys through a remote-style Docker engine that only speaks TLS with client
//! certificates (a second `dockerd` started by the test): the demo deploys with the three
//! `DOCKER_TLS_*` secrets, is refused by name once one is deleted, and a CA that did not sign
//! the engine's certificate is refused with a clear error.
use super::stage::{log_text, status, Stage};
use super::tls_engine::TlsEngine;
use reqwest::Method;
use serde_json::{json, Value};

/// A stage whose environment points at `engine` with its client material as secrets.
async fn remote_stage(name: &str, engine: &TlsEngine) -> Stage {
    engine.load_image("berth-demo:v1");
    let s = Stage::new(name).await;
    let (code, b) = s
        .call(
            Method::PATCH,
            &s.env_path(""),
            json!({"docker_host": engine.host()}),
        )
        .await;
    assert_eq!(code, 200, "{b}");
    let tls = engine.certs.client_material();
    s.set_var("DOCKER_TLS_CA_CERT", &tls.ca_pem, true).await;
    s.set_var("DOCKER_TLS_CLIENT_CERT", &tls.cert_pem, true)
        .await;
    s.set_var("DOCKER_TLS_CLIENT_KEY", &tls.key_pem, true).await;
    let view = s.get(&s.env_path("")).await;
    assert_eq!(view["docker_tls_missing"], json!([]), "{view}");
    assert_eq!(view["docker_insecure"], false);
    s
}

fn cause(detail: &Value) -> String {
    detail["deploy"]["cause"].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn the_demo_deploys_through_a_tls_engine_and_a_deleted_tls_secret_refuses_the_next_deploy() {
    let engine = TlsEngine::start().await;
    let s = remote_stage("tls-remote", &engine).await;

    let d = s.deploy_and_wait(json!({"reason": "over TLS"})).await;
    assert_eq!(
        status(&d),
        "succeeded",
        "{}\ndockerd:\n{}",
        log_text(&d),
        engine.log_tail()
    );
    s.assert_serving("v1").await;
    let label = format!("berth.project={}", s.project);
    let on_remote = engine.containers(&label);
    assert_eq!(
        on_remote.len(),
        2,
        "the containers run on the TLS engine: {on_remote:?}"
    );
    assert!(
        super::fixture::containers(&s.project, &s.env).is_empty(),
        "nothing of this project runs on the main engine"
    );
    let key = engine.certs.client_material().key_pem;
    assert!(
        !log_text(&d).contains(key.trim()),
        "the client key in the deploy log"
    );

    let (code, b) = s
        .call(
            Method::DELETE,
            &s.env_path("/variables/DOCKER_TLS_CLIENT_KEY"),
            Value::Null,
        )
        .await;
    assert!(code < 300, "{code} {b}");
    let d = s.deploy_and_wait(json!({"reason": "no key"})).await;
    assert_eq!(status(&d), "failed", "{}", log_text(&d));
    let why = cause(&d);
    assert!(why.contains("DOCKER_TLS_CLIENT_KEY"), "{why}");
    assert!(!why.contains("DOCKER_TLS_CA_CERT"), "{why}");
    // The refused deploy touched nothing: the release keeps serving.
    s.assert_serving("v1").await;
    assert_eq!(engine.containers(&label).len(), 2);
}

#[tokio::test]
async fn a_ca_that_did_not_sign_the_engine_certificate_is_refused() {
    let engine = TlsEngine::start().await;
    let s = remote_stage("tls-wrong-ca", &engine).await;
    let other = engine.certs.other_ca();
    s.set_var("DOCKER_TLS_CA_CERT", &other, true).await;

    let d = s.deploy_and_wait(json!({"reason": "wrong CA"})).await;
    assert_eq!(status(&d), "failed", "{}", log_text(&d));
    let why = cause(&d);
    assert!(why.contains(&engine.host()), "names the engine: {why}");
    assert!(
        why.contains("not signed by the CA"),
        "says the engine's certificate was not trusted: {why}"
    );
    assert!(!why.contains("BEGIN"), "no PEM in the cause: {why}");
    assert!(engine
        .containers(&format!("berth.project={}", s.project))
        .is_empty());
}

/// `systemctl restart docker`, on an engine of the test's own: the services with a restart
/// policy come back by themselves (same containers), a `restart: no` one stays down, Berth's
/// view shows exactly that, and the next deploy finds nothing to change.
#[tokio::test]
async fn after_an_engine_restart_the_stack_comes_back_and_berth_agrees() {
    let mut engine = TlsEngine::start().await;
    let s = remote_stage("tls-restart", &engine).await;
    let mut once = super::stage::web_service(1);
    once["name"] = json!("once");
    once["restart"] = json!("no");
    once["pre_deploy"] = json!([]);
    let (code, b) = s
        .call(Method::PUT, &s.env_path("/services/once"), once)
        .await;
    assert!(code < 300, "{b}");
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let running = |rt: &Value, service: &str| -> Vec<String> {
        rt["containers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["service"] == service && c["state"] == "running")
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let before = s.runtime().await;
    let web = running(&before, "web");
    assert_eq!(web.len(), 2, "{before}");
    assert_eq!(running(&before, "once").len(), 1, "{before}");

    engine.restart().await;
    let t0 = std::time::Instant::now();
    let after = loop {
        let rt = s.runtime().await;
        if running(&rt, "web").len() == 2 {
            break rt;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(60),
            "web did not come back: {rt}\n{}",
            engine.log_tail()
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let mut again = running(&after, "web");
    again.sort();
    let mut web_sorted = web.clone();
    web_sorted.sort();
    assert_eq!(again, web_sorted, "the same containers came back");
    assert!(
        running(&after, "once").is_empty(),
        "restart: no stays down: {after}"
    );
    let once_state: Vec<&str> = after["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["service"] == "once")
        .map(|c| c["state"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(once_state, vec!["exited"], "{after}");

    // The next deploy: web unchanged and kept; `once` is started again (it is down).
    let d = s
        .deploy_and_wait(json!({"reason": "after the restart"}))
        .await;
    let log = log_text(&d);
    assert_eq!(status(&d), "succeeded", "{log}");
    assert!(log.contains("web (rolling): unchanged"), "{log}");
    let mut kept = running(&s.runtime().await, "web");
    kept.sort();
    assert_eq!(kept, web_sorted);
}
