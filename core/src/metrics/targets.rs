//! What Berth scrapes: every running replica of the services that expose metrics (found from
//! the Docker engine), each environment's static targets, and Berth itself. A target carries
//! the labels every series it exposes gets.
use super::super::deploy::plan::EnvInfo;
use super::super::deploy::rollout::{LABEL_RELEASE, LABEL_REPLICA, LABEL_SERVICE};
use super::config::StaticTarget;
use ::metrics::model::Labels;
use berth_model::MetricsSettings;
use engine::ContainerInfo;
use stack::model::ServiceSpec;
use std::net::SocketAddr;

/// Labels Berth sets on every target; a static target cannot set them itself.
pub const RESERVED_LABELS: &[&str] = &[
    "job",
    "instance",
    "project",
    "environment",
    "service",
    "replica",
    "release",
];

/// The most a scrape reads before it gives up on the target.
pub const BODY_LIMIT: usize = 16 << 20;
/// The most samples one scrape stores (a target's own `sample_limit` may be lower).
pub const SAMPLE_LIMIT: usize = 200_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Replica,
    Static,
    /// Berth's own `/metrics`, read in process.
    Berth,
    /// An environment's containers, read from its Docker engine.
    Docker,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Replica => "replica",
            Kind::Static => "static",
            Kind::Berth => "berth",
            Kind::Docker => "docker",
        }
    }
}

/// One thing to scrape.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Unique among all targets; a changed target gets a new key.
    pub key: String,
    pub kind: Kind,
    pub static_id: Option<i64>,
    pub env_id: Option<i64>,
    /// What is fetched (parameters included).
    pub url: String,
    pub labels: Labels,
    pub interval_ms: i64,
    pub timeout_ms: i64,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub sample_limit: usize,
}

impl Target {
    pub fn job(&self) -> &str {
        self.labels.get("job").unwrap_or("")
    }
    pub fn instance(&self) -> &str {
        self.labels.get("instance").unwrap_or("")
    }
    pub fn project(&self) -> Option<&str> {
        self.labels.get("project")
    }
}

fn key_of(kind: Kind, url: &str, labels: &Labels, interval_ms: i64, extra: &str) -> String {
    format!("{}|{url}|{labels}|{interval_ms}|{extra}", kind.as_str())
}

fn limit(configured: u64) -> usize {
    if configured == 0 {
        SAMPLE_LIMIT
    } else {
        (configured.min(SAMPLE_LIMIT as u64)) as usize
    }
}

/// A static target of environment `env`.
pub fn of_static(t: &StaticTarget, env: &EnvInfo) -> Option<Target> {
    let mut url = reqwest::Url::parse(&format!("{}://{}", t.scheme, t.address)).ok()?;
    url.set_path(&t.metrics_path);
    if !t.params.is_empty() {
        let mut q = url.query_pairs_mut();
        for (n, v) in &t.params {
            q.append_pair(n, v);
        }
    }
    let mut pairs: Vec<(String, String)> = t
        .labels
        .iter()
        .filter(|(n, _)| !RESERVED_LABELS.contains(&n.as_str()))
        .cloned()
        .collect();
    pairs.extend([
        ("job".to_string(), t.job_name.clone()),
        ("instance".to_string(), t.address.clone()),
        ("project".to_string(), env.project.clone()),
        ("environment".to_string(), env.slug.clone()),
    ]);
    let labels = Labels::new(pairs);
    let extra = format!(
        "{}{}{}{}",
        t.timeout_ms, t.honor_labels, t.honor_timestamps, t.sample_limit
    );
    Some(Target {
        key: key_of(Kind::Static, url.as_str(), &labels, t.interval_ms, &extra),
        kind: Kind::Static,
        static_id: Some(t.id),
        env_id: Some(env.id),
        url: url.to_string(),
        labels,
        interval_ms: t.interval_ms,
        timeout_ms: t.timeout_ms,
        honor_labels: t.honor_labels,
        honor_timestamps: t.honor_timestamps,
        sample_limit: limit(t.sample_limit),
    })
}

