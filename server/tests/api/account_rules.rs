//! Account input and listing rules: token lifetimes, who may list users.
use crate::support::*;
use berth_model::InstanceRole;
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

#[tokio::test]
async fn only_instance_admins_list_users() {
    use berth_model::{Role, Scope};
    use reqwest::Method;
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    app.project("site").await;
    for (name, role) in [("vera", Role::Viewer), ("max", Role::Maintainer)] {
        app.user(name, InstanceRole::User).await;
        app.member("site", name, role).await;
        let c = app.signed_in(name).await;
        let res = c
            .get(format!("{}/api/v1/users", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name} signed in");
        let token = app.token(name, Scope::Write).await;
        let (status, body) = app.api(Method::GET, "/users", Some(&token), None).await;
        assert_eq!(status, 403, "{name}'s token: {body}");
        let res = app
            .server_fn::<app::serverfns::users::ListUsers>(&c, &[])
            .await;
        assert_eq!(res.status(), 403, "{name} through the UI");
    }
    let admin = app.token("root", Scope::Write).await;
    let (status, body) = app.api(Method::GET, "/users", Some(&admin), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(3), "{body}");
}
