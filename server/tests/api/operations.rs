//! Health, metrics, the OpenAPI document, and pages served with and without JavaScript.
use crate::support::*;
use berth_model::InstanceRole;

#[tokio::test]
async fn healthz_reports_the_database() {
    let app = spawn().await;
    let body: serde_json::Value = reqwest::get(format!("{}/healthz", app.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["database"]["status"], "ok");
    let kind = if std::env::var("BERTH_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(body["database"]["kind"], kind);

    // The engine's state is reused for a few seconds, not dialled on every call.
    let age = |b: &serde_json::Value| b["docker"]["checked_ms_ago"].as_u64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let again: serde_json::Value = reqwest::get(format!("{}/healthz", app.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    if age(&body) + 150 < 4_500 {
        assert!(age(&again) >= 150, "{body} then {again}");
        assert_eq!(again["docker"]["status"], body["docker"]["status"]);
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn().await;
    for _ in 0..3 {
        reqwest::get(format!("{}/healthz", app.url)).await.unwrap();
    }
    reqwest::get(format!("{}/api/v1/projects", app.url))
        .await
        .unwrap();
    let res = reqwest::get(format!("{}/metrics", app.url)).await.unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            "berth_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} "
        ),
        "{text}"
    );
    assert!(
        text.contains("berth_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"}")
    );
    assert!(text.contains("status=\"401\""), "{text}");
}

#[tokio::test]
async fn the_openapi_document_lists_the_api() {
    let app = spawn().await;
    let doc: serde_json::Value = reqwest::get(format!("{}/api/v1/openapi.json", app.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/projects",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/audit",
        "/api/v1/audit/verify",
        "/api/v1/projects/{project}/members/{username}",
    ] {
        assert!(doc["paths"][p].is_object(), "missing {p}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn anonymous_pages_redirect_to_login() {
    let app = spawn().await;
    let res = plain()
        .get(format!("{}/projects", app.url))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/login?next=/projects");
    let res = plain()
        .get(format!("{}/login", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("id=\"login-form\""));
}

#[tokio::test]
async fn a_plain_form_login_redirects_and_errors_come_back_in_the_url() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let c = browser();
    let login_page = format!("{}/login", app.url);
    let res = app
        .form_login(&c, "alice", "wrong-password-1", "/", Some(&login_page))
        .await;
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("__err="), "{location}");
    let page = c.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("wrong username or password"),
        "the error is rendered next to the form"
    );
    let res = app
        .form_login(&c, "alice", PASSWORD, "/projects", Some(&login_page))
        .await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/projects");
    let page = c.get(format!("{}/projects", app.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("alice"));
}

#[tokio::test]
async fn the_login_form_does_not_redirect_off_site() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let res = app
        .form_login(&browser(), "alice", PASSWORD, "//evil.example/", None)
        .await;
    assert_eq!(res.headers()["location"], "/");
}

#[tokio::test]
async fn signed_in_pages_render_for_a_user() {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    app.project("shop").await;
    let c = app.signed_in("root").await;
    for (path, needle) in [
        ("/", "Dashboard"),
        ("/projects", "shop"),
        ("/projects/shop", "Members"),
        ("/team", "root"),
        ("/tokens", "New token"),
        ("/audit", "project.create"),
        ("/settings", "Change your password"),
    ] {
        let res = c.get(format!("{}{path}", app.url)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains(needle), "{path} should show {needle}");
    }
    let res = c
        .get(format!("{}/no-such-page", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn forms_carry_their_hidden_fields_without_javascript() {
    let app = spawn().await;
    let html = plain()
        .get(format!("{}/login?next=/projects", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"next\" value=\"/projects\""), "{html}");
    let token = berth_core::setup::issue_if_needed(&app.state)
        .await
        .unwrap()
        .expect("token");
    let html = plain()
        .get(format!("{}/setup?token={token}", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("name=\"token\" value=\"{token}\"")),
        "{html}"
    );
}
