//! Where the login form sends the browser afterwards: only to a path on this site.
use crate::support::*;
use berth_model::InstanceRole;

async fn location_after_login(app: &TestApp, next: &str) -> String {
    let res = app
        .form_login(&browser(), "alice", PASSWORD, next, None)
        .await;
    assert_eq!(res.status(), 302, "next={next:?}");
    res.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn login_keeps_a_next_path_on_this_site() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    assert_eq!(
        location_after_login(&app, "/projects/x?tab=1").await,
        "/projects/x?tab=1"
    );
}

#[tokio::test]
async fn login_never_redirects_to_another_origin() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    for next in [
        "//evil.example",
        "/\\evil.example",
        "/%09/evil.example",
        "/\t/evil.example",
        "/%0a/evil.example",
        "/\n/evil.example",
        "/%2f/evil.example",
        "/%5c/evil.example",
        "////evil.example",
        "https:evil.example",
        "https://evil.example",
        "javascript:alert(1)",
        "",
    ] {
        assert_eq!(location_after_login(&app, next).await, "/", "next={next:?}");
    }
}
