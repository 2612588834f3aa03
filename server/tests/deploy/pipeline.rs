//! Deploys on the real Docker engine behind a real nginx: v1 then v2, failures that roll
//! back, rollback / redeploy / scale, the queue and cancel, and the live log.
use super::stage::{log_text, status, step_status, Stage, SECRET};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn deploy_v1_then_v2_every_site_answers_from_v2_and_history_shows_both() {
    let s = Stage::new("d-v1v2").await;
    let d1 = s
        .deploy_and_wait(json!({"reason": "first", "git_sha": "abc123"}))
        .await;
    assert_eq!(status(&d1), "succeeded", "{}", log_text(&d1));
    for step in [
        "validate",
        "pull",
        "release",
        "pre_deploy",
        "rollout",
        "health_gate",
        "finish",
    ] {
        assert_eq!(
            step_status(&d1, step),
            "ok",
            "step {step}: {}",
            log_text(&d1)
        );
    }
    s.assert_serving("v1").await;
    assert_eq!(
        s.running().await,
        vec![(1, "web".into()), (1, "web".into())]
    );

    s.set_var("IMAGE_TAG", "v2", false).await;
    let d2 = s.deploy_and_wait(json!({"reason": "second"})).await;
    assert_eq!(status(&d2), "succeeded", "{}", log_text(&d2));
    s.assert_serving("v2").await;
    assert_eq!(
        s.running().await,
        vec![(2, "web".into()), (2, "web".into())]
    );

    // The job printed the secret; the stored log shows the mask, never the value.
    for d in [&d1, &d2] {
        let log = log_text(d);
        assert!(log.contains("using secret: ••••"), "{log}");
        assert!(!log.contains(SECRET), "secret leaked into the deploy log");
    }
    let releases = s.get(&s.env_path("/releases")).await;
    let rel = releases.as_array().expect("releases");
    assert_eq!(rel.len(), 2);
    assert_eq!(rel[0]["number"], 2);
    assert_eq!(rel[0]["current"], true);
    assert_eq!(rel[1]["git_sha"], "abc123");
    assert!(rel[0]["images"][0]["id"]
        .as_str()
        .unwrap_or("")
        .starts_with("sha256:"));
    assert_ne!(rel[0]["images"][0]["id"], rel[1]["images"][0]["id"]);

    let history = s.get(&s.env_path("/deploys")).await;
    assert_eq!(history.as_array().map(Vec::len), Some(2));
    let actions: Vec<String> = s
        .app
        .audit_actions()
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    for (action, n) in [
        ("deploy.request.deploy", 2),
        ("release.create", 2),
        ("deploy.succeeded", 2),
    ] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            n,
            "{action} in {actions:?}"
        );
    }
    // Nothing of the secret in responses or the audit log either.
    let everything = format!(
        "{history}{releases}{}{}",
        s.runtime().await,
        serde_json::to_string(&s.app.audit_actions().await).unwrap_or_default()
    );
    assert!(!everything.contains(SECRET));

    // The log as server-sent events ends with an `end` event.
    let sse = super::support::plain()
        .get(format!(
            "{}/api/v1/deploys/{}/log",
            s.app.url, d2["deploy"]["id"]
        ))
        .bearer_auth(&s.token)
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("sse")
        .text()
        .await
        .expect("sse body");
    assert!(sse.contains("event: line"), "{sse}");
    assert!(sse.contains("event: end\ndata: succeeded"), "{sse}");
    assert!(!sse.contains(SECRET));
}

#[tokio::test]
async fn a_bad_v2_never_takes_over_and_v1_keeps_serving() {
    let s = Stage::new("d-bad").await;
    let d1 = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d1), "succeeded", "{}", log_text(&d1));
    // (image, expected status, failing step, words in the cause)
    let cases = [
        ("v2-badmigrate", "failed", "pre_deploy", "exited with code"),
        (
            "v2-unhealthy",
            "rolled_back",
            "rollout",
            "did not become ready",
        ),
        ("v2-crash", "rolled_back", "rollout", "exited"),
        ("v2-badfeed", "rolled_back", "health_gate", "smoke check"),
        ("v9-missing", "failed", "pull", "v9-missing"),
    ];
    for (tag, want, step, cause) in cases {
        s.set_var("IMAGE_TAG", tag, false).await;
        let d = s.deploy_and_wait(json!({"reason": tag})).await;
        let log = log_text(&d);
        assert_eq!(status(&d), want, "{tag}: {log}");
        assert_eq!(step_status(&d, step), "failed", "{tag}: {log}");
        let c = d["deploy"]["cause"].as_str().unwrap_or("");
        assert!(c.contains(cause), "{tag}: cause {c:?}");
        if want == "rolled_back" {
            assert_eq!(step_status(&d, "rollback"), "ok", "{tag}: {log}");
        }
        s.assert_serving("v1").await;
        let running = s.running().await;
        assert!(
            running.iter().all(|(r, _)| *r == 1) && running.len() == 2,
            "{tag}: {running:?}"
        );
    }
    let releases = s.get(&s.env_path("/releases")).await;
    assert_eq!(releases[0]["current"], false);
    let current: Vec<_> = releases
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["number"], 1);
}

