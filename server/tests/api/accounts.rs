//! Setup, sign-in, sessions, throttling, tokens.
use crate::support::*;
use app::serverfns::auth::{ChangePassword, CompleteSetup, Logout};
use berth_model::{InstanceRole, Scope};
use reqwest::Method;

#[tokio::test]
async fn setup_link_creates_the_first_admin_once() {
    let app = spawn().await;
    let token = berth_core::setup::issue_if_needed(&app.state)
        .await
        .unwrap()
        .expect("token");
    let c = browser();
    let res = app
        .server_fn::<CompleteSetup>(
            &c,
            &[
                ("token", &token),
                ("username", "root"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let (status, me) = app.api(Method::GET, "/me", None, None).await;
    assert_eq!(status, 401, "no cookie, no access: {me}");
    let me: serde_json::Value = c
        .get(format!("{}/api/v1/me", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "root");
    assert_eq!(me["instance_role"], "admin");
    // The link is single use.
    let again = app
        .server_fn::<CompleteSetup>(
            &browser(),
            &[
                ("token", &token),
                ("username", "evil"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(!again.status().is_success());
    assert_eq!(app.count("users").await, 1);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|(a, t, _)| a == "setup.complete" && t == "user:root"));
}

#[tokio::test]
async fn login_sets_a_strict_httponly_cookie_with_a_fresh_id() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let c = browser();
    let res = app.login(&c, "alice", PASSWORD).await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("berth_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http has no Secure flag: {cookie}"
    );
    let (_, me) = (
        0,
        c.get(format!("{}/api/v1/me", app.url))
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(me.status(), 200);
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let app = spawn_with(|c| c.public_url = Some("https://berth.example.com".into())).await;
    let mut app_state = app.state.clone();
    let _ = &mut app_state;
    app.user("alice", InstanceRole::User).await;
    let c = browser();
    let res = c
        .post(format!(
            "{}{}",
            app.url,
            <app::serverfns::auth::Login as leptos::server_fn::ServerFn>::PATH
        ))
        .header("origin", "https://berth.example.com")
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_fail_alike_and_are_audited() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let wrong = app.login(&browser(), "alice", "not-the-password").await;
    let unknown = app.login(&browser(), "nobody", "not-the-password").await;
    assert_eq!(wrong.status(), unknown.status());
    let a = wrong.text().await.unwrap();
    let b = unknown.text().await.unwrap();
    assert_eq!(a, b, "the same message whether the user exists or not");
    let events = app.audit_actions().await;
    let failures: Vec<_> = events
        .iter()
        .filter(|(a, _, r)| a == "auth.login" && r == "failure")
        .collect();
    assert_eq!(failures.len(), 2, "{events:?}");
}

#[tokio::test]
async fn repeated_failures_slow_down_then_get_429() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let c = browser();
    let mut last = 0;
    for _ in 0..7 {
        last = app
            .login(&c, "alice", "wrong-password-x")
            .await
            .status()
            .as_u16();
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429);
    // Even the right password is refused from this address while the lock lasts.
    assert_eq!(app.login(&c, "alice", PASSWORD).await.status(), 429);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|(a, _, r)| a == "auth.login" && r == "denied"));
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let c = app.signed_in("alice").await;
    assert_eq!(app.me_status(&c).await, 200);
    let res = app.server_fn::<Logout>(&c, &[]).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(app.me_status(&c).await, 401);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|(a, _, _)| a == "auth.logout"));
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_tokens() {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    app.user("bob", InstanceRole::User).await;
    let bob = app.signed_in("bob").await;
    let bob_token = app.token("bob", Scope::Read).await;
    let root = app.token("root", Scope::Write).await;
    // Signed in and seen: the server now remembers bob's session for a moment.
    assert_eq!(app.me_status(&bob).await, 200);
    let (status, _) = app
        .api(
            Method::PATCH,
            "/users/bob",
            Some(&root),
            Some(serde_json::json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.me_status(&bob).await, 401);
    assert_eq!(
        app.api(Method::GET, "/me", Some(&bob_token), None).await.0,
        401
    );
    assert_eq!(
        app.login(&browser(), "bob", PASSWORD)
            .await
            .status()
            .as_u16()
            / 100,
        4
    );
}

#[tokio::test]
async fn password_change_ends_other_sessions_but_keeps_this_one() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let here = app.signed_in("alice").await;
    let elsewhere = app.signed_in("alice").await;
    assert_eq!(app.me_status(&elsewhere).await, 200);
    let res = app
        .server_fn::<ChangePassword>(
            &here,
            &[
                ("current_password", PASSWORD),
                ("new_password", "another-long-password"),
            ],
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(app.me_status(&here).await, 200);
    assert_eq!(app.me_status(&elsewhere).await, 401);
    assert!(app
        .login(&browser(), "alice", "another-long-password")
        .await
        .status()
        .is_success());
}

#[tokio::test]
async fn sessions_expire_after_the_absolute_lifetime() {
    let app = spawn_with(|c| c.session_absolute = std::time::Duration::from_millis(1500)).await;
    app.user("alice", InstanceRole::User).await;
    let c = app.signed_in("alice").await;
    assert_eq!(app.me_status(&c).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    assert_eq!(app.me_status(&c).await, 401);
}

#[tokio::test]
async fn tokens_are_shown_once_stored_hashed_and_revocable() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let c = app.signed_in("alice").await;
    let res = c
        .post(format!("{}/api/v1/tokens", app.url))
        .headers(app.origin_headers())
        .json(&serde_json::json!({"name": "ci", "scope": "read", "expires_in": "30d"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("berth_"));
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert!(
        !stored.iter().any(|h| h.contains(&secret)),
        "the secret is not stored"
    );
    let (status, list) = app.api(Method::GET, "/tokens", Some(&secret), None).await;
    assert_eq!(status, 200);
    assert!(
        !list.to_string().contains(&secret),
        "listing never shows the secret"
    );
    let id = created["token"]["id"].as_i64().unwrap();
    let res = c
        .delete(format!("{}/api/v1/tokens/{id}", app.url))
        .headers(app.origin_headers())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.api(Method::GET, "/me", Some(&secret), None).await.0,
        401
    );
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let secret = app.token("alice", Scope::Read).await;
    sqlx::query("UPDATE api_tokens SET expires_at = 1")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        app.api(Method::GET, "/me", Some(&secret), None).await.0,
        401
    );
}
