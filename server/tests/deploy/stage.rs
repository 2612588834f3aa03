//! A project with one environment wired to a real nginx and the local Docker engine, the
//! seed's four sites, and a `web` service running the demo image.
#![allow(dead_code)]

use super::fixture::{self, Cleanup, Nginx};
use super::support::{self, TestApp};
use berth_model::{InstanceRole, Scope};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const SECRET: &str = "s3cret-django-key-42";
pub const SITES: [(&str, &str); 4] = [
    ("main", "localhost"),
    ("site-a", "site-a.local"),
    ("site-b", "site-b.local"),
    ("portal", "portal.local"),
];

pub struct Stage {
    pub app: TestApp,
    pub token: String,
    pub nginx: Nginx,
    pub project: String,
    pub env: String,
    _cleanup: Cleanup,
}

pub fn web_service(replicas: u32) -> Value {
    json!({
        "name": "web",
        "image": "berth-demo:${IMAGE_TAG}",
        "replicas": replicas,
        "http_port": 8000,
        "env": { "DEMO_SECRET_ECHO": "${DJANGO_SECRET_KEY}" },
        "pre_deploy": [{ "name": "migrate", "command": ["migrate"], "timeout_secs": 60 }],
    })
}

pub fn site(name: &str, host: &str, env: &str) -> Value {
    json!({
        "name": name,
        "hosts": { env: { "primary": host, "aliases": [] } },
        "routes": [{ "path": "/", "target": { "kind": "service", "service": "web" } }],
        "health_path": "/api/health",
        "smoke_checks": [{
            "path": "/api/feed?size=1",
            "assertions": [
                { "op": "non_empty", "pointer": ".items" },
                { "op": "equals", "pointer": ".debug.site", "value": "${HOST}" }
            ]
        }],
    })
}

impl Stage {
    pub async fn new(name: &str) -> Stage {
        Stage::with_app(name, support::spawn().await).await
    }

    pub async fn with_app(name: &str, app: TestApp) -> Stage {
        fixture::demo_images();
        let project = format!("{name}-{}", hex::encode(rand::random::<[u8; 3]>()));
        let env = "staging".to_string();
        app.user("admin", InstanceRole::Admin).await;
        let token = app.token("admin", Scope::Write).await;
        let nginx = Nginx::start();
        let stage = Stage {
            app,
            token,
            nginx,
            project: project.clone(),
            env,
            _cleanup: Cleanup { project },
        };
        stage.configure().await;
        stage
    }

    /// Sends the configuration through the REST API, as a user would.
    async fn configure(&self) {
        let ok = |(s, b): (u16, Value), what: &str| assert!(s < 300, "{what}: {s} {b}");
        ok(
            self.call(
                Method::POST,
                "/projects",
                json!({"name": self.project, "slug": self.project}),
            )
            .await,
            "project",
        );
        ok(
            self.call(
                Method::POST,
                &format!("/projects/{}/environments", self.project),
                json!({"name": "Staging", "slug": self.env, "proxy": self.nginx.proxy_settings()}),
            )
            .await,
            "environment",
        );
        self.set_var("IMAGE_TAG", "v1", false).await;
        self.set_var("DJANGO_SECRET_KEY", SECRET, true).await;
        ok(
            self.call(Method::PUT, &self.env_path("/services/web"), web_service(2))
                .await,
            "service",
        );
        for (name, host) in SITES {
            ok(
                self.call(
                    Method::PUT,
                    &format!("/projects/{}/sites/{name}", self.project),
                    site(name, host, &self.env),
                )
                .await,
                "site",
            );
        }
        ok(
            self.call(
                Method::PUT,
                &self.env_path("/deploy-settings"),
                json!({
                    "pull_policy": "if_missing", "pull_timeout_secs": 5, "ready_timeout_secs": 15,
                    "gate_timeout_secs": 8, "gate_interval_secs": 1, "drain_secs": 1,
                    "stop_grace_secs": 5, "job_timeout_secs": 60, "keep_releases": 5
                }),
            )
            .await,
            "deploy settings",
        );
    }

