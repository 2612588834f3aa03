//! The specs Berth stores per environment, as they cross the wire and sit in the database
//! (as JSON). Every field has a default so that older stored specs keep loading.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One service of an environment (the seed: `authoring`, `portal`, `postgres`, ...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceSpec {
    /// DNS-label-like name, unique in the environment.
    pub name: String,
    /// Image with a tag template, e.g. `idp-cms/authoring:${GIT_SHA}`.
    pub image: String,
    pub replicas: u32,
    /// Command override, as argv (empty: the image's default).
    pub command: Vec<String>,
    /// Environment overrides (win over environment and project variables). A `${NAME}` in a
    /// value grants the service that variable, whatever [`ServiceSpec::inherit`] says.
    pub env: BTreeMap<String, String>,
    /// Which of the environment's application variables the service receives: `None`, every
    /// one of them; `Some(names)`, only these (compose `environment: [NAME]` style). Names
    /// Berth keeps for itself ([`crate::reserved`]) are never passed, either way.
    pub inherit: Option<Vec<String>>,
    pub ports: Vec<PortSpec>,
    pub volumes: Vec<VolumeSpec>,
    pub resources: Resources,
    pub health: Option<HealthCheck>,
    /// One-off commands run with the new image before switching, in order.
    pub pre_deploy: Vec<Job>,
    /// The port the service listens on inside its containers (for the proxy).
    pub http_port: Option<u16>,
    /// How a deploy replaces its containers; `None`: by its shape
    /// ([`crate::lifecycle::update_of`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<crate::lifecycle::Update>,
    /// Services started (and ready) before this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<crate::lifecycle::Dependency>,
    /// `None`: Berth's default, `unless-stopped`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<crate::lifecycle::Restart>,
    /// Not reachable through the proxy and never published (compose `internal` networks).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    #[serde(skip_serializing_if = "crate::lifecycle::RuntimeOptions::is_empty")]
    pub runtime: crate::lifecycle::RuntimeOptions,
    /// Where Berth scrapes its replicas' metrics (default: `/metrics` on the HTTP port).
    #[serde(skip_serializing_if = "crate::scrape::ScrapeSpec::is_default")]
    pub metrics: crate::scrape::ScrapeSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortSpec {
    /// Host address to bind, e.g. `127.0.0.1` (empty: all).
    pub host_ip: String,
    pub host_port: Option<u16>,
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeSpec {
    /// A named volume or a host path.
    pub source: String,
    pub target: String,
    pub read_only: bool,
    /// A named volume made outside Berth (compose `external: true`): used as it is, under
    /// its own name.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// CPUs, e.g. 2.0.
    pub cpu_limit: Option<f64>,
    /// Bytes.
    pub memory_limit: Option<u64>,
    pub cpu_reservation: Option<f64>,
    pub memory_reservation: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheck {
    /// HTTP path probed on `http_port` (e.g. `/api/health`), or empty when `command` is used.
    pub http_path: String,
    /// Command run inside the container, as argv (compose `CMD` form).
    pub command: Vec<String>,
    pub interval_secs: u32,
    pub timeout_secs: u32,
    pub retries: u32,
    pub start_period_secs: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Job {
    /// e.g. `migrate`.
    pub name: String,
    /// argv, e.g. `["python", "manage.py", "migrate", "--noinput"]`.
    pub command: Vec<String>,
    pub timeout_secs: u32,
}

/// A tenant of the stack, told apart by hostname.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteSpec {
    pub name: String,
    /// Hostnames per environment slug.
    pub hosts: BTreeMap<String, SiteHosts>,
    /// Path prefix routes, most specific first when rendered.
    pub routes: Vec<Route>,
    /// e.g. `/api/health`.
    pub health_path: String,
    pub smoke_checks: Vec<SmokeCheck>,
    /// Per environment slug.
    pub tls: BTreeMap<String, TlsFiles>,
    /// Seconds the application may cache this site's pages.
    pub cache_timeout_secs: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteHosts {
    pub primary: String,
    pub aliases: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsFiles {
    pub certificate: String,
    pub certificate_key: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteTarget {
    /// Proxied to a service's `http_port`.
    Service { service: String },
    /// Served from a directory (nginx `alias`).
    Files { root: String, expires: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// e.g. `/api/`.
    pub path: String,
    pub target: RouteTarget,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmokeCheck {
    /// e.g. `/api/feed?size=1`.
    pub path: String,
    pub assertions: Vec<JsonAssertion>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JsonAssertion {
    /// The value at `pointer` (e.g. `.items`) is a non-empty array, object or string.
    NonEmpty { pointer: String },
    /// The value at `pointer` equals `value`; `${HOST}` stands for the site's hostname.
    Equals { pointer: String, value: String },
}

/// Edge proxy settings of an environment (used by the deploy engine).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxySettings {
    /// Port nginx listens on for plain HTTP (80 in production; a loopback port in tests).
    pub http_port: u16,
    /// Address nginx listens on (`127.0.0.1` for loopback only; empty: all addresses).
    pub listen_address: String,
    /// Port for TLS (443), when sites have certificates.
    pub https_port: Option<u16>,
    /// Redirect HTTP to HTTPS for sites with certificates.
    pub redirect_http: bool,
    /// `Strict-Transport-Security` max-age, seconds (0: no header).
    pub hsts_max_age: u32,
    /// How Berth installs the generated configuration and reloads nginx.
    pub manager: ProxyManager,
}

/// How the deploy engine drives the environment's nginx.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxyManager {
    /// `host` (nginx on the Docker host, driven by commands), `container` (an nginx
    /// container, driven through Docker) or empty (Berth does not manage a proxy: upstreams
    /// are not switched and the health gate probes the containers directly).
    pub mode: String,
    /// Where the generated file goes: a path on the Berth machine (`host`) or inside the
    /// nginx container (`container`), e.g. `/etc/nginx/conf.d/berth-shop-production.conf`.
    pub config_path: String,
    /// `host` mode: the check command, as argv (default `nginx -t`).
    pub test_command: Vec<String>,
    /// `host` mode: the reload command, as argv (default `nginx -s reload`).
    pub reload_command: Vec<String>,
    /// `container` mode: the nginx container's name.
    pub container: String,
}

/// How deploys of an environment behave; every wait has a limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeploySettings {
    /// `if_missing` (use a local image when present) or `always` (pull every deploy).
    pub pull_policy: String,
    /// How long a deploy waits for an image to become pullable.
    pub pull_timeout_secs: u32,
    /// How long a new container may take to become healthy.
    pub ready_timeout_secs: u32,
    /// The health gate through the proxy: give up after this long...
    pub gate_timeout_secs: u32,
    /// ...probing every this many seconds (`health_check.sh`: 300 and 10).
    pub gate_interval_secs: u32,
    /// After a container leaves the proxy: let in-flight requests finish for this long.
    pub drain_secs: u32,
    /// SIGTERM, then this long before SIGKILL.
    pub stop_grace_secs: u32,
    /// A pre-deploy job without its own timeout gets this one.
    pub job_timeout_secs: u32,
    /// Releases whose images are kept for rollback (the current one included).
    pub keep_releases: u32,
    /// What GitHub delivery deploys the environment's branch: `push` (every push),
    /// `workflow_run` (a successful CI run on a push, after it built the images) or `manual`
    /// (webhooks never deploy it).
    pub trigger: String,
    /// With `workflow_run`: only this workflow (its name or file path); empty: any workflow.
    pub workflow: String,
}

impl Default for DeploySettings {
    fn default() -> Self {
        DeploySettings {
            pull_policy: "if_missing".into(),
            pull_timeout_secs: 300,
            ready_timeout_secs: 120,
            gate_timeout_secs: 300,
            gate_interval_secs: 10,
            drain_secs: 2,
            stop_grace_secs: 10,
            job_timeout_secs: 600,
            keep_releases: 5,
            trigger: "push".into(),
            workflow: String::new(),
        }
    }
}

/// A problem in an input file, pointing at where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{file}:{line}: {field}: {message}")]
pub struct InputError {
    pub file: String,
    /// 1-based; 0 when unknown.
    pub line: usize,
    pub field: String,
    pub message: String,
}
