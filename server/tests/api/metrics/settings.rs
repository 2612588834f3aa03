//! An environment's metrics settings at the trust boundary: who may change them is decided
//! before what was sent is looked at, and the remote read URL's token stays with
//! maintainers, as the remote write URL's does.
use super::super::support::spawn;
use super::world;
use app::serverfns::metrics::SaveMetricsSettings;
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::json;

const SETTINGS: &str = "/projects/shop/environments/staging/metrics/settings";

#[tokio::test]
async fn a_viewer_sending_invalid_settings_is_refused_before_validation() {
    let app = spawn().await;
    let _admin = world(&app).await;
    app.user("vera", InstanceRole::User).await;
    app.member("shop", "vera", Role::Viewer).await;
    let vera = app.token("vera", Scope::Write).await;
    for body in [
        json!({"interval_ms": "soon"}),
        json!({"interval_ms": 1, "remote_read_url": "ftp://x"}),
        json!(["not", "an", "object"]),
    ] {
        let (s, b) = app
            .api(Method::PUT, SETTINGS, Some(&vera), Some(body.clone()))
            .await;
        assert_eq!(s, 403, "{body} answered {b}");
        assert!(!b.to_string().contains("interval"), "{b}");
    }
    // The same through the settings form.
    let c = app.signed_in("vera").await;
    let res = app
        .server_fn::<SaveMetricsSettings>(
            &c,
            &[
                ("project", "shop"),
                ("env", "staging"),
                ("interval", "soon"),
                ("timeout", "later"),
                ("retention_raw_days", "many"),
                ("retention_rollup_days", "more"),
            ],
        )
        .await;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    assert_eq!(status, 403, "{text}");
    assert!(!text.contains("duration"), "{text}");
}

#[tokio::test]
async fn a_remote_read_url_is_saved_checked_and_its_token_kept_from_viewers() {
    let app = spawn().await;
    let admin = world(&app).await;
    let url = "https://prom.example.com/api/v1/read?token=rr-t0ken-secret-77";
    let body = json!({"scrape_replicas": true, "interval_ms": 15000, "timeout_ms": 10000,
                      "retention_raw_days": 15, "retention_rollup_days": 90,
                      "remote_read_url": url});
    let (s, b) = app
        .api(Method::PUT, SETTINGS, Some(&admin), Some(body.clone()))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["remote_read_url"], url);
    let (_, mine) = app.api(Method::GET, SETTINGS, Some(&admin), None).await;
    assert_eq!(
        mine["remote_read_url"], url,
        "the maintainer sees what they saved"
    );
    app.user("vera", InstanceRole::User).await;
    app.member("shop", "vera", Role::Viewer).await;
    let vera = app.token("vera", Scope::Read).await;
    let (_, theirs) = app.api(Method::GET, SETTINGS, Some(&vera), None).await;
    let shown = theirs["remote_read_url"].as_str().unwrap_or("");
    assert!(
        shown.starts_with("https://prom.example.com/api/v1/read"),
        "{theirs}"
    );
    assert!(
        !shown.contains("rr-t0ken"),
        "a viewer saw the token: {theirs}"
    );
    let (_, audit) = app.api(Method::GET, "/audit", Some(&admin), None).await;
    assert!(audit.to_string().contains("metrics.settings"), "{audit}");
    assert!(
        !audit.to_string().contains("rr-t0ken"),
        "the audit log holds the token: {audit}"
    );
    // A URL with credentials or another scheme is refused, naming the field.
    for bad in [
        "ftp://prom.example.com/read",
        "https://u:p@prom.example.com/api/v1/read",
    ] {
        let mut b = body.clone();
        b["remote_read_url"] = json!(bad);
        let (s, answer) = app.api(Method::PUT, SETTINGS, Some(&admin), Some(b)).await;
        assert_eq!(s, 422, "{bad}: {answer}");
        assert!(answer.to_string().contains("remote_read_url"), "{answer}");
    }
}
