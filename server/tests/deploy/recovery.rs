//! Berth killed in the middle of a rolling update, then restarted: the deploy is marked
//! interrupted, the environment is reconciled (no orphans, the proxy on what is healthy) and
//! the sites never stop answering from the release that was current.
use super::fixture;
use super::stage::{log_text, status, Stage};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(super) struct Berth {
    child: Child,
}

impl Berth {
    pub(super) async fn start(s: &Stage, port: u16) -> Berth {
        let child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("serve")
            .env("BERTH_DATA_DIR", s.app.data_dir.path())
            .env("BERTH_DATABASE_URL", s.app.database_url())
            .env("BERTH_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start berth");
        let url = format!("http://127.0.0.1:{port}/healthz");
        for _ in 0..200 {
            if reqwest::get(&url).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Berth { child }
    }

    pub(super) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn killed_during_the_rolling_step_then_reconciled_on_restart() {
    let mut s = Stage::new("d-kill").await;
    let d1 = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d1), "succeeded", "{}", log_text(&d1));
    // From here on the `berth` binary serves the same data, so it can be killed for real.
    s.app.stop();
    let port = fixture::free_port();
    s.app.url = format!("http://127.0.0.1:{port}");
    let mut first = Berth::start(&s, port).await;
    s.set_var("IMAGE_TAG", "v2-slow", false).await;
    let id = s.deploy(json!({"reason": "to be interrupted"})).await;
    // Kill it once a release-2 container exists (started, not yet ready: it boots slowly).
    let t0 = Instant::now();
    loop {
        let c = fixture::containers(&s.project, &s.env);
        if c.iter()
            .any(|(name, release)| release == "2" && name.contains("-r2-"))
        {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "rollout never started: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill();
    assert!(
        fixture::containers(&s.project, &s.env)
            .iter()
            .any(|(_, r)| r == "2"),
        "an orphan of the half-done step is there before the restart"
    );
    s.assert_serving("v1").await;

    let _second = Berth::start(&s, port).await;
    let d = s.wait(id).await;
    assert_eq!(status(&d), "interrupted", "{}", log_text(&d));
    let t0 = Instant::now();
    let reconcile = loop {
        let list = s.get(&s.env_path("/deploys")).await;
        let r = list
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == "reconcile")
            .cloned();
        if let Some(r) = r.filter(|r| !matches!(r["status"].as_str(), Some("queued" | "running"))) {
            break r;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "no reconciliation: {list}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(reconcile["status"], "succeeded", "{reconcile}");
    let left = fixture::containers(&s.project, &s.env);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|(_, r)| r == "1"), "orphans left: {left:?}");
    s.assert_serving("v1").await;
    let actions: Vec<String> = s
        .app
        .audit_actions()
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert!(
        actions.contains(&"deploy.interrupted".to_string()),
        "{actions:?}"
    );
}
