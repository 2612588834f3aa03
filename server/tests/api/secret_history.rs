//! Earlier values of secrets: kept sealed (never in clear), the last five per name, re-sealed
//! by a key rotation, and opened for masking the logs of containers started with them.
use crate::support::*;
use berth_core::secrets::history;
use reqwest::Method;
use serde_json::json;

async fn set(app: &TestApp, t: &str, value: &str) {
    let (s, v) = app
        .api(
            Method::PUT,
            "/projects/shop/variables/API_KEY",
            Some(t),
            Some(json!({"value": value, "secret": true})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
}

async fn earlier(app: &TestApp) -> Vec<String> {
    let project_id: i64 = sqlx::query_scalar("SELECT id FROM projects WHERE slug = 'shop'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    history::earlier_values(
        &app.state.db,
        &app.state.secrets,
        project_id,
        "shop",
        -1,
        "",
    )
    .await
    .unwrap()
}

async fn stored(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as("SELECT sealed, key_id FROM secret_history ORDER BY id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn overwritten_secrets_keep_their_last_five_values_sealed() {
    let app = spawn().await;
    app.user("root", berth_model::InstanceRole::Admin).await;
    app.project("shop").await;
    let t = app.token("root", berth_model::Scope::Write).await;
    for i in 1..=7 {
        set(&app, &t, &format!("api-key-value-{i}")).await;
    }
    let expected: Vec<String> = (2..=6).map(|i| format!("api-key-value-{i}")).collect();
    assert_eq!(earlier(&app).await, expected);
    let rows = stored(&app).await;
    assert_eq!(rows.len(), 5);
    for (sealed, _) in &rows {
        assert!(
            !sealed.contains("api-key-value"),
            "kept sealed, never in clear"
        );
    }
}

#[tokio::test]
async fn a_deleted_secret_keeps_its_value_sealed_for_masking() {
    let app = spawn().await;
    app.user("root", berth_model::InstanceRole::Admin).await;
    app.project("shop").await;
    let t = app.token("root", berth_model::Scope::Write).await;
    set(&app, &t, "deleted-secret-value").await;
    let (s, _) = app
        .api(
            Method::DELETE,
            "/projects/shop/variables/API_KEY",
            Some(&t),
            None,
        )
        .await;
    assert!(s == 200 || s == 204, "{s}");
    assert_eq!(
        earlier(&app).await,
        vec!["deleted-secret-value".to_string()]
    );
}

#[tokio::test]
async fn rotating_the_key_reseals_the_earlier_values_too() {
    let app = spawn().await;
    app.user("root", berth_model::InstanceRole::Admin).await;
    app.project("shop").await;
    let t = app.token("root", berth_model::Scope::Write).await;
    set(&app, &t, "value-before-rotation").await;
    set(&app, &t, "value-after-rotation").await;
    let before = stored(&app).await;
    let id = app.state.secrets.rotate().unwrap();
    let n = berth_core::secrets::reseal_all(&app.state).await.unwrap();
    assert_eq!(n, 1);
    let after = stored(&app).await;
    assert_eq!(after.len(), 1);
    assert_ne!(after[0].0, before[0].0);
    assert_eq!(after[0].1, id, "history row sealed under the new key");
    assert_eq!(
        earlier(&app).await,
        vec!["value-before-rotation".to_string()]
    );
}

#[tokio::test]
async fn rotating_the_key_after_an_environment_was_deleted_still_works() {
    let app = spawn().await;
    app.user("root", berth_model::InstanceRole::Admin).await;
    app.project("shop").await;
    let t = app.token("root", berth_model::Scope::Write).await;
    let (s, b) = app
        .api(
            reqwest::Method::POST,
            "/projects/shop/environments",
            Some(&t),
            Some(serde_json::json!({"name": "Gone", "slug": "gone"})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    for v in ["first-value-123", "second-value-456"] {
        let (s, b) = app
            .put_var(
                "/projects/shop/environments/gone/variables/API_KEY",
                &t,
                serde_json::json!({"value": v, "secret": true}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = app
        .api(
            reqwest::Method::DELETE,
            "/projects/shop/environments/gone",
            Some(&t),
            None,
        )
        .await;
    assert!(s < 300, "{s} {b}");
    app.state.secrets.rotate().unwrap();
    berth_core::secrets::reseal_all(&app.state)
        .await
        .expect("rotation is not blocked by a deleted environment's earlier values");
}

/// `secrets rotate-key` while secrets are being written: every secret ends with the value
/// written last, never with the older value the rotation read before the write landed.
#[tokio::test]
async fn rotating_the_key_while_secrets_are_written_loses_no_write() {
    let app = spawn().await;
    app.user("root", berth_model::InstanceRole::Admin).await;
    app.project("shop").await;
    let t = app.token("root", berth_model::Scope::Write).await;
    const N: usize = 12;
    for i in 0..N {
        let (s, v) = app
            .put_var(
                &format!("/projects/shop/variables/KEY_{i}"),
                &t,
                json!({"value": format!("old-value-{i}"), "secret": true}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    for round in 0..3 {
        app.state.secrets.rotate().unwrap();
        let state = app.state.clone();
        let rotation = tokio::spawn(async move {
            berth_core::secrets::reseal_all(&state).await.unwrap();
        });
        let writes = (0..N).map(|i| {
            let (app, t) = (&app, &t);
            async move {
                let (s, v) = app
                    .put_var(
                        &format!("/projects/shop/variables/KEY_{i}"),
                        t,
                        json!({"value": format!("new-value-{round}-{i}"), "secret": true}),
                    )
                    .await;
                assert_eq!(s, 200, "{v}");
            }
        });
        futures_util::future::join_all(writes).await;
        rotation.await.unwrap();
        for i in 0..N {
            let (s, v) = app
                .api(
                    Method::POST,
                    &format!("/projects/shop/variables/KEY_{i}/reveal"),
                    Some(&t),
                    None,
                )
                .await;
            assert_eq!(s, 200, "{v}");
            assert_eq!(
                v["value"],
                format!("new-value-{round}-{i}"),
                "round {round}: KEY_{i} was reverted by the rotation"
            );
        }
    }
}
