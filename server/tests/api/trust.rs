//! Trust boundaries of the API and pages: nothing kept by caches, a local process only for
//! those who may change the configuration, no way to tell a hidden deploy from a missing
//! one, and alert webhook credentials only for those who may change them.
use crate::support::*;
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::json;

async fn world() -> (TestApp, String) {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    for u in ["vic", "dee", "max", "otto"] {
        app.user(u, InstanceRole::User).await;
    }
    app.project("shop").await;
    app.member("shop", "vic", Role::Viewer).await;
    app.member("shop", "dee", Role::Deployer).await;
    app.member("shop", "max", Role::Maintainer).await;
    let root = app.token("root", Scope::Write).await;
    app.environment("shop", "staging", &root).await;
    (app, root)
}

#[tokio::test]
async fn pages_and_answers_with_project_data_are_never_stored_by_caches() {
    let (app, root) = world().await;
    let c = app.signed_in("root").await;
    for path in [
        "/projects",
        "/projects/shop",
        "/projects/shop/environments/staging",
        "/login",
        "/api/v1/projects",
        "/api/v1/projects/shop/environments/staging/variables",
        "/healthz",
    ] {
        let res = c
            .get(format!("{}{path}", app.url))
            .bearer_auth(&root)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        assert_eq!(
            res.headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap_or("")),
            Some("no-store"),
            "{path}"
        );
    }
    // Errors too.
    let res = plain()
        .get(format!("{}/api/v1/projects/shop", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn only_maintainers_run_the_nginx_check() {
    let (app, _) = world().await;
    let path = "/projects/shop/environments/staging/nginx/check";
    for (user, scope, want) in [
        ("vic", Scope::Write, 403),
        ("dee", Scope::Write, 403),
        ("max", Scope::Read, 403),
        ("otto", Scope::Write, 404),
    ] {
        let t = app.token(user, scope).await;
        let (s, b) = app.api(Method::POST, path, Some(&t), None).await;
        assert_eq!(s, want, "{user} {scope:?}: {b}");
    }
    let max = app.token("max", Scope::Write).await;
    let (s, b) = app.api(Method::POST, path, Some(&max), None).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["ok"].is_boolean(), "{b}");
}

#[tokio::test]
async fn a_deploy_of_a_hidden_project_looks_like_a_deploy_that_does_not_exist() {
    let (app, _) = world().await;
    let dee = app.token("dee", Scope::Deploy).await;
    let (s, b) = app
        .api(
            Method::POST,
            "/projects/shop/environments/staging/deploys",
            Some(&dee),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let id = b["id"].as_i64().unwrap();
    let otto = app.token("otto", Scope::Write).await;
    for suffix in ["", "/log", "/cancel"] {
        let method = if suffix == "/cancel" {
            Method::POST
        } else {
            Method::GET
        };
        let hidden = app
            .api(
                method.clone(),
                &format!("/deploys/{id}{suffix}"),
                Some(&otto),
                None,
            )
            .await;
        let missing = app
            .api(
                method,
                &format!("/deploys/{}{suffix}", id + 1000),
                Some(&otto),
                None,
            )
            .await;
        assert_eq!(hidden, missing, "/deploys/{{id}}{suffix}");
        assert_eq!(hidden.0, 404);
    }
}

#[tokio::test]
async fn the_alert_webhook_url_is_shown_whole_only_to_those_who_may_change_it() {
    let (app, _) = world().await;
    let url = "https://hooks.slack.com/services/T000/B000/hookPathToken9f3c";
    let path = "/projects/shop/environments/staging/watchdog";
    let max = app.token("max", Scope::Write).await;
    let (s, b) = app
        .api(
            Method::PUT,
            path,
            Some(&max),
            Some(json!({"enabled": false, "webhook_url": url})),
        )
        .await;
    assert!(s < 300, "{s} {b}");
    let (_, b) = app.api(Method::GET, path, Some(&max), None).await;
    assert_eq!(b["webhook_url"], url);
    for user in ["vic", "dee"] {
        let t = app.token(user, Scope::Write).await;
        let (s, b) = app.api(Method::GET, path, Some(&t), None).await;
        assert_eq!(s, 200);
        assert_eq!(b["webhook_url"], "https://hooks.slack.com/…", "{user}");
        assert!(!b.to_string().contains("hookPathToken9f3c"));
    }
    // The environment page a viewer sees does not carry it either.
    let vic = app.signed_in("vic").await;
    let html = vic
        .get(format!("{}/projects/shop/environments/staging", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("hookPathToken9f3c"));
}

#[tokio::test]
async fn a_secret_is_taken_verbatim_and_no_answer_quotes_a_piece_of_it() {
    let (app, _) = world().await;
    let max = app.token("max", Scope::Write).await;
    // Shaped like broken references: a plain value like this is refused with the fragment
    // quoted; a secret is stored as it is.
    let value = "pw${not-a-ref}${unclosed";
    let (s, b) = app
        .put_var(
            "/projects/shop/environments/staging/variables/DB_PASSWORD",
            &max,
            json!({"value": value, "secret": true}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(!b.to_string().contains("not-a-ref"), "{b}");
    let (s, b) = app
        .put_var(
            "/projects/shop/environments/staging/variables/PLAIN",
            &max,
            json!({"value": value, "secret": false}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    let root = app.token("root", Scope::Read).await;
    let (s, audit) = app
        .api(Method::GET, "/audit?limit=500", Some(&root), None)
        .await;
    assert_eq!(s, 200);
    assert!(audit.to_string().contains("DB_PASSWORD"));
    assert!(!audit.to_string().contains("not-a-ref"));
}

#[tokio::test]
async fn made_up_http_methods_share_one_metrics_series() {
    let (app, _) = world().await;
    for i in 0..50 {
        let m = reqwest::Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let _ = plain()
            .request(m, format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap();
    }
    let text = plain()
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("MADEUP"), "{text}");
    assert!(text.contains("method=\"OTHER\""), "{text}");
}

#[tokio::test]
async fn a_project_admin_cannot_choose_the_commands_berth_runs_on_its_own_machine() {
    let (app, _) = world().await;
    app.user("ada", InstanceRole::User).await;
    app.member("shop", "ada", Role::Admin).await;
    let ada = app.token("ada", Scope::Write).await;
    let manager = json!({"http_port": 8080, "manager": {
        "mode": "host", "config_path": "/tmp/berth-x.conf",
        "test_command": ["nginx", "-t"], "reload_command": ["cat", "/data/master.key"]}});
    let (s, b) = app
        .api(
            Method::PATCH,
            "/projects/shop/environments/staging",
            Some(&ada),
            Some(json!({"proxy": manager})),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = app
        .api(
            Method::POST,
            "/projects/shop/environments",
            Some(&ada),
            Some(json!({"name": "Other", "slug": "other", "proxy": manager})),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    // The Docker host stays a project admin's call.
    let (s, b) = app
        .api(
            Method::PATCH,
            "/projects/shop/environments/staging",
            Some(&ada),
            Some(json!({"docker_host": "unix:///var/run/docker.sock"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}
