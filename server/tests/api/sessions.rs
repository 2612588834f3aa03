//! Session rows: an ended session stays ended, and nothing shown once is kept in clear.
use crate::support::*;
use app::serverfns::auth::Logout;
use berth_core::session_store::DbSessionStore;
use berth_model::InstanceRole;
use tower_sessions::session::Id;
use tower_sessions::SessionStore;

async fn me_with_cookie(app: &TestApp, id: &str) -> u16 {
    plain()
        .get(format!("{}/api/v1/me", app.url))
        .header("cookie", format!("berth_session={id}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_request_in_flight_cannot_bring_back_a_logged_out_session() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let c = app.signed_in("alice").await;
    let raw: String = sqlx::query_scalar("SELECT id FROM sessions")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(me_with_cookie(&app, &raw).await, 200);
    let store = DbSessionStore::new(app.state.db.clone());
    let id: Id = raw.parse().expect("a session id");
    // What a request that started before the logout holds, and writes back when it ends.
    let in_flight = store.load(&id).await.unwrap().expect("stored");
    let res = app.server_fn::<Logout>(&c, &[]).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    store.save(&in_flight).await.unwrap();
    assert_eq!(app.count("sessions").await, 0);
    assert_eq!(me_with_cookie(&app, &raw).await, 401);
}

/// The server remembers a session for at most `auth_cache::MAX_AGE`; a session ended by
/// another process (a row deleted by hand, a second server) stops working within that time.
#[tokio::test]
async fn a_session_ended_outside_this_process_stops_working_within_the_cache_age() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    app.signed_in("alice").await;
    let raw: String = sqlx::query_scalar("SELECT id FROM sessions")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(me_with_cookie(&app, &raw).await, 200);
    sqlx::query("DELETE FROM sessions")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    tokio::time::sleep(berth_core::auth_cache::MAX_AGE + std::time::Duration::from_millis(200))
        .await;
    assert_eq!(me_with_cookie(&app, &raw).await, 401);
}

#[tokio::test]
async fn saving_a_deleted_session_leaves_it_deleted() {
    let app = spawn().await;
    let store = DbSessionStore::new(app.state.db.clone());
    let mut record = tower_sessions::session::Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create(&mut record).await.unwrap();
    store.delete(&record.id).await.unwrap();
    store.save(&record).await.unwrap();
    assert!(store.load(&record.id).await.unwrap().is_none());
}

async fn session_rows(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT data FROM sessions")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
}

/// Base64 of `bytes` in the standard or URL-safe alphabet, without padding.
fn base64(bytes: &[u8], url_safe: bool) -> String {
    let table: &[u8] = if url_safe {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | b as u32) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(table[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The secret, its base64 forms, and its tail (a fragment is a leak too).
fn forms_of(secret: &str) -> Vec<String> {
    vec![
        secret.to_string(),
        base64(secret.as_bytes(), false),
        base64(secret.as_bytes(), true),
        secret[secret.len() - 16..].to_string(),
    ]
}

#[tokio::test]
async fn a_token_created_without_javascript_is_not_kept_in_clear_in_the_session_row() {
    use app::serverfns::tokens::{CreateToken, TakeNewToken};
    use leptos::server_fn::ServerFn;
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let c = app.signed_in("alice").await;
    let res = c
        .post(format!("{}{}", app.url, CreateToken::PATH))
        .header("accept", "text/html")
        .header("origin", &app.url)
        .header("referer", format!("{}/tokens", app.url))
        .form(&[("name", "ci"), ("scope", "read"), ("expires_in", "30d")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "a plain form post goes back to the page");
    let rows = session_rows(&app).await;
    // The page render takes the flash once.
    let res = app.server_fn::<TakeNewToken>(&c, &[]).await;
    let shown: serde_json::Value = res.json().await.unwrap();
    let secret = shown["secret"].as_str().expect("the token is shown once");
    assert!(secret.starts_with("berth_"), "{shown}");
    for row in &rows {
        for (i, form) in forms_of(secret).iter().enumerate() {
            assert!(
                !row.contains(form),
                "the session row holds form {i} of the token"
            );
        }
    }
    let again: serde_json::Value = app
        .server_fn::<TakeNewToken>(&c, &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(again.is_null(), "shown once: {again}");
}
