//! Remote Docker hosts: a `tcp://` engine is reached over TLS or not at all. Missing TLS
//! secrets refuse the deploy by name (no plain-HTTP fallback, checked with a listener that
//! records every connection), plain TCP only for a host an instance admin marked insecure,
//! and Docker host addresses Berth cannot use are refused at input.
use crate::support::*;
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TLS_SECRETS: [&str; 3] = [
    "DOCKER_TLS_CA_CERT",
    "DOCKER_TLS_CLIENT_CERT",
    "DOCKER_TLS_CLIENT_KEY",
];

/// A loopback port standing in for a remote engine: it records the first bytes of every
/// connection and answers nothing useful.
struct FakeEngine {
    port: u16,
    connections: Arc<AtomicUsize>,
    first_bytes: Arc<Mutex<Vec<u8>>>,
}

impl FakeEngine {
    async fn start() -> FakeEngine {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let first_bytes = Arc::new(Mutex::new(Vec::new()));
        let (n, bytes) = (connections.clone(), first_bytes.clone());
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut sock, _)) = listener.accept().await {
                n.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 64];
                let read = tokio::time::timeout(Duration::from_secs(2), sock.read(&mut buf)).await;
                if let Ok(Ok(len)) = read {
                    let mut b = bytes.lock().expect("lock");
                    if b.is_empty() {
                        b.extend_from_slice(&buf[..len]);
                    }
                }
                let _ = sock
                    .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        FakeEngine {
            port,
            connections,
            first_bytes,
        }
    }

    fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn first_bytes(&self) -> String {
        String::from_utf8_lossy(&self.first_bytes.lock().expect("lock")).to_string()
    }
}

struct World {
    app: TestApp,
    /// Instance admin.
    root: String,
    /// Project admin (not an instance admin).
    padmin: String,
    /// Project maintainer.
    maint: String,
    engine: FakeEngine,
}

const ENV: &str = "/projects/shop/environments/remote";

