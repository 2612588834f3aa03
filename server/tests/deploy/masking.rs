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
