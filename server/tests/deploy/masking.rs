//! Secret values a container prints reach no reader in clear: container logs (tail and SSE
//! follow) and the deploy log show the mask instead, for a multi-line key line by line and
//! whole, and for the base64 and JSON-escaped forms.
use super::stage::{log_text, status, web_service, Stage};
use reqwest::Method;
use serde_json::json;
use stack::interpolate::MASK;
use std::time::{Duration, Instant};

const PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n\
q8x0Zt3vYb1oXbPz9Vw0abcdEFGH\n\
-----END PRIVATE KEY-----";
const TOKEN: &str = "tok-Zq8w-one-line-secret";

/// Standard base64 with padding (written out here, independent of the redactor's own).
fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = u32::from(c[0]) << 16
            | u32::from(*c.get(1).unwrap_or(&0)) << 8
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[(n >> (18 - 6 * i)) as usize & 63] as char
            } else {
                '='
            });
        }
    }
    out
}

fn json_escaped(s: &str) -> String {
    let q = serde_json::to_string(s).unwrap();
    q[1..q.len() - 1].to_string()
}

/// Every clear form of the two secrets that must not be in `text`.
fn assert_no_clear_form(text: &str, what: &str) {
    let mut forms = vec![PEM.to_string(), TOKEN.to_string(), json_escaped(PEM)];
    forms.extend(PEM.lines().map(str::to_string));
    forms.push(b64(format!("prefix{TOKEN}suffix").as_bytes())[8..24].to_string());
    forms.push(b64(PEM.as_bytes())[..40].to_string());
    for f in &forms {
        assert!(
            !text.contains(f.as_str()),
            "{what} shows {f:?} in clear:\n{text}"
        );
    }
}

#[tokio::test]
async fn secrets_printed_by_a_container_show_only_the_mask_in_every_log() {
    let s = Stage::new("d-mask").await;
    s.set_var("PEM_KEY", PEM, true).await;
    s.set_var("API_TOKEN", TOKEN, true).await;
    let mut web = web_service(1);
    web["env"]["DEMO_PRINT_VAR"] = json!("SHOW");
    web["env"]["SHOW"] = json!(format!(
        "token=${{API_TOKEN}} b64={} json={} pem=${{PEM_KEY}}",
        b64(format!("prefix{TOKEN}suffix").as_bytes()),
        json_escaped(PEM).replace('$', "$$"),
    ));
    let (code, b) = s.call(Method::PUT, &s.env_path("/services/web"), web).await;
    assert!(code < 300, "{b}");
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    assert_no_clear_form(&log_text(&d), "the deploy log");

    let rt = s.runtime().await;
    let id = rt["containers"][0]["id"].as_str().unwrap().to_string();
    let path = s.env_path(&format!("/containers/{id}/logs?tail=200"));
    let t0 = Instant::now();
    let logs = loop {
        let logs = s.app.text(&path, &s.token).await;
        if logs.contains("SHOW=") || t0.elapsed() > Duration::from_secs(20) {
            break logs;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(logs.contains(&format!("SHOW=token={MASK} b64=")), "{logs}");
    assert!(logs.contains(&format!("pem={MASK}")), "{logs}");
    assert_no_clear_form(&logs, "the container log");

    // Follow (SSE): the lines printed on the next requests arrive masked too.
    let resp = super::support::plain()
        .get(format!(
            "{}/api/v1{}",
            s.app.url,
            s.env_path(&format!("/containers/{id}/logs?tail=20&follow=true"))
        ))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut resp = resp;
    let mut seen = String::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(15) {
        s.assert_serving("v1").await;
        if let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_millis(500), resp.chunk()).await
        {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        if seen.matches("SHOW=").count() >= 2 {
            break;
        }
    }
    assert!(seen.contains(&format!("SHOW=token={MASK}")), "{seen}");
    assert_no_clear_form(&seen, "the SSE follow");
}

/// A secret in an image reference (a registry token in the tag, say) is stored and answered
/// masked; a failing release that adds a secret and rolls back keeps that secret masked in
/// the stored cause, the deploy log and the notification, though the rollback resolves the
/// older release (whose variables do not have it).
#[tokio::test]
async fn image_references_and_a_rolled_back_cause_never_carry_a_secret() {
    const TAG: &str = "regtok-Hq27xZ9wK";
    const FRESH: &str = "fresh-secret-of-release-two";
    super::fixture::demo_images();
    let tagged = std::process::Command::new("docker")
        .args(["tag", "berth-demo:v1", &format!("berth-demo:{TAG}")])
        .output()
        .expect("docker tag");
    assert!(tagged.status.success(), "{tagged:?}");
    let s = Stage::new("d-mask-ref").await;
    let (hook, got) = super::operations::receiver().await;
    let (code, b) = s
        .call(
            Method::PUT,
            &s.env_path("/watchdog"),
            json!({"enabled": false, "interval_secs": 30, "failure_threshold": 3, "webhook_url": hook}),
        )
        .await;
    assert_eq!(code, 200, "{b}");
    s.set_var("IMAGE_TAG", TAG, true).await;
    let d1 = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d1), "succeeded", "{}", log_text(&d1));
    let releases = s.get(&s.env_path("/releases")).await.to_string();
    assert!(releases.contains("berth-demo:"), "{releases}");
    assert!(
        !releases.contains(TAG),
        "a release answers the tag in clear: {releases}"
    );
    assert!(
        !d1.to_string().contains(TAG),
        "the deploy shows the tag: {d1}"
    );
    let stored: Vec<String> = sqlx::query_scalar("SELECT plan FROM releases")
        .fetch_all(&s.app.state.db.pool)
        .await
        .unwrap();
    assert!(stored.iter().all(|p| !p.contains(TAG)), "{stored:?}");

    // The failing release: a new secret that the container quotes as it exits.
    s.set_var("FRESH_TOKEN", FRESH, true).await;
    let mut web = web_service(1);
    web["env"]["DEMO_SLOW_MS"] = json!("${FRESH_TOKEN}");
    let (code, b) = s.call(Method::PUT, &s.env_path("/services/web"), web).await;
    assert!(code < 300, "{b}");
    let d2 = s.deploy_and_wait(json!({"reason": "bad"})).await;
    assert_eq!(status(&d2), "rolled_back", "{}", log_text(&d2));
    let cause = d2["deploy"]["cause"].as_str().unwrap_or("").to_string();
    assert!(
        cause.contains("DEMO_SLOW_MS"),
        "the cause names what failed: {cause}"
    );
    assert!(cause.contains(MASK), "{cause}");
    assert!(!d2.to_string().contains(FRESH), "the deploy answer: {d2}");
    let t0 = Instant::now();
    let note = loop {
        let found = got
            .lock()
            .unwrap()
            .iter()
            .find(|v| v["deploy"] == d2["deploy"]["id"])
            .cloned();
        if let Some(v) = found {
            break v;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "no notification");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        !note.to_string().contains(FRESH),
        "the notification: {note}"
    );
    assert!(
        note["cause"].as_str().unwrap_or("").contains(MASK),
        "{note}"
    );
    let causes: Vec<String> = sqlx::query_scalar("SELECT cause FROM deploys")
        .fetch_all(&s.app.state.db.pool)
        .await
        .unwrap();
    assert!(
        causes
            .iter()
            .all(|c| !c.contains(FRESH) && !c.contains(TAG)),
        "{causes:?}"
    );
    s.assert_serving("v1").await;
}
