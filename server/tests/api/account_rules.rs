//! Account input and listing rules: token lifetimes, who may list users.
use crate::support::*;
use app::model::InstanceRole;
use serde_json::json;

#[tokio::test]
async fn a_token_lifetime_ending_in_a_multibyte_character_is_refused_as_invalid() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let c = app.signed_in("alice").await;
    let res = c
        .post(format!("{}/api/v1/tokens", app.url))
        .headers(app.origin_headers())
        .json(&json!({"name": "ci", "scope": "read", "expires_in": "1é"}))
        .send()
        .await
        .expect("the server answers instead of dropping the connection");
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expires_in"),
        "{body}"
    );
    assert_eq!(app.count("api_tokens").await, 0);
    // The server is still up.
    assert_eq!(app.me_status(&c).await, 200);
}
