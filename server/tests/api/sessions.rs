//! Session rows: an ended session stays ended, and nothing shown once is kept in clear.
use crate::support::*;
use app::model::InstanceRole;
use app::server::session_store::DbSessionStore;
use app::serverfns::auth::Logout;
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
