//! One authorization function decides everything: viewers and outsiders are refused every
//! mutation, through the REST API and through server functions alike.
use crate::support::*;
use app::serverfns;
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::json;

async fn world() -> (TestApp, String, String) {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    app.user("vic", InstanceRole::User).await;
    app.user("otto", InstanceRole::User).await;
    app.user("target", InstanceRole::User).await;
    app.project("shop").await;
    app.member("shop", "vic", Role::Viewer).await;
    app.member("shop", "target", Role::Deployer).await;
    let vic = app.token("vic", Scope::Write).await;
    let otto = app.token("otto", Scope::Write).await;
    (app, vic, otto)
}

fn mutations() -> Vec<(Method, &'static str, Option<serde_json::Value>)> {
    vec![
        (
            Method::POST,
            "/users",
            Some(json!({"username": "eve", "password": PASSWORD})),
        ),
        (
            Method::PATCH,
            "/users/target",
            Some(json!({"disabled": true})),
        ),
        (
            Method::POST,
            "/projects",
            Some(json!({"name": "X", "slug": "x"})),
        ),
        (Method::DELETE, "/projects/shop", None),
        (
            Method::PUT,
            "/projects/shop/members/otto",
            Some(json!({"role": "admin"})),
        ),
        (
            Method::PUT,
            "/projects/shop/members/vic",
            Some(json!({"role": "admin"})),
        ),
        (Method::DELETE, "/projects/shop/members/target", None),
        (
            Method::POST,
            "/projects/shop/environments",
            Some(json!({"name": "S", "slug": "staging"})),
        ),
        (
            Method::PUT,
            "/projects/shop/variables/DEBUG",
            Some(json!({"value": "1"})),
        ),
        (
            Method::PUT,
            "/projects/shop/variables/DB_PASSWORD",
            Some(json!({"value": "x", "secret": true})),
        ),
        (
            Method::POST,
            "/projects/shop/variables/DB_PASSWORD/reveal",
            None,
        ),
    ]
}

async fn unchanged(app: &TestApp) {
    assert_eq!(app.count("environments").await, 0);
    assert_eq!(app.count("variables").await, 0);
    assert_eq!(app.count("users").await, 4);
    assert_eq!(app.count("projects").await, 1);
    let roles: Vec<String> = sqlx::query_scalar("SELECT role FROM memberships ORDER BY role")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(roles, vec!["deployer".to_string(), "viewer".to_string()]);
}

#[tokio::test]
async fn viewer_and_outsider_are_refused_every_rest_mutation() {
    let (app, vic, otto) = world().await;
    for (who, token) in [("viewer", &vic), ("outsider", &otto)] {
        for (method, path, body) in mutations() {
            let (status, err) = app.api(method.clone(), path, Some(token), body).await;
            assert!(
                matches!(status, 403 | 404),
                "{who} {method} {path} answered {status}: {err}"
            );
            assert!(
                err["error"]["code"].is_string(),
                "JSON error for {who} {method} {path}: {err}"
            );
        }
    }
    unchanged(&app).await;
    let denied = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, _, r)| a == "authz.denied" && r == "denied")
        .count();
    assert!(denied >= 10, "refusals are audited ({denied})");
}

#[tokio::test]
async fn anonymous_callers_get_401_everywhere() {
    let (app, _, _) = world().await;
    for (method, path, body) in mutations() {
        let (status, _) = app.api(method.clone(), path, None, body).await;
        assert_eq!(status, 401, "{method} {path}");
    }
    assert_eq!(
        app.api(Method::GET, "/projects", Some("berth_not-a-token"), None)
            .await
            .0,
        401
    );
    unchanged(&app).await;
}

