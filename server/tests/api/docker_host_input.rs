//! Docker host addresses Berth cannot use are refused at input, on the REST API and in the
//! UI's server function alike, with a message saying what to use instead; nothing changes.
use crate::support::*;
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::{json, Value};

const REFUSED: [&str; 6] = [
    "ssh://deploy@build.example",
    "ssh://10.0.0.5",
    "http://10.0.0.5:2375",
    "https://10.0.0.5:2376",
    "npipe:////./pipe/docker_engine",
    "10.0.0.5:2376",
];

async fn world() -> (TestApp, String) {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    app.project("shop").await;
    app.member("shop", "root", Role::Admin).await;
    let root = app.token("root", Scope::Write).await;
    app.environment("shop", "staging", &root).await;
    (app, root)
}

fn says_what_to_use(host: &str, b: &Value) {
    assert_eq!(b["error"]["field"], "docker_host", "{host}: {b}");
    let m = b["error"]["message"].as_str().unwrap_or("");
    assert!(m.contains("tcp://") && m.contains("TLS"), "{host}: {m}");
    assert!(m.contains("unix://"), "{host}: {m}");
    if host.starts_with("ssh://") {
        assert!(
            m.contains("ssh://"),
            "the message says ssh:// is not supported: {m}"
        );
    }
}

#[tokio::test]
async fn unusable_docker_hosts_are_refused_when_creating_an_environment() {
    let (app, root) = world().await;
    for (i, host) in REFUSED.iter().enumerate() {
        let (s, b) = app
            .api(
                Method::POST,
                "/projects/shop/environments",
                Some(&root),
                Some(json!({"name": "X", "slug": format!("x{i}"), "docker_host": host})),
            )
            .await;
        assert_eq!(s, 422, "{host}: {b}");
        says_what_to_use(host, &b);
    }
    let (_, list) = app
        .api(
            Method::GET,
            "/projects/shop/environments",
            Some(&root),
            None,
        )
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
}

#[tokio::test]
async fn unusable_docker_hosts_are_refused_when_updating_an_environment() {
    let (app, root) = world().await;
    for host in REFUSED {
        let (s, b) = app
            .api(
                Method::PATCH,
                "/projects/shop/environments/staging",
                Some(&root),
                Some(json!({"docker_host": host})),
            )
            .await;
        assert_eq!(s, 422, "{host}: {b}");
        says_what_to_use(host, &b);
    }
    let (_, env) = app
        .api(
            Method::GET,
            "/projects/shop/environments/staging",
            Some(&root),
            None,
        )
        .await;
    assert_eq!(env["docker_host"], "", "{env}");
}

#[tokio::test]
async fn the_settings_form_refuses_an_ssh_docker_host() {
    let (app, _) = world().await;
    let browser = app.signed_in("root").await;
    let res = app
        .server_fn::<app::serverfns::environments::UpdateEnvironment>(
            &browser,
            &[
                ("project", "shop"),
                ("env", "staging"),
                ("name", "Staging"),
                ("docker_host", "ssh://deploy@build.example"),
            ],
        )
        .await;
    let status = res.status().as_u16();
    let body = res.text().await.unwrap_or_default();
    assert!(status >= 400, "{status} {body}");
    assert!(body.contains("unix://") && body.contains("TLS"), "{body}");
    let browser_view =
        berth_core::environments::get(&app.state, &berth_core::Ctx::system(), "shop", "staging")
            .await
            .expect("environment");
    assert_eq!(browser_view.docker_host, "");
}

#[tokio::test]
async fn unix_sockets_and_tcp_hosts_are_accepted() {
    let (app, root) = world().await;
    for host in ["unix:///var/run/docker.sock", "tcp://10.0.0.5:2376", ""] {
        let (s, b) = app
            .api(
                Method::PATCH,
                "/projects/shop/environments/staging",
                Some(&root),
                Some(json!({"docker_host": host})),
            )
            .await;
        assert_eq!(s, 200, "{host}: {b}");
        assert_eq!(b["docker_host"], host);
    }
}