/// Where a replica's metrics answer: its published HTTP port when metrics are on the HTTP
/// port, else its address on its network (reachable when Berth runs on the Docker host).
fn replica_addr(c: &ContainerInfo, spec: &ServiceSpec) -> Option<SocketAddr> {
    let port = spec.metrics.port.or(spec.http_port)?;
    if Some(port) == spec.http_port {
        if let Some(a) = c.http_addr {
            return Some(a);
        }
    }
    c.ips.values().next().map(|ip| SocketAddr::new(*ip, port))
}

/// The running replicas of environment `env` whose service exposes metrics.
pub fn of_replicas(
    env: &EnvInfo,
    settings: &MetricsSettings,
    services: &[ServiceSpec],
    containers: &[ContainerInfo],
) -> Vec<Target> {
    if !settings.scrape_replicas {
        return Vec::new();
    }
    let mut out = Vec::new();
    for c in containers.iter().filter(|c| c.state == "running") {
        let Some(name) = c.labels.get(LABEL_SERVICE) else {
            continue;
        };
        let Some(spec) = services.iter().find(|s| &s.name == name) else {
            continue;
        };
        if spec.metrics.off || spec.internal && spec.metrics.port.is_none() {
            continue;
        }
        let Some(addr) = replica_addr(c, spec) else {
            continue;
        };
        let url = format!("http://{addr}{}", spec.metrics.path());
        let labels = Labels::new([
            ("job", name.as_str()),
            ("instance", &addr.to_string()),
            ("project", &env.project),
            ("environment", &env.slug),
            ("service", name.as_str()),
            (
                "replica",
                c.labels
                    .get(LABEL_REPLICA)
                    .map(String::as_str)
                    .unwrap_or(""),
            ),
            (
                "release",
                c.labels
                    .get(LABEL_RELEASE)
                    .map(String::as_str)
                    .unwrap_or(""),
            ),
        ]);
        out.push(Target {
            key: key_of(Kind::Replica, &url, &labels, settings.interval_ms, &c.id),
            kind: Kind::Replica,
            static_id: None,
            env_id: Some(env.id),
            url,
            labels,
            interval_ms: settings.interval_ms,
            timeout_ms: settings.timeout_ms,
            honor_labels: false,
            honor_timestamps: true,
            sample_limit: SAMPLE_LIMIT,
        });
    }
    out
}

/// Berth's own metrics, every 15 s.
pub fn berth() -> Target {
    let labels = Labels::new([("job", "berth"), ("instance", "berth")]);
    Target {
        key: key_of(Kind::Berth, "berth:/metrics", &labels, 15_000, ""),
        kind: Kind::Berth,
        static_id: None,
        env_id: None,
        url: "/metrics".into(),
        labels,
        interval_ms: 15_000,
        timeout_ms: 5_000,
        honor_labels: false,
        honor_timestamps: true,
        sample_limit: SAMPLE_LIMIT,
    }
}

/// Environment `env`'s containers, from its Docker engine (job `docker`).
pub fn docker(env: &EnvInfo, settings: &MetricsSettings) -> Target {
    let instance = if env.docker_host.is_empty() {
        "local"
    } else {
        env.docker_host.as_str()
    };
    let labels = Labels::new([
        ("job", "docker"),
        ("instance", instance),
        ("project", env.project.as_str()),
        ("environment", env.slug.as_str()),
    ]);
    let url = format!("docker:{instance}");
    Target {
        key: key_of(
            Kind::Docker,
            &url,
            &labels,
            settings.interval_ms,
            &env.id.to_string(),
        ),
        kind: Kind::Docker,
        static_id: None,
        env_id: Some(env.id),
        url,
        labels,
        interval_ms: settings.interval_ms,
        timeout_ms: settings.timeout_ms,
        honor_labels: false,
        honor_timestamps: true,
        sample_limit: SAMPLE_LIMIT,
    }
}
