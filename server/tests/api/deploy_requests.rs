//! Deploy requests without a Docker engine: who may deploy which environment, bad input
//! refused with nothing queued, cancelling, and the queue as the API shows it.
use crate::support::*;
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::json;

async fn world() -> TestApp {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    for u in ["vic", "dee", "max"] {
        app.user(u, InstanceRole::User).await;
    }
    app.project("shop").await;
    app.member("shop", "vic", Role::Viewer).await;
    app.member("shop", "dee", Role::Deployer).await;
    app.member("shop", "max", Role::Maintainer).await;
    let root = app.token("root", Scope::Write).await;
    for (slug, protected) in [("staging", false), ("production", true)] {
        let (s, b) = app
            .api(
                Method::POST,
                "/projects/shop/environments",
                Some(&root),
                Some(json!({"name": slug, "slug": slug, "protected": protected})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    app
}

async fn deploy(
    app: &TestApp,
    token: &str,
    env: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    app.api(
        Method::POST,
        &format!("/projects/shop/environments/{env}/deploys"),
        Some(token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn deployers_deploy_unprotected_maintainers_protected_viewers_nothing() {
    let app = world().await;
    let vic = app.token("vic", Scope::Write).await;
    let dee = app.token("dee", Scope::Deploy).await;
    let max = app.token("max", Scope::Deploy).await;
    let dee_read = app.token("dee", Scope::Read).await;
    let outsider = {
        app.user("otto", InstanceRole::User).await;
        app.token("otto", Scope::Write).await
    };
    assert_eq!(deploy(&app, &vic, "staging", json!({})).await.0, 403);
    assert_eq!(deploy(&app, &dee_read, "staging", json!({})).await.0, 403);
    assert_eq!(deploy(&app, &outsider, "staging", json!({})).await.0, 404);
    assert_eq!(deploy(&app, &dee, "production", json!({})).await.0, 403);
    let (s, b) = deploy(
        &app,
        &dee,
        "staging",
        json!({"reason": "ship it", "git_sha": "ABC123"}),
    )
    .await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["kind"], "deploy");
    assert_eq!(b["git_sha"], "abc123");
    assert!(
        b["actor"].as_str().unwrap().starts_with("dee (token "),
        "{b}"
    );
    let (s, b) = deploy(&app, &max, "production", json!({})).await;
    assert_eq!(s, 202, "{b}");
    // Viewers see the history; the refusals are in the audit log.
    let (s, list) = app
        .api(
            Method::GET,
            "/projects/shop/environments/staging/deploys",
            Some(&vic),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let denied = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|a| a.0 == "authz.denied")
        .count();
    assert!(denied >= 3, "{denied}");
}

#[tokio::test]
async fn bad_deploy_requests_are_refused_and_queue_nothing() {
    let app = world().await;
    let root = app.token("root", Scope::Write).await;
    let cases = [
        ("/deploys", json!({"git_sha": "not-hex!"}), 422),
        ("/deploys", json!({"reason": "x".repeat(501)}), 422),
        ("/deploys", json!({"nope": 1}), 422),
        ("/rollback", json!({"release": 3}), 404),
        ("/scale", json!({"replicas": {"web": 2}}), 409),
        ("/redeploy", json!({}), 409),
    ];
    for (path, body, want) in cases {
        let (s, b) = app
            .api(
                Method::POST,
                &format!("/projects/shop/environments/staging{path}"),
                Some(&root),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, want, "{path} {body}: {b}");
        assert!(b["error"]["message"].is_string(), "{b}");
    }
    assert_eq!(app.count("deploys").await, 0);
    let (s, _) = app
        .api(Method::GET, "/deploys/12345", Some(&root), None)
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn queued_deploys_cancel_and_supersede_and_every_step_is_audited() {
    let app = world().await;
    let root = app.token("root", Scope::Write).await;
    // Nothing configured: the first deploy fails at validation, on its own, without Docker
    // being needed. Later ones queue behind it while it runs.
    let (_, a) = deploy(&app, &root, "staging", json!({"reason": "a"})).await;
    let (_, b) = deploy(
        &app,
        &root,
        "staging",
        json!({"reason": "b", "supersede": false}),
    )
    .await;
    let (s, c) = app
        .api(
            Method::POST,
            &format!("/deploys/{}/cancel", b["id"]),
            Some(&root),
            None,
        )
        .await;
    assert!(s == 200 || s == 409, "{c}");
    // Wait for everything to end.
    for _ in 0..200 {
        let (_, list) = app
            .api(
                Method::GET,
                "/projects/shop/environments/staging/deploys",
                Some(&root),
                None,
            )
            .await;
        if list
            .as_array()
            .unwrap()
            .iter()
            .all(|d| !matches!(d["status"].as_str(), Some("queued" | "running")))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, d) = app
        .api(
            Method::GET,
            &format!("/deploys/{}", a["id"]),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(d["deploy"]["status"], "failed", "{d}");
    assert!(
        d["deploy"]["cause"]
            .as_str()
            .unwrap()
            .contains("no services"),
        "{d}"
    );
    assert_eq!(d["steps"][0]["name"], "validate");
    assert_eq!(d["steps"][0]["status"], "failed");
    let (s, _) = app
        .api(
            Method::POST,
            &format!("/deploys/{}/cancel", a["id"]),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(s, 409);
    let actions: Vec<String> = app.audit_actions().await.into_iter().map(|a| a.0).collect();
    assert!(actions.contains(&"deploy.request.deploy".to_string()));
    assert!(
        actions.contains(&"deploy.failed".to_string()),
        "{actions:?}"
    );
    // The OpenAPI document lists the deploy endpoints.
    let (_, doc) = app.api(Method::GET, "/openapi.json", None, None).await;
    for p in [
        "/api/v1/projects/{project}/environments/{env}/deploys",
        "/api/v1/deploys/{id}/log",
        "/api/v1/projects/{project}/environments/{env}/rollback",
        "/api/v1/projects/{project}/environments/{env}/releases",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} missing from openapi");
    }
}

#[tokio::test]
async fn the_deploy_history_pages_back_with_before() {
    let app = world().await;
    let root = app.token("root", Scope::Write).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (s, b) = deploy(
            &app,
            &root,
            "staging",
            json!({"reason": format!("r{i}"), "supersede": false}),
        )
        .await;
        assert_eq!(s, 202, "{b}");
        ids.push(b["id"].as_i64().unwrap());
    }
    let page = |q: String| {
        let app = &app;
        let root = root.clone();
        async move {
            let (s, b) = app
                .api(
                    Method::GET,
                    &format!("/projects/shop/environments/staging/deploys?{q}"),
                    Some(&root),
                    None,
                )
                .await;
            assert_eq!(s, 200, "{b}");
            b.as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page("limit=2".into()).await, vec![ids[2], ids[1]]);
    assert_eq!(
        page(format!("limit=2&before={}", ids[1])).await,
        vec![ids[0]]
    );
}
