//! The containers view (state, stats, logs, restart) and the watchdog (restart, recover,
//! alert on a JSON webhook).
use super::stage::{log_text, status, Stage, SECRET};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[tokio::test]
async fn containers_show_state_stats_and_logs_and_restart_is_audited() {
    let s = Stage::new("d-ctr").await;
    assert_eq!(status(&s.deploy_and_wait(json!({})).await), "succeeded");
    s.assert_serving("v1").await;
    let rt = s.runtime().await;
    assert_eq!(rt["engine_ok"], true, "{rt}");
    assert_eq!(rt["current_release"], 1);
    let list = rt["containers"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    for c in list {
        assert_eq!(c["state"], "running");
        assert_eq!(c["service"], "web");
        assert!(c["memory_bytes"].as_u64().unwrap_or(0) > 0, "{c}");
        assert!(c["started_at"].as_i64().is_some());
    }
    let id = list[0]["id"].as_str().unwrap();
    let logs = s
        .app
        .text(
            &s.env_path(&format!("/containers/{id}/logs?tail=50")),
            &s.token,
        )
        .await;
    assert!(logs.contains("/api/health"), "{logs}");
    assert!(!logs.contains(SECRET));
    let (code, b) = s
        .call(
            Method::POST,
            &s.env_path(&format!("/containers/{id}/restart")),
            Value::Null,
        )
        .await;
    assert_eq!(code, 204, "{b}");
    let actions: Vec<String> = s
        .app
        .audit_actions()
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert!(actions.contains(&"container.restart".to_string()));
    // Another project's container is not reachable through this environment.
    let (code, _) = s
        .call(
            Method::POST,
            &s.env_path("/containers/not-ours/stop"),
            Value::Null,
        )
        .await;
    assert_eq!(code, 404);
}

/// A JSON webhook receiver on loopback; returns its URL and what it received.
pub(super) async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got)
}

async fn wait_for(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> bool) {
    let t0 = Instant::now();
    while !f().await {
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn the_watchdog_restarts_failing_services_then_alerts_when_that_does_not_help() {
    let s = Stage::new("d-dog").await;
    let (hook, got) = receiver().await;
    assert_eq!(status(&s.deploy_and_wait(json!({})).await), "succeeded");
    let (code, b) = s
        .call(
            Method::PUT,
            &s.env_path("/watchdog"),
            json!({"enabled": true, "interval_secs": 1, "failure_threshold": 2, "webhook_url": hook}),
        )
        .await;
    assert_eq!(code, 200, "{b}");
    // Both replicas turn unhealthy: the sites fail through the proxy.
    for c in s.runtime().await["containers"].as_array().unwrap() {
        let addr = c["address"].as_str().unwrap();
        let r = super::support::plain()
            .post(format!("http://{addr}/_demo/health?state=unhealthy"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    wait_for(
        "a watchdog restart that recovers",
        Duration::from_secs(90),
        async || audit(&s).await.contains(&"watchdog.recovered".to_string()),
    )
    .await;
    let deploys = s.get(&s.env_path("/deploys")).await;
    let restart = deploys
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "restart")
        .expect("a restart deploy");
    assert_eq!(restart["trigger"], "watchdog");
    assert_eq!(restart["status"], "succeeded", "{restart}");
    assert!(audit(&s).await.contains(&"watchdog.restart".to_string()));
    s.assert_serving("v1").await;
    assert!(got
        .lock()
        .unwrap()
        .iter()
        .any(|v| v["event"] == "deploy.finished"));

    // Now the proxy itself is down: a restart cannot help, so the watchdog alerts.
    drop(
        std::process::Command::new(stack::nginx::find_nginx().unwrap())
            .args([
                "-p",
                &s.nginx.dir.path().display().to_string(),
                "-c",
                &s.nginx.dir.path().join("nginx.conf").display().to_string(),
                "-s",
                "stop",
            ])
            .output(),
    );
    wait_for("a watchdog alert", Duration::from_secs(120), async || {
        got.lock()
            .unwrap()
            .iter()
            .any(|v| v["event"] == "watchdog.alert")
    })
    .await;
    let alert = got
        .lock()
        .unwrap()
        .iter()
        .find(|v| v["event"] == "watchdog.alert")
        .cloned()
        .unwrap();
    assert_eq!(alert["environment"], "staging");
    // The watchdog notifies first and then audits the alert with whether it was delivered.
    wait_for("the audited alert", Duration::from_secs(10), async || {
        audit(&s).await.contains(&"watchdog.alert".to_string())
    })
    .await;
    let dog = s.get(&s.env_path("/watchdog")).await;
    assert!(
        dog["last_status"]
            .as_str()
            .unwrap_or("")
            .starts_with("alerted"),
        "{dog}"
    );
    let _ = log_text;
}

async fn audit(s: &Stage) -> Vec<String> {
    s.app
        .audit_actions()
        .await
        .into_iter()
        .map(|a| a.0)
        .collect()
}

/// `BUILD` of every running `web` container (its `${GIT_SHORT_SHA}`), as the engine has it.
fn builds(project: &str) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args([
            "ps",
            "-q",
            "--filter",
            &format!("label=berth.project={project}"),
            "--filter",
            "label=berth.service=web",
        ])
        .output()
        .expect("docker ps");
    let ids = String::from_utf8_lossy(&out.stdout).to_string();
    ids.split_whitespace()
        .map(|id| {
            let env = std::process::Command::new("docker")
                .args([
                    "inspect",
                    "-f",
                    "{{range .Config.Env}}{{println .}}{{end}}",
                    id,
                ])
                .output()
                .expect("docker inspect");
            String::from_utf8_lossy(&env.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("BUILD="))
                .unwrap_or("<none>")
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_redeploy_and_a_rollback_keep_the_commit_their_release_was_made_with() {
    let s = Stage::new("d-git").await;
    let mut web = super::stage::web_service(1);
    web["env"]["BUILD"] = json!("${GIT_SHORT_SHA}");
    let (code, b) = s.call(Method::PUT, &s.env_path("/services/web"), web).await;
    assert!(code < 300, "{b}");
    let first = "aaaaaaa1111111111111111111111111111111111";
    let d = s.deploy_and_wait(json!({"git_sha": first})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    assert_eq!(builds(&s.project), ["aaaaaaa"]);

    // A redeploy names no commit: its containers still run release 1's.
    let (code, b) = s
        .call(Method::POST, &s.env_path("/redeploy"), json!({}))
        .await;
    assert_eq!(code, 202, "{b}");
    let d = s.wait(b["id"].as_i64().unwrap()).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    assert_eq!(builds(&s.project), ["aaaaaaa"]);

    let d = s
        .deploy_and_wait(json!({"git_sha": "bbbbbbb2222222222222222222222222222222222"}))
        .await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    assert_eq!(builds(&s.project), ["bbbbbbb"]);

    // Back to release 1: its commit again, not the last request's (nor none).
    let (code, b) = s
        .call(
            Method::POST,
            &s.env_path("/rollback"),
            json!({"release": 1}),
        )
        .await;
    assert_eq!(code, 202, "{b}");
    let d = s.wait(b["id"].as_i64().unwrap()).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    assert_eq!(builds(&s.project), ["aaaaaaa"]);
}