#[tokio::test]
async fn viewer_and_outsider_are_refused_every_mutating_server_function() {
    let (app, _, _) = world().await;
    for who in ["vic", "otto"] {
        let c = app.signed_in(who).await;
        let calls: Vec<(&str, reqwest::Response)> = vec![
            (
                "create_user",
                app.server_fn::<serverfns::users::CreateUser>(
                    &c,
                    &[
                        ("username", "eve"),
                        ("password", PASSWORD),
                        ("instance_role", "admin"),
                    ],
                )
                .await,
            ),
            (
                "set_user_disabled",
                app.server_fn::<serverfns::users::SetUserDisabled>(
                    &c,
                    &[("username", "target"), ("disabled", "true")],
                )
                .await,
            ),
            (
                "create_project",
                app.server_fn::<serverfns::projects::CreateProject>(
                    &c,
                    &[("name", "X"), ("slug", "x")],
                )
                .await,
            ),
            (
                "delete_project",
                app.server_fn::<serverfns::projects::DeleteProject>(&c, &[("slug", "shop")])
                    .await,
            ),
            (
                "set_member",
                app.server_fn::<serverfns::members::SetMember>(
                    &c,
                    &[("project", "shop"), ("username", who), ("role", "admin")],
                )
                .await,
            ),
            (
                "remove_member",
                app.server_fn::<serverfns::members::RemoveMember>(
                    &c,
                    &[("project", "shop"), ("username", "target")],
                )
                .await,
            ),
            (
                "verify_audit",
                app.server_fn::<serverfns::audit::VerifyAudit>(&c, &[])
                    .await,
            ),
        ];
        for (name, res) in calls {
            let status = res.status();
            let body = res.text().await.unwrap();
            assert!(
                !status.is_success() && (body.contains("forbidden") || body.contains("not_found")),
                "{who} {name}: {status} {body}"
            );
        }
    }
    unchanged(&app).await;
}

#[tokio::test]
async fn a_read_token_cannot_write_even_for_an_admin() {
    let (app, _, _) = world().await;
    let read = app.token("root", Scope::Read).await;
    let (status, _) = app
        .api(
            Method::POST,
            "/projects",
            Some(&read),
            Some(json!({"name": "X", "slug": "x"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, list) = app.api(Method::GET, "/projects", Some(&read), None).await;
    assert_eq!(status, 200, "{list}");
    unchanged(&app).await;
}

#[tokio::test]
async fn outsiders_cannot_see_a_project_or_its_audit_events() {
    let (app, vic, otto) = world().await;
    assert_eq!(
        app.api(Method::GET, "/projects/shop", Some(&otto), None)
            .await
            .0,
        404
    );
    let (_, list) = app.api(Method::GET, "/projects", Some(&otto), None).await;
    assert_eq!(list, json!([]));
    let (_, page) = app.api(Method::GET, "/audit", Some(&otto), None).await;
    assert_eq!(page["events"], json!([]));
    let (_, page) = app.api(Method::GET, "/audit", Some(&vic), None).await;
    assert!(page["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["project"] == "shop"));
    assert!(!page["events"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_project_admin_manages_members_but_not_users() {
    let (app, _, _) = world().await;
    app.member("shop", "otto", Role::Admin).await;
    let otto = app.token("otto", Scope::Write).await;
    let (status, m) = app
        .api(
            Method::PUT,
            "/projects/shop/members/vic",
            Some(&otto),
            Some(json!({"role": "maintainer"})),
        )
        .await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["role"], "maintainer");
    let (status, _) = app
        .api(
            Method::POST,
            "/users",
            Some(&otto),
            Some(json!({"username": "eve", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 403);
    let events = app.audit_actions().await;
    assert!(events
        .iter()
        .any(|(a, t, r)| a == "member.set" && t == "project:shop/user:vic" && r == "success"));
}

#[tokio::test]
async fn cross_site_posts_with_the_session_cookie_are_refused() {
    let (app, _, _) = world().await;
    let c = app.signed_in("root").await;
    let path = <serverfns::projects::CreateProject as leptos::server_fn::ServerFn>::PATH;
    let res = c
        .post(format!("{}{path}", app.url))
        .header("origin", "http://evil.example")
        .form(&[("name", "X"), ("slug", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = c
        .post(format!("{}{path}", app.url))
        .header("sec-fetch-site", "cross-site")
        .form(&[("name", "X"), ("slug", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.count("projects").await, 1);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|(a, _, r)| a == "csrf.refused" && r == "denied"));
    // The same request from the panel's own origin goes through.
    let res = app
        .server_fn::<serverfns::projects::CreateProject>(&c, &[("name", "X"), ("slug", "x")])
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(app.count("projects").await, 2);
}
