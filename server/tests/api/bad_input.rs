//! Bad input gets a clear 4xx and changes nothing.
use crate::support::*;
use berth_model::{InstanceRole, Scope};
use reqwest::Method;
use serde_json::json;

async fn admin() -> (TestApp, String) {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    let t = app.token("root", Scope::Write).await;
    (app, t)
}

async fn post_raw(
    app: &TestApp,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let res = plain()
        .post(format!("{}/api/v1/projects", app.url))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn malformed_json_is_a_400_with_a_json_error() {
    let (app, t) = admin().await;
    let (s, e) = post_raw(&app, &t, "application/json", b"{\"name\": ".to_vec()).await;
    assert_eq!(s, 400);
    assert_eq!(e["error"]["code"], "malformed_json");
    assert_eq!(app.count("projects").await, 0);
}

#[tokio::test]
async fn wrong_content_type_is_a_415() {
    let (app, t) = admin().await;
    let (s, e) = post_raw(
        &app,
        &t,
        "text/plain",
        b"{\"name\":\"a\",\"slug\":\"a\"}".to_vec(),
    )
    .await;
    assert_eq!(s, 415);
    assert_eq!(e["error"]["code"], "unsupported_media_type");
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_refused() {
    let (app, t) = admin().await;
    let (s, e) = app
        .api(
            Method::POST,
            "/projects",
            Some(&t),
            Some(json!({"name": "a", "slug": "a", "owner": "x"})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("owner"));
    let (s, _) = app
        .api(
            Method::POST,
            "/projects",
            Some(&t),
            Some(json!({"name": 5, "slug": "a"})),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .api(
            Method::PUT,
            "/projects/a/members/root",
            Some(&t),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert!(s == 422 || s == 404);
    assert_eq!(app.count("projects").await, 0);
}

#[tokio::test]
async fn invalid_values_name_the_field() {
    let (app, t) = admin().await;
    for (body, field) in [
        (json!({"name": "a", "slug": "Not A Slug"}), "slug"),
        (json!({"name": "x".repeat(101), "slug": "ok"}), "name"),
        (json!({"name": "", "slug": "ok"}), "name"),
        (json!({"name": "a\u{0007}b", "slug": "ok"}), "name"),
    ] {
        let (s, e) = app
            .api(Method::POST, "/projects", Some(&t), Some(body))
            .await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(e["error"]["field"], field, "{e}");
    }
    let (s, e) = app
        .api(
            Method::POST,
            "/users",
            Some(&t),
            Some(json!({"username": "bob", "password": "short"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(e["error"]["field"], "password");
    let c = app.signed_in("root").await;
    let res = c
        .post(format!("{}/api/v1/tokens", app.url))
        .headers(app.origin_headers())
        .json(&json!({"name": "x", "scope": "read", "expires_in": "5 years"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(
        app.count("api_tokens").await,
        1,
        "only the test's own token"
    );
    assert_eq!(app.count("projects").await, 0);
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test]
async fn duplicates_are_refused_and_change_nothing() {
    let (app, t) = admin().await;
    let (s, _) = app
        .api(
            Method::POST,
            "/projects",
            Some(&t),
            Some(json!({"name": "a", "slug": "a"})),
        )
        .await;
    assert_eq!(s, 201);
    let events = app.count("audit_events").await;
    let (s, e) = app
        .api(
            Method::POST,
            "/projects",
            Some(&t),
            Some(json!({"name": "b", "slug": "a"})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(app.count("projects").await, 1);
    assert_eq!(
        app.count("audit_events").await,
        events,
        "a refused write leaves no trace but itself"
    );
}

#[tokio::test]
async fn oversized_bodies_are_a_413() {
    let (app, t) = admin().await;
    let big = format!(
        "{{\"name\":\"{}\",\"slug\":\"a\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    // The server answers 413 as soon as it sees the length; the client may still be writing
    // and see the connection closed instead. Either way nothing is written.
    let res = plain()
        .post(format!("{}/api/v1/projects", app.url))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body(big.into_bytes())
        .send()
        .await;
    match res {
        Ok(r) => assert_eq!(r.status(), 413),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    assert_eq!(app.count("projects").await, 0);
}

#[tokio::test]
async fn invalid_utf8_in_headers_is_refused_cleanly() {
    let (app, _) = admin().await;
    let res = plain()
        .get(format!("{}/api/v1/projects", app.url))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        )
        .header(
            "user-agent",
            reqwest::header::HeaderValue::from_bytes(b"agent \xff").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn malformed_forms_to_server_functions_are_a_4xx() {
    let (app, _) = admin().await;
    let c = app.signed_in("root").await;
    let path = <app::serverfns::projects::CreateProject as leptos::server_fn::ServerFn>::PATH;
    let res = c
        .post(format!("{}{path}", app.url))
        .headers(app.origin_headers())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=onlyname")
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_client_error() || res.status().is_server_error(),
        "{}",
        res.status()
    );
    assert_ne!(res.status(), 200);
    assert_eq!(app.count("projects").await, 0);
}

#[tokio::test]
async fn unknown_api_paths_are_json_404s() {
    let (app, t) = admin().await;
    let (s, e) = app.api(Method::GET, "/nope", Some(&t), None).await;
    assert_eq!(s, 404);
    assert_eq!(e["error"]["code"], "not_found");
}

#[tokio::test]
async fn unparsable_queries_paths_and_methods_get_json_errors() {
    let (app, t) = admin().await;
    for (method, path, status, code) in [
        (Method::GET, "/audit?limit=AAA", 400, "bad_request"),
        (
            Method::GET,
            "/deploys/9223372036854775808",
            400,
            "bad_request",
        ),
        (Method::GET, "/deploys/1?after=x", 400, "bad_request"),
        (Method::TRACE, "/projects", 405, "method_not_allowed"),
    ] {
        let (s, e) = app.api(method.clone(), path, Some(&t), None).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {e}"
        );
        assert!(
            !e["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{path}: {e}"
        );
    }
}
