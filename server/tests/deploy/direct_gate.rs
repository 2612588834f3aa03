//! Without a proxy Berth manages, the health gate probes the new containers directly, with
//! each site's real `Host`: a bad release is still caught and rolled back.
use super::stage::{log_text, status, step_status, Stage};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn without_a_managed_proxy_the_gate_probes_the_containers_and_rolls_back_a_bad_release() {
    let s = Stage::new("d-direct").await;
    let (st, b) = s
        .call(
            Method::PATCH,
            &s.env_path(""),
            json!({"proxy": {"http_port": 80}}),
        )
        .await;
    assert!(st < 300, "{st} {b}");
    let d1 = s.deploy_and_wait(json!({"reason": "v1"})).await;
    assert_eq!(status(&d1), "succeeded", "{}", log_text(&d1));
    assert_eq!(step_status(&d1, "health_gate"), "ok", "{}", log_text(&d1));
    let log = log_text(&d1);
    assert!(log.contains("probing http://127.0.0.1:"), "{log}");
    assert!(log.contains("✓ smoke check site-a.local"), "{log}");

    s.set_var("IMAGE_TAG", "v2-badfeed", false).await;
    let d2 = s.deploy_and_wait(json!({"reason": "bad feed"})).await;
    assert_eq!(status(&d2), "rolled_back", "{}", log_text(&d2));
    assert_eq!(step_status(&d2, "health_gate"), "failed");
    assert!(
        d2["deploy"]["cause"]
            .as_str()
            .unwrap_or("")
            .contains("smoke check"),
        "{d2}"
    );
}
