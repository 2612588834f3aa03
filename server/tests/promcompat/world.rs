//! Everything the comparison runs on: Berth (project `promcompat`, environment
//! `production`, scraping every target each second and remote-writing what it stores to
//! the `receiver` Prometheus), a second Prometheus (`direct`) scraping the same targets
//! itself, the three demo sites with their traffic, and the edge exporter.
use super::compare::Api;
use super::demos::{self, Demo, Traffic};
use super::edge::Edge;
use super::prometheus::Prometheus;
use super::support::{spawn, TestApp};
use berth_model::{InstanceRole, Scope};
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

pub const PROJECT: &str = "promcompat";
pub const ENVIRONMENT: &str = "production";
const INTERVAL_MS: u64 = 1_000;
const TIMEOUT_MS: u64 = 900;

/// A scrape target, the same for Berth and for the `direct` Prometheus.
#[derive(Clone, Debug)]
pub struct Target {
    pub job: &'static str,
    pub address: String,
    pub path: &'static str,
}

impl Target {
    /// Whether every scrape of it should succeed (`flaky` fails some on purpose).
    pub fn steady(&self) -> bool {
        self.job != "flaky"
    }

    pub fn selector(&self) -> String {
        format!("{{job=\"{}\",instance=\"{}\"}}", self.job, self.address)
    }
}

// Dropped in this order: the traffic stops before the demos do.
pub struct World {
    _traffic: Traffic,
    pub app: TestApp,
    pub admin: String,
    pub receiver: Prometheus,
    pub direct: Prometheus,
    pub targets: Vec<Target>,
    /// When the targets were added: data accumulates from here.
    pub started: Instant,
    _edge: Edge,
    _demos: Vec<Demo>,
}

/// The `direct` Prometheus's configuration: the same targets, scraped the same way (one
/// scrape config per job: the three demos share `django`).
fn direct_config(targets: &[Target]) -> String {
    let mut out = format!(
        "global:\n  scrape_interval: {INTERVAL_MS}ms\n  scrape_timeout: {TIMEOUT_MS}ms\n\
         scrape_configs:\n"
    );
    let mut jobs: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    for t in targets {
        match jobs.iter_mut().find(|(job, _, _)| *job == t.job) {
            Some((_, _, list)) => list.push(&t.address),
            None => jobs.push((t.job, t.path, vec![&t.address])),
        }
    }
    for (job, path, addresses) in jobs {
        out.push_str(&format!(
            "  - job_name: {job}\n    metrics_path: {path}\n    static_configs:\n\
             \x20     - targets: {addresses:?}\n"
        ));
    }
    out
}

impl World {
    pub async fn start() -> World {
        // Before anything else, so that a machine without prometheus fails at once.
        super::prometheus::binary();
        let demos = demos::start_all();
        let edge = Edge::start().await;
        let mut targets: Vec<Target> = demos
            .iter()
            .map(|d| Target {
                job: "django",
                address: d.address(),
                path: "/metrics",
            })
            .collect();
        for (job, path) in [("edge", "/metrics"), ("flaky", "/flaky")] {
            let address = edge.addr.to_string();
            targets.push(Target { job, address, path });
        }
        let receiver = Prometheus::start("receiver", "global:\n  evaluation_interval: 1m\n").await;
        let direct = Prometheus::start("direct", &direct_config(&targets)).await;

        let app = spawn().await;
        app.user("root", InstanceRole::Admin).await;
        let admin = app.token("root", Scope::Write).await;
        app.project(PROJECT).await;
        app.environment(PROJECT, ENVIRONMENT, &admin).await;
        let env = format!("/projects/{PROJECT}/environments/{ENVIRONMENT}/metrics");
        let settings = json!({
            "scrape_replicas": true, "interval_ms": INTERVAL_MS, "timeout_ms": TIMEOUT_MS,
            "retention_raw_days": 15, "retention_rollup_days": 90,
            "remote_write_url": format!("{}/api/v1/write", receiver.url),
        });
        let (s, b) = app
            .api(
                Method::PUT,
                &format!("{env}/settings"),
                Some(&admin),
                Some(settings),
            )
            .await;
        assert_eq!(s, 200, "metrics settings: {b}");
        for t in &targets {
            let body = json!({"job_name": t.job, "address": t.address, "metrics_path": t.path,
                              "interval_ms": INTERVAL_MS, "timeout_ms": TIMEOUT_MS});
            let (s, b) = app
                .api(
                    Method::POST,
                    &format!("{env}/targets"),
                    Some(&admin),
                    Some(body),
                )
                .await;
            assert_eq!(s, 201, "add target {t:?}: {b}");
        }
        let traffic = Traffic::start(&demos).await;
        World {
            _traffic: traffic,
            app,
            admin,
            receiver,
            direct,
            targets,
            started: Instant::now(),
            _edge: edge,
            _demos: demos,
        }
    }

    /// Berth's query API for the project: the global `/api/v1` also holds Berth's own
    /// series (`up{job="berth"}`, from scraping itself), which are no environment's and so
    /// never remote-written.
    pub fn berth(&self) -> Api {
        let base = format!("{}/api/v1/projects/{PROJECT}/prometheus", self.app.url);
        Api::new(&base, Some(&self.admin))
    }

    pub fn receiver(&self) -> Api {
        Api::new(&self.receiver.url, None)
    }

    pub fn direct(&self) -> Api {
        Api::new(&self.direct.url, None)
    }

    /// Waits until Berth scrapes every target and the receiver has its samples; fails
    /// with what each side knows otherwise.
    pub async fn wait_for_data(&self) {
        let want = self.targets.len() as f64;
        let deadline = Instant::now() + Duration::from_secs(40);
        let (berth, receiver) = (self.berth(), self.receiver());
        loop {
            let b = berth.single("count(up)").await;
            let r = receiver.single("count(up)").await;
            if b == Some(want) && r == Some(want) {
                return;
            }
            if Instant::now() > deadline {
                let (_, list) = self
                    .app
                    .api(
                        Method::GET,
                        &format!("/projects/{PROJECT}/environments/{ENVIRONMENT}/metrics/targets"),
                        Some(&self.admin),
                        None,
                    )
                    .await;
                let up = berth.get("/query", &[("query", "up".to_string())]).await;
                panic!(
                    "after 40 s, Berth has `up` for {b:?} targets and the receiving Prometheus \
                     for {r:?}, of {want}.\nBerth's up: {up}\nBerth's targets: {list}\n\
                     receiver log:\n{}",
                    self.receiver.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The newest whole second that both sides surely hold entirely: a little behind the
    /// last sample the receiver got (remote write sends every few seconds).
    pub async fn aligned_end(&self) -> i64 {
        let received = self
            .receiver()
            .single("min(timestamp(up))")
            .await
            .expect("the receiver has `up` samples");
        // A send may be split in several requests: let the last one land.
        tokio::time::sleep(Duration::from_secs(1)).await;
        received.floor() as i64 - 2
    }
}