async fn world() -> World {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    for u in ["ada", "max"] {
        app.user(u, InstanceRole::User).await;
    }
    app.project("shop").await;
    app.member("shop", "ada", Role::Admin).await;
    app.member("shop", "max", Role::Maintainer).await;
    let root = app.token("root", Scope::Write).await;
    let padmin = app.token("ada", Scope::Write).await;
    let maint = app.token("max", Scope::Write).await;
    let engine = FakeEngine::start().await;
    let (s, b) = app
        .api(
            Method::POST,
            "/projects/shop/environments",
            Some(&padmin),
            Some(json!({"name": "Remote", "slug": "remote", "docker_host": engine.host()})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    World {
        app,
        root,
        padmin,
        maint,
        engine,
    }
}

impl World {
    async fn set_secret(&self, name: &str, value: &str) {
        let (s, b) = self
            .app
            .put_var(
                &format!("{ENV}/variables/{name}"),
                &self.maint,
                json!({"value": value, "secret": true}),
            )
            .await;
        assert!(s < 300, "set {name}: {s} {b}");
    }

    async fn patch(&self, token: &str, body: Value) -> (u16, Value) {
        self.app
            .api(Method::PATCH, ENV, Some(token), Some(body))
            .await
    }

    async fn view(&self) -> Value {
        let (s, b) = self.app.api(Method::GET, ENV, Some(&self.root), None).await;
        assert_eq!(s, 200, "{b}");
        b
    }

    /// The environment's runtime view (it asks the engine for the containers).
    async fn containers(&self) -> Value {
        let (s, b) = self
            .app
            .api(
                Method::GET,
                &format!("{ENV}/containers"),
                Some(&self.root),
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b
    }

    /// Deploys and waits for the end; returns the deploy's status and failure cause.
    async fn deploy(&self) -> (String, String) {
        let (s, b) = self
            .app
            .api(
                Method::POST,
                &format!("{ENV}/deploys"),
                Some(&self.root),
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 202, "{b}");
        let id = b["id"].as_i64().expect("deploy id");
        let t0 = Instant::now();
        loop {
            let (_, d) = self
                .app
                .api(
                    Method::GET,
                    &format!("/deploys/{id}"),
                    Some(&self.root),
                    None,
                )
                .await;
            let status = d["deploy"]["status"].as_str().unwrap_or("").to_string();
            if !matches!(status.as_str(), "queued" | "running" | "") {
                let cause = d["deploy"]["cause"].as_str().unwrap_or("").to_string();
                return (status, cause);
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "deploy {id}: {d}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn a_tcp_host_without_tls_secrets_refuses_to_deploy_naming_them() {
    let w = world().await;
    let (status, cause) = w.deploy().await;
    assert_eq!(status, "failed", "{cause}");
    for name in TLS_SECRETS {
        assert!(cause.contains(name), "{name} not named in: {cause}");
    }
    assert!(cause.contains("TLS"), "{cause}");
    assert_eq!(
        w.engine.connections(),
        0,
        "Berth talked to the engine anyway"
    );
    let b = w.containers().await;
    assert_eq!(b["engine_ok"], false, "{b}");
    assert!(
        b["engine"]
            .as_str()
            .unwrap_or("")
            .contains("DOCKER_TLS_CA_CERT"),
        "{b}"
    );
    assert_eq!(w.engine.connections(), 0);
}

#[tokio::test]
async fn a_maintainer_deleting_one_tls_secret_does_not_downgrade_the_host() {
    let w = world().await;
    for name in TLS_SECRETS {
        w.set_secret(
            name,
            "-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n",
        )
        .await;
    }
    let (s, b) = w
        .app
        .api(
            Method::DELETE,
            &format!("{ENV}/variables/DOCKER_TLS_CLIENT_KEY"),
            Some(&w.maint),
            None,
        )
        .await;
    assert!(s < 300, "{s} {b}");
    assert_eq!(
        w.view().await["docker_tls_missing"],
        json!(["DOCKER_TLS_CLIENT_KEY"])
    );
    let (status, cause) = w.deploy().await;
    assert_eq!(status, "failed", "{cause}");
    assert!(cause.contains("DOCKER_TLS_CLIENT_KEY"), "{cause}");
    assert!(!cause.contains("DOCKER_TLS_CA_CERT"), "{cause}");
    assert!(
        !cause.contains("not really"),
        "a secret value in the cause: {cause}"
    );
    assert_eq!(
        w.engine.connections(),
        0,
        "the host was reached without TLS after a secret was deleted"
    );
}

#[tokio::test]
async fn only_an_instance_admin_marks_a_docker_host_insecure() {
    let w = world().await;
    assert_eq!(w.view().await["docker_insecure"], false);
    for token in [&w.padmin, &w.maint] {
        let (s, b) = w.patch(token, json!({"docker_insecure": true})).await;
        assert_eq!(s, 403, "{b}");
    }
    assert_eq!(w.view().await["docker_insecure"], false);
    let denied = w
        .app
        .audit_actions()
        .await
        .into_iter()
        .filter(|a| a.0 == "authz.denied")
        .count();
    assert!(denied >= 2, "the refusals are audited");

    let (s, b) = w.patch(&w.root, json!({"docker_insecure": true})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["docker_insecure"], true);
    let page = berth_core::audit::list(
        &w.app.state.db,
        &None,
        &berth_model::AuditFilter {
            limit: Some(1000),
            ..Default::default()
        },
    )
    .await
    .expect("audit");
    let marked = page
        .events
        .iter()
        .find(|e| e.action == "environment.update")
        .expect("an environment.update event");
    let summary = marked.summary.to_string();
    assert!(
        summary.contains("docker_insecure") && summary.contains("true"),
        "{summary}"
    );
}

#[tokio::test]
async fn an_insecure_host_is_reached_over_plain_tcp_and_shown_as_a_warning() {
    let w = world().await;
    let (s, b) = w.patch(&w.root, json!({"docker_insecure": true})).await;
    assert_eq!(s, 200, "{b}");
    let b = w.containers().await;
    assert_eq!(b["engine_ok"], false, "the fake engine answers 500: {b}");
    assert!(w.engine.connections() > 0, "plain TCP was not tried: {b}");
    let first = w.engine.first_bytes();
    assert!(
        first.starts_with("GET ") || first.starts_with("HEAD "),
        "not plain HTTP: {first:?}"
    );

    let browser = w.app.signed_in("ada").await;
    let html = browser
        .get(format!("{}/projects/shop/environments/remote", w.app.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("id=\"docker-insecure\""),
        "no warning on the page"
    );
    assert!(html.contains("without TLS"), "the warning says why");
    // The page keeps listing the TLS secrets still to set.
    assert!(html.contains("id=\"docker-tls-missing\""));
}

#[tokio::test]
async fn pointing_an_insecure_environment_at_another_host_clears_the_mark() {
    let w = world().await;
    let (s, b) = w.patch(&w.root, json!({"docker_insecure": true})).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = w
        .patch(&w.padmin, json!({"docker_host": "tcp://127.0.0.1:1"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["docker_insecure"], false);
    // A round trip of the whole view does not need the instance admin.
    let mut view = w.view().await;
    view["name"] = json!("Remote 2");
    let (s, b) = w
        .patch(
            &w.padmin,
            json!({"name": view["name"], "docker_host": view["docker_host"], "docker_insecure": view["docker_insecure"]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn only_a_tcp_host_can_be_marked_insecure() {
    let w = world().await;
    let (s, b) = w
        .patch(
            &w.root,
            json!({"docker_host": "unix:///var/run/docker.sock", "docker_insecure": true}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["error"]["field"], "docker_insecure", "{b}");
}
