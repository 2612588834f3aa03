//! Environments, variables and encrypted secrets, with configuration versions.
use crate::support::*;
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::json;

pub(crate) const PLAINTEXT: &str = "s3cr3t-plaintext-Zq8w";

pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) admin: String,
    pub(crate) maint: String,
    pub(crate) deployer: String,
    pub(crate) viewer: String,
}

pub(crate) async fn world() -> World {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    for (u, r) in [
        ("mia", Role::Maintainer),
        ("dan", Role::Deployer),
        ("vic", Role::Viewer),
    ] {
        app.user(u, InstanceRole::User).await;
        if u == "mia" {
            app.project("shop").await;
        }
        app.member("shop", u, r).await;
    }
    let w = World {
        admin: app.token("root", Scope::Write).await,
        maint: app.token("mia", Scope::Write).await,
        deployer: app.token("dan", Scope::Write).await,
        viewer: app.token("vic", Scope::Write).await,
        app,
    };
    let (s, e) = w
        .app
        .api(
            Method::POST,
            "/projects/shop/environments",
            Some(&w.maint),
            Some(json!({"name": "Production", "slug": "production", "protected": true, "branch": "main"})),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    w
}

#[tokio::test]
async fn maintainers_create_environments_and_bad_ones_are_refused() {
    let w = world().await;
    let (s, _) = w
        .app
        .api(
            Method::POST,
            "/projects/shop/environments",
            Some(&w.deployer),
            Some(json!({"name": "S", "slug": "staging"})),
        )
        .await;
    assert_eq!(s, 403);
    for (body, field) in [
        (json!({"name": "S", "slug": "Staging!"}), "slug"),
        (
            json!({"name": "S", "slug": "staging", "branch": "bad branch"}),
            "branch",
        ),
        (
            json!({"name": "S", "slug": "staging", "docker_host": "ftp://x"}),
            "docker_host",
        ),
        (json!({"name": "P", "slug": "production"}), "slug"),
    ] {
        let (s, e) = w
            .app
            .api(
                Method::POST,
                "/projects/shop/environments",
                Some(&w.maint),
                Some(body),
            )
            .await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(e["error"]["field"], field, "{e}");
    }
    let (_, list) = w
        .app
        .api(
            Method::GET,
            "/projects/shop/environments",
            Some(&w.viewer),
            None,
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["protected"], true);
    assert_eq!(list[0]["branch"], "main");
    // Lifting protection is an admin's decision.
    let (s, _) = w
        .app
        .api(
            Method::PATCH,
            "/projects/shop/environments/production",
            Some(&w.maint),
            Some(json!({"protected": false})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, e) = w
        .app
        .api(
            Method::PATCH,
            "/projects/shop/environments/production",
            Some(&w.admin),
            Some(json!({"protected": false})),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["protected"], false);
}

pub(crate) async fn everything_stored(app: &TestApp) -> String {
    let mut all = String::new();
    for table in ["variables", "audit_events", "config_versions"] {
        let rows = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
        for r in rows {
            use sqlx::Row;
            for (i, _) in r.columns().iter().enumerate() {
                if let Ok(Some(v)) = r.try_get::<Option<String>, _>(i) {
                    all.push_str(&v);
                    all.push('\n');
                }
            }
        }
    }
    all
}

#[tokio::test]
async fn secrets_are_write_only_and_never_stored_in_plaintext() {
    let w = world().await;
    let path = "/projects/shop/environments/production/variables/DB_PASSWORD";
    let (s, v) = w
        .app
        .api(
            Method::PUT,
            path,
            Some(&w.maint),
            Some(json!({"value": PLAINTEXT, "secret": true})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["secret"], true);
    assert!(v["value"].is_null());
    let (_, list) = w
        .app
        .api(
            Method::GET,
            "/projects/shop/environments/production/variables",
            Some(&w.viewer),
            None,
        )
        .await;
    assert_eq!(list[0]["name"], "DB_PASSWORD");
    assert!(!list.to_string().contains(PLAINTEXT));
    // Viewers and deployers cannot write secrets.
    for t in [&w.viewer, &w.deployer] {
        let (s, _) = w
            .app
            .api(
                Method::PUT,
                path,
                Some(t),
                Some(json!({"value": "x", "secret": true})),
            )
            .await;
        assert_eq!(s, 403);
    }
    assert!(!everything_stored(&w.app).await.contains(PLAINTEXT));
    if !w.app.database_url().starts_with("postgres") {
        for f in ["berth.db", "berth.db-wal"] {
            let p = w.app.data_dir.path().join(f);
            if let Ok(bytes) = std::fs::read(&p) {
                assert!(
                    !bytes
                        .windows(PLAINTEXT.len())
                        .any(|win| win == PLAINTEXT.as_bytes()),
                    "{f} holds the plaintext"
                );
            }
        }
    }
    let key = std::fs::read_to_string(w.app.data_dir.path().join("master.key")).unwrap();
    assert!(!key.contains(PLAINTEXT));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.app.data_dir.path().join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn only_admins_reveal_and_every_reveal_is_audited() {
    let w = world().await;
    let path = "/projects/shop/environments/production/variables/API_TOKEN";
    w.app
        .api(
            Method::PUT,
            path,
            Some(&w.maint),
            Some(json!({"value": PLAINTEXT, "secret": true})),
        )
        .await;
    let (s, _) = w
        .app
        .api(
            Method::POST,
            &format!("{path}/reveal"),
            Some(&w.maint),
            None,
        )
        .await;
    assert_eq!(s, 403);
    let (s, v) = w
        .app
        .api(
            Method::POST,
            &format!("{path}/reveal"),
            Some(&w.admin),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["value"], PLAINTEXT);
    let events = w.app.audit_actions().await;
    assert!(events
        .iter()
        .any(|(a, t, r)| a == "secret.reveal" && t.ends_with("var:API_TOKEN") && r == "success"));
    assert!(events
        .iter()
        .any(|(a, _, r)| a == "authz.denied" && r == "denied"));
}

#[tokio::test]
async fn a_sealed_value_moved_to_another_secret_does_not_open() {
    let w = world().await;
    let base = "/projects/shop/environments/production/variables";
    w.app
        .put_var(
            &format!("{base}/A_SECRET"),
            &w.maint,
            json!({"value": PLAINTEXT, "secret": true}),
        )
        .await;
    w.app
        .put_var(
            &format!("{base}/B_SECRET"),
            &w.maint,
            json!({"value": "other-value", "secret": true}),
        )
        .await;
    sqlx::query("UPDATE variables SET sealed = (SELECT sealed FROM variables WHERE name = 'A_SECRET') WHERE name = 'B_SECRET'")
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let (s, v) = w
        .app
        .api(
            Method::POST,
            &format!("{base}/B_SECRET/reveal"),
            Some(&w.admin),
            None,
        )
        .await;
    assert_eq!(s, 500);
    assert!(!v.to_string().contains(PLAINTEXT));
}

#[tokio::test]
async fn missing_and_cyclic_references_are_refused_and_change_nothing() {
    let w = world().await;
    let base = "/projects/shop/environments/production/variables";
    let (s, e) = w
        .app
        .api(
            Method::PUT,
            &format!("{base}/URL"),
            Some(&w.maint),
            Some(json!({"value": "redis://${HOST}:6379"})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("HOST"),
        "{e}"
    );
    let (s, _) = w
        .app
        .put_var(&format!("{base}/A"), &w.maint, json!({"value": "x"}))
        .await;
    assert_eq!(s, 200);
    let (s, _) = w
        .app
        .api(
            Method::PUT,
            &format!("{base}/B"),
            Some(&w.maint),
            Some(json!({"value": "${A}"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, e) = w
        .app
        .api(
            Method::PUT,
            &format!("{base}/A"),
            Some(&w.maint),
            Some(json!({"value": "${B}"})),
        )
        .await;
    assert_eq!(s, 422);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("cycle"),
        "{e}"
    );
    let (s, e) = w
        .app
        .put_var(
            &format!("{base}/C"),
            &w.maint,
            json!({"value": "${unclosed"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = w
        .app
        .put_var(&format!("{base}/9BAD"), &w.maint, json!({"value": "x"}))
        .await;
    assert_eq!(s, 422);
    assert_eq!(e["error"]["field"], "name");
    let (_, list) = w.app.api(Method::GET, base, Some(&w.viewer), None).await;
    let a = list
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "A")
        .unwrap()
        .clone();
    assert_eq!(a["value"], "x", "the refused write left A unchanged");
    // A required-but-missing value is allowed (it blocks deploys, not edits).
    let (s, v) = w
        .app
        .put_var(
            &format!("{base}/DJANGO_SECRET_KEY"),
            &w.maint,
            json!({"secret": true}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["missing"], true);
}
