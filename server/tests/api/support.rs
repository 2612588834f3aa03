//! Spawning Berth for a test, and talking to it as a browser, a token holder or the shell.
#![allow(dead_code)]

use berth_core::{members, projects, tokens, users, AppState, Ctx};
use berth_model::{InstanceRole, Role, Scope};
use berth_server::config::Config;
use leptos::server_fn::ServerFn;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use std::time::Duration;

pub const PASSWORD: &str = "correct-horse-battery";

/// A request that takes longer fails its test instead of hanging the suite.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct TestApp {
    pub url: String,
    pub state: AppState,
    pub config: Config,
    pub data_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// A fresh, empty database URL: a temp SQLite file, or a new PostgreSQL database.
pub async fn fresh_database(data_dir: &std::path::Path) -> Option<String> {
    let base = std::env::var("BERTH_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let name = format!("berth_test_{}", hex::encode(rand::random::<[u8; 8]>()));
    let db = berth_core::Db::connect(&base)
        .await
        .expect("connect to the test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&db.pool)
        .await
        .expect("create the test database");
    db.pool.close().await;
    let _ = data_dir;
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    Some(format!("{prefix}/{name}"))
}

fn server_runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime")
    })
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let db_url = fresh_database(data_dir.path()).await;
    let mut config = Config::for_data_dir(data_dir.path().to_path_buf(), db_url);
    // The tests' exporters and Prometheus listen on loopback (a test of the rule turns it off).
    config.metrics_allow_loopback = true;
    tweak(&mut config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let state = berth_server::build_state(&config).await.expect("state");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let cfg = config.clone();
    // Every test's server runs on one shared runtime that outlives the tests: Leptos keeps
    // process-wide state, and a server on a test's own runtime could be left with work
    // parked on another test's runtime after that one ended.
    let server = server_runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        berth_server::launch_with_listener(cfg, listener, async move {
            let _ = rx.await;
        })
        .await
        .expect("server runs");
    });
    let app = TestApp {
        url,
        state,
        config,
        data_dir,
        shutdown: Some(tx),
        server: Some(server),
    };
    for _ in 0..100 {
        if reqwest::get(format!("{}/healthz", app.url)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app
}

impl TestApp {
    /// Stops the server (and its background workers); the data stays.
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // A graceful stop closes the server's own pool (its connections count on a shared
        // PostgreSQL); a server that has not stopped 10 s later is aborted.
        if let Some(h) = self.server.take() {
            server_runtime().spawn(async move {
                let abort = h.abort_handle();
                if tokio::time::timeout(Duration::from_secs(10), h)
                    .await
                    .is_err()
                {
                    abort.abort();
                }
            });
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
        // Background workers (deploy runner, watchdog) keep the state alive on the shared
        // runtime: close the pool so a long suite does not pile up idle connections on a
        // shared PostgreSQL server.
        let pool = self.state.db.pool.clone();
        server_runtime().spawn(async move { pool.close().await });
    }
}

/// A browser-like client: keeps cookies, sends same-origin headers on posts.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn plain() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    pub fn database_url(&self) -> String {
        self.config.database_url()
    }

    pub async fn user(&self, name: &str, role: InstanceRole) -> i64 {
        users::create_from_cli(&self.state, name, PASSWORD, role)
            .await
            .expect("create user")
            .id
    }

    pub async fn project(&self, slug: &str) -> i64 {
        projects::create(&self.state, &Ctx::system(), slug, slug)
            .await
            .expect("create project")
            .id
    }

    pub async fn member(&self, project: &str, user: &str, role: Role) {
        members::set(&self.state, &Ctx::system(), project, user, role)
            .await
            .expect("set member");
    }

    pub async fn token(&self, user: &str, scope: Scope) -> String {
        tokens::create(
            &self.state,
            &Ctx::system(),
            Some(user),
            &format!("t-{}", rand::random::<u32>()),
            scope,
            "",
        )
        .await
        .expect("token")
        .secret
    }

    pub fn origin_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("origin", HeaderValue::from_str(&self.url).expect("origin"));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        h
    }

    /// Calls a server function the way the hydrated UI does (form-encoded, same origin).
    pub async fn server_fn<S: ServerFn>(
        &self,
        client: &reqwest::Client,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(format!("{}{}", self.url, S::PATH))
            .headers(self.origin_headers())
            .form(form)
            .send()
            .await
            .expect("server fn call")
    }

    pub async fn login(
        &self,
        client: &reqwest::Client,
        user: &str,
        password: &str,
    ) -> reqwest::Response {
        self.server_fn::<app::serverfns::auth::Login>(
            client,
            &[("username", user), ("password", password)],
        )
        .await
    }

    /// A signed-in browser client.
    pub async fn signed_in(&self, user: &str) -> reqwest::Client {
        let c = browser();
        let res = self.login(&c, user, PASSWORD).await;
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "login: {}",
            res.status()
        );
        c
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = plain().request(method, format!("{}/api/v1{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("api call");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Audit events, oldest first.
    pub async fn audit_actions(&self) -> Vec<(String, String, String)> {
        let page = berth_core::audit::list(
            &self.state.db,
            &None,
            &berth_model::AuditFilter {
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .expect("audit list");
        page.events
            .into_iter()
            .rev()
            .map(|e| (e.action, e.target, e.result))
            .collect()
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.state.db.pool)
            .await
            .expect("count")
    }

    /// The status of `GET /api/v1/me` for this client (200 signed in, 401 not).
    pub async fn me_status(&self, c: &reqwest::Client) -> u16 {
        c.get(format!("{}/api/v1/me", self.url))
            .send()
            .await
            .expect("me")
            .status()
            .as_u16()
    }

    /// Posts the login form the way a browser without JavaScript does.
    pub async fn form_login(
        &self,
        c: &reqwest::Client,
        user: &str,
        password: &str,
        next: &str,
        referer: Option<&str>,
    ) -> reqwest::Response {
        let path = <app::serverfns::auth::Login as ServerFn>::PATH;
        let mut req = c
            .post(format!("{}{path}", self.url))
            .header("accept", "text/html")
            .header("origin", &self.url);
        if let Some(r) = referer {
            req = req.header("referer", r);
        }
        req.form(&[("username", user), ("password", password), ("next", next)])
            .send()
            .await
            .expect("form login")
    }

    /// A PromQL instant query (`POST /api/v1/query`) with a bearer token: the answer, which
    /// must be a 200.
    pub async fn promql(&self, token: &str, expr: &str) -> Value {
        let res = plain()
            .post(format!("{}/api/v1/query", self.url))
            .bearer_auth(token)
            .form(&[("query", expr)])
            .send()
            .await
            .expect("query");
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "{expr}: {body}");
        body
    }

    /// `GET /api/v1{path}` as text, with a bearer token.
    pub async fn text(&self, path: &str, token: &str) -> String {
        plain()
            .get(format!("{}/api/v1{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("text")
    }

    /// `PUT` a variable or secret; returns the status and body.
    /// Creates the environment `slug` (named after it) in `project` through the API.
    pub async fn environment(&self, project: &str, slug: &str, token: &str) {
        let (s, b) = self
            .api(
                reqwest::Method::POST,
                &format!("/projects/{project}/environments"),
                Some(token),
                Some(serde_json::json!({"name": slug, "slug": slug})),
            )
            .await;
        assert_eq!(s, 201, "create environment {slug}: {b}");
    }

    pub async fn put_var(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.api(reqwest::Method::PUT, path, Some(token), Some(body))
            .await
    }
}
