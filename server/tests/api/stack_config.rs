//! Environments, variables and encrypted secrets, with configuration versions.
use crate::support::*;
use app::model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::json;

const PLAINTEXT: &str = "s3cr3t-plaintext-Zq8w";

struct World {
    app: TestApp,
    admin: String,
    maint: String,
    deployer: String,
    viewer: String,
}

async fn world() -> World {
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

async fn everything_stored(app: &TestApp) -> String {
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

#[tokio::test]
async fn every_change_makes_a_version_and_diffs_hide_secret_values() {
    let w = world().await;
    let base = "/projects/shop/environments/production/variables";
    w.app
        .put_var(&format!("{base}/DEBUG"), &w.maint, json!({"value": "true"}))
        .await;
    w.app
        .put_var(
            &format!("{base}/DB_PASSWORD"),
            &w.maint,
            json!({"value": PLAINTEXT, "secret": true}),
        )
        .await;
    w.app
        .put_var(
            &format!("{base}/DEBUG"),
            &w.maint,
            json!({"value": "false"}),
        )
        .await;
    w.app
        .put_var(
            &format!("{base}/DB_PASSWORD"),
            &w.maint,
            json!({"value": "another-secret-1", "secret": true}),
        )
        .await;
    // A project-level variable makes a version in every environment.
    w.app
        .put_var(
            "/projects/shop/variables/REGION",
            &w.maint,
            json!({"value": "eu"}),
        )
        .await;
    let (_, versions) = w
        .app
        .api(
            Method::GET,
            "/projects/shop/environments/production/versions",
            Some(&w.viewer),
            None,
        )
        .await;
    let numbers: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_i64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        vec![6, 5, 4, 3, 2, 1],
        "creating the environment is version 1"
    );
    let (s, diff) = w
        .app
        .api(
            Method::GET,
            "/projects/shop/environments/production/versions/diff?from=2&to=6",
            Some(&w.viewer),
            None,
        )
        .await;
    assert_eq!(s, 200, "{diff}");
    let text = diff.to_string();
    assert!(
        !text.contains(PLAINTEXT) && !text.contains("another-secret-1"),
        "{text}"
    );
    let find = |k: &str| {
        diff.as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == k)
            .cloned()
    };
    let debug = find("variables.DEBUG").expect("DEBUG changed");
    assert_eq!(
        (debug["from"].clone(), debug["to"].clone()),
        (json!("true"), json!("false"))
    );
    let pw = find("variables.DB_PASSWORD").expect("DB_PASSWORD added");
    assert_eq!(pw["kind"], "added");
    assert!(pw["to"].is_null());
    assert_eq!(find("variables.REGION").unwrap()["kind"], "added");
    let (_, d) = w
        .app
        .api(
            Method::GET,
            "/projects/shop/environments/production/versions/diff?from=3&to=5",
            Some(&w.viewer),
            None,
        )
        .await;
    let pw = d
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "variables.DB_PASSWORD")
        .unwrap()
        .clone();
    assert_eq!(pw["kind"], "changed");
    assert!(pw["from"].is_null() && pw["to"].is_null());
    assert!(!everything_stored(&w.app).await.contains("another-secret-1"));
}

#[tokio::test]
async fn proxy_settings_are_validated_and_drive_the_generated_config() {
    let w = world().await;
    let path = "/projects/shop/environments/production";
    let (_, env) = w.app.api(Method::GET, path, Some(&w.viewer), None).await;
    assert_eq!(env["proxy"]["http_port"], 80);
    assert_eq!(env["proxy"]["https_port"], 443);
    let (s, e) = w
        .app
        .api(
            Method::PATCH,
            path,
            Some(&w.maint),
            Some(json!({"proxy": {"http_port": 8080, "https_port": 8080}})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["field"], "proxy.https_port");
    let (s, e) = w
        .app
        .api(
            Method::PATCH,
            path,
            Some(&w.maint),
            Some(json!({"proxy": {"http_port": 18080, "https_port": null, "redirect_http": false, "hsts_max_age": 0}})),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["proxy"]["http_port"], 18080);
    let (s, _) = w
        .app
        .api(
            Method::PUT,
            "/projects/shop/sites/web",
            Some(&w.maint),
            Some(json!({"hosts": {"production": {"primary": "shop.example.com", "aliases": []}}, "routes": []})),
        )
        .await;
    assert_eq!(s, 200);
    let conf = w.app.text(&format!("{path}/nginx.conf"), &w.viewer).await;
    assert!(conf.contains("listen 18080;"), "{conf}");
    let (_, versions) = w
        .app
        .api(
            Method::GET,
            &format!("{path}/versions"),
            Some(&w.viewer),
            None,
        )
        .await;
    let newest = versions[0]["number"].as_i64().unwrap();
    let (_, diff) = w
        .app
        .api(
            Method::GET,
            &format!("{path}/versions/diff?from=1&to={newest}"),
            Some(&w.viewer),
            None,
        )
        .await;
    assert!(diff.to_string().contains("environment.proxy"), "{diff}");
}

#[tokio::test]
async fn a_remote_docker_host_asks_for_its_tls_secrets() {
    let w = world().await;
    let path = "/projects/shop/environments/production";
    let (s, _) = w
        .app
        .api(
            Method::PATCH,
            path,
            Some(&w.maint),
            Some(json!({"docker_host": "tcp://10.0.0.5:2376"})),
        )
        .await;
    assert_eq!(s, 403, "Docker hosts are an admin's call");
    let (s, env) = w
        .app
        .api(
            Method::PATCH,
            path,
            Some(&w.admin),
            Some(json!({"docker_host": "tcp://10.0.0.5:2376"})),
        )
        .await;
    assert_eq!(s, 200, "{env}");
    assert_eq!(
        env["docker_tls_missing"],
        json!([
            "DOCKER_TLS_CA_CERT",
            "DOCKER_TLS_CLIENT_CERT",
            "DOCKER_TLS_CLIENT_KEY"
        ])
    );
    let (s, _) = w
        .app
        .put_var(
            &format!("{path}/variables/DOCKER_TLS_CA_CERT"),
            &w.maint,
            json!({"value": "-----BEGIN CERTIFICATE-----", "secret": true}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, env) = w.app.api(Method::GET, path, Some(&w.viewer), None).await;
    assert_eq!(
        env["docker_tls_missing"],
        json!(["DOCKER_TLS_CLIENT_CERT", "DOCKER_TLS_CLIENT_KEY"])
    );
}