    pub fn env_path(&self, rest: &str) -> String {
        format!("/projects/{}/environments/{}{rest}", self.project, self.env)
    }

    pub async fn call(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        let body = if body.is_null() { None } else { Some(body) };
        self.app.api(method, path, Some(&self.token), body).await
    }

    pub async fn get(&self, path: &str) -> Value {
        let (s, b) = self
            .app
            .api(Method::GET, path, Some(&self.token), None)
            .await;
        assert_eq!(s, 200, "GET {path}: {b}");
        b
    }

    pub async fn set_var(&self, name: &str, value: &str, secret: bool) {
        let (s, b) = self
            .call(
                Method::PUT,
                &self.env_path(&format!("/variables/{name}")),
                json!({"value": value, "secret": secret}),
            )
            .await;
        assert!(s < 300, "set {name}: {s} {b}");
    }

    /// Queues a deploy; returns its id.
    pub async fn deploy(&self, body: Value) -> i64 {
        let (s, b) = self
            .call(Method::POST, &self.env_path("/deploys"), body)
            .await;
        assert_eq!(s, 202, "deploy: {b}");
        b["id"].as_i64().expect("deploy id")
    }

    /// Waits until the deploy has ended; returns its detail (deploy, steps, log).
    pub async fn wait(&self, id: i64) -> Value {
        let t0 = Instant::now();
        loop {
            let d = self.get(&format!("/deploys/{id}")).await;
            let status = d["deploy"]["status"].as_str().unwrap_or("").to_string();
            if !matches!(status.as_str(), "queued" | "running") {
                return d;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(180),
                "deploy {id} still {status} after 180 s: {}",
                log_text(&d)
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn deploy_and_wait(&self, body: Value) -> Value {
        let id = self.deploy(body).await;
        self.wait(id).await
    }

    /// `GET path` through nginx with `Host: host`: (status, JSON body).
    pub async fn through_proxy(&self, host: &str, path: &str) -> (u16, Value) {
        let r = support::plain()
            .get(format!("{}{path}", self.nginx.base()))
            .header("host", host)
            .send()
            .await;
        match r {
            Ok(r) => {
                let s = r.status().as_u16();
                (s, r.json().await.unwrap_or(Value::Null))
            }
            Err(e) => (0, Value::String(e.to_string())),
        }
    }

    /// Every site answers its health path with 200 and reports `version`.
    pub async fn assert_serving(&self, version: &str) {
        for (_, host) in SITES {
            let (s, b) = self.through_proxy(host, "/api/health").await;
            assert_eq!(s, 200, "{host}: {b}");
            assert_eq!(b["version"], version, "{host} answers {b}");
            let (s, feed) = self.through_proxy(host, "/api/feed?size=2").await;
            assert_eq!(s, 200);
            assert_eq!(feed["debug"]["site"], host);
        }
    }

    pub async fn runtime(&self) -> Value {
        self.get(&self.env_path("/containers")).await
    }

    /// Running containers: (release, service) per container.
    pub async fn running(&self) -> Vec<(i64, String)> {
        let rt = self.runtime().await;
        rt["containers"]
            .as_array()
            .expect("containers")
            .iter()
            .filter(|c| c["state"] == "running")
            .map(|c| {
                (
                    c["release"].as_i64().unwrap_or(-1),
                    c["service"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

pub fn log_text(detail: &Value) -> String {
    detail["log"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|x| x["line"].as_str().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

pub fn status(detail: &Value) -> &str {
    detail["deploy"]["status"].as_str().unwrap_or("")
}

pub fn step_status(detail: &Value, name: &str) -> String {
    detail["steps"]
        .as_array()
        .and_then(|s| s.iter().rev().find(|s| s["name"] == name))
        .map(|s| s["status"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| "absent".into())
}