#[tokio::test]
async fn rollback_redeploy_and_scale_roll_like_a_deploy() {
    let s = Stage::new("d-roll").await;
    assert_eq!(status(&s.deploy_and_wait(json!({})).await), "succeeded");
    s.set_var("IMAGE_TAG", "v2", false).await;
    assert_eq!(status(&s.deploy_and_wait(json!({})).await), "succeeded");
    s.assert_serving("v2").await;

    let (code, b) = s
        .call(
            Method::POST,
            &s.env_path("/rollback"),
            json!({"release": 1, "reason": "bad v2"}),
        )
        .await;
    assert_eq!(code, 202, "{b}");
    let d = s.wait(b["id"].as_i64().unwrap()).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    s.assert_serving("v1").await;
    let releases = s.get(&s.env_path("/releases")).await;
    let current = releases
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["current"] == true)
        .unwrap();
    assert_eq!(current["number"], 1);

    let (code, b) = s
        .call(
            Method::POST,
            &s.env_path("/scale"),
            json!({"replicas": {"web": 3}}),
        )
        .await;
    assert_eq!(code, 202, "{b}");
    let d = s.wait(b["id"].as_i64().unwrap()).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let running = s.running().await;
    assert_eq!(running.len(), 3, "{running:?}");
    s.assert_serving("v1").await;
    // The configured replicas follow, so the next deploy keeps three.
    let services = s.get(&s.env_path("/services")).await;
    assert_eq!(services[0]["spec"]["replicas"], 3);

    let before: Vec<String> = container_ids(&s).await;
    let (code, b) = s
        .call(
            Method::POST,
            &s.env_path("/redeploy"),
            json!({"reason": "fresh"}),
        )
        .await;
    assert_eq!(code, 202, "{b}");
    let d = s.wait(b["id"].as_i64().unwrap()).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let after = container_ids(&s).await;
    assert_eq!(after.len(), 3);
    assert!(
        after.iter().all(|id| !before.contains(id)),
        "redeploy replaces every container"
    );

    let (code, b) = s
        .call(
            Method::POST,
            &s.env_path("/rollback"),
            json!({"release": 99}),
        )
        .await;
    assert_eq!(code, 404, "{b}");
}

async fn container_ids(s: &Stage) -> Vec<String> {
    s.runtime().await["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "running")
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn one_deploy_at_a_time_the_next_waits_and_cancel_works() {
    let s = Stage::new("d-queue").await;
    let first = s.deploy(json!({"reason": "one"})).await;
    let second = s.deploy(json!({"reason": "two", "supersede": false})).await;
    let third = s
        .deploy(json!({"reason": "three", "supersede": false}))
        .await;
    let d2 = s.get(&format!("/deploys/{second}")).await;
    assert_eq!(d2["deploy"]["status"], "queued");
    let (code, b) = s
        .call(
            Method::POST,
            &format!("/deploys/{third}/cancel"),
            json!(null),
        )
        .await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(b["status"], "cancelled");
    assert_eq!(status(&s.wait(first).await), "succeeded");
    assert_eq!(status(&s.wait(second).await), "succeeded");
    assert_eq!(status(&s.wait(third).await), "cancelled");
    // A newer deploy supersedes queued ones.
    let a = s.deploy(json!({"reason": "a"})).await;
    let b1 = s.deploy(json!({"reason": "b", "supersede": false})).await;
    let c = s.deploy(json!({"reason": "c"})).await;
    assert_eq!(status(&s.wait(b1).await), "superseded");
    assert_eq!(status(&s.wait(a).await), "succeeded");
    assert_eq!(status(&s.wait(c).await), "succeeded");

    // Cancelling a running deploy stops it and puts the previous release back.
    s.set_var("IMAGE_TAG", "v2-unhealthy", false).await;
    let slow = s.deploy(json!({"reason": "cancel me"})).await;
    for _ in 0..200 {
        let d = s.get(&format!("/deploys/{slow}")).await;
        if step_status(&d, "rollout") == "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (code, b) = s
        .call(
            Method::POST,
            &format!("/deploys/{slow}/cancel"),
            json!(null),
        )
        .await;
    assert_eq!(code, 200, "{b}");
    let d = s.wait(slow).await;
    assert_eq!(status(&d), "cancelled", "{}", log_text(&d));
    s.assert_serving("v1").await;
    let (code, _) = s
        .call(
            Method::POST,
            &format!("/deploys/{slow}/cancel"),
            json!(null),
        )
        .await;
    assert_eq!(code, 409, "an ended deploy cannot be cancelled");
}

#[tokio::test]
async fn a_failing_first_deploy_leaves_nothing_running() {
    let s = Stage::new("d-first").await;
    s.set_var("IMAGE_TAG", "v2-unhealthy", false).await;
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "failed", "{}", log_text(&d));
    assert_eq!(step_status(&d, "rollback"), "ok", "{}", log_text(&d));
    assert!(s.running().await.is_empty());
    let (code, _) = s.through_proxy("site-a.local", "/api/health").await;
    assert_eq!(code, 502, "the upstream placeholder answers fast");
    s.set_var("IMAGE_TAG", "v1", false).await;
    assert_eq!(status(&s.deploy_and_wait(json!({})).await), "succeeded");
    s.assert_serving("v1").await;
}
