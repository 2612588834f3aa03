//! Types shared by the server and the browser: what crosses the wire. The UI (`app`), the
//! service layer (`berth-core`) and the REST API (`server`) all speak these; the crate has no
//! database, no web framework and compiles to wasm.
#![forbid(unsafe_code)]
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub mod error;
mod metrics;
mod webhooks;
pub use metrics::*;
pub use webhooks::*;

/// A member's role in one project, lowest to highest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Deployer,
    Maintainer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Deployer, Role::Maintainer, Role::Admin];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Deployer => "deployer",
            Role::Maintainer => "maintainer",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "deployer" => Ok(Role::Deployer),
            "maintainer" => Ok(Role::Maintainer),
            "admin" => Ok(Role::Admin),
            _ => Err("must be one of viewer, deployer, maintainer, admin".into()),
        }
    }
}

/// A user's standing on the whole instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum InstanceRole {
    /// Manages users, projects and settings; admin in every project.
    Admin,
    /// Sees only the projects they are a member of.
    User,
}

impl InstanceRole {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceRole::Admin => "admin",
            InstanceRole::User => "user",
        }
    }
}

impl fmt::Display for InstanceRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstanceRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(InstanceRole::Admin),
            "user" => Ok(InstanceRole::User),
            _ => Err("must be admin or user".into()),
        }
    }
}

/// What an API token may do, at most (never more than its owner).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Deploy,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Deploy => "deploy",
            Scope::Write => "write",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Scope::Read),
            "deploy" => Ok(Scope::Deploy),
            "write" => Ok(Scope::Write),
            _ => Err("must be one of read, deploy, write".into()),
        }
    }
}

/// The signed-in user as the UI sees them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub instance_role: InstanceRole,
}

impl Me {
    pub fn is_admin(&self) -> bool {
        self.instance_role == InstanceRole::Admin
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub instance_role: InstanceRole,
    /// Unix milliseconds.
    pub created_at: i64,
    pub disabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectView {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
    /// The caller's role here (admin for instance admins).
    pub my_role: Option<Role>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub added_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub scope: Scope,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

/// A token right after creation: the only time its secret is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    pub token: TokenView,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEventView {
    pub seq: i64,
    /// Unix milliseconds.
    pub ts: i64,
    pub actor_kind: String,
    pub actor: String,
    pub client_addr: String,
    pub user_agent: String,
    pub action: String,
    pub target: String,
    pub project: Option<String>,
    /// JSON text: what changed (never a secret value).
    pub summary: String,
    pub result: String,
    pub hash: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    /// RFC 3339 time or Unix milliseconds.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Show events with a sequence number below this (paging backwards).
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Pass as `before` to get the next (older) page.
    pub next_before: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyReport {
    pub ok: bool,
    pub events_checked: i64,
    /// The first event whose place in the chain is wrong.
    pub first_bad_seq: Option<i64>,
    pub problem: Option<String>,
}

/// Unix milliseconds to a short UTC time for display.
pub fn fmt_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentView {
    pub id: i64,
    pub project: String,
    pub name: String,
    pub slug: String,
    pub protected: bool,
    /// The branch whose pushes deploy this environment (empty: none).
    pub branch: String,
    /// Empty for the local engine, else `tcp://host:2376` (TLS).
    pub docker_host: String,
    /// The latest configuration version number (0: none yet).
    pub config_version: i64,
    pub created_at: i64,
    /// The edge proxy (nginx) settings.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub proxy: stack::model::ProxySettings,
    /// For a `tcp://` Docker host: the TLS secrets still to set (`DOCKER_TLS_CA_CERT`,
    /// `DOCKER_TLS_CLIENT_CERT`, `DOCKER_TLS_CLIENT_KEY`, secrets of this environment).
    pub docker_tls_missing: Vec<String>,
    /// An instance admin let this `tcp://` host be reached over plain TCP, without TLS.
    pub docker_insecure: bool,
}

/// A variable or secret as everyone may see it: a secret's value never appears.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariableView {
    pub name: String,
    /// `project` or the environment slug.
    pub scope: String,
    pub secret: bool,
    /// The value of a plain variable; always `None` for secrets.
    pub value: Option<String>,
    /// Set but empty is not missing; missing blocks deploys until set.
    pub missing: bool,
    pub version: i64,
    pub updated_by: String,
    pub updated_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigVersionView {
    pub number: i64,
    pub created_at: i64,
    pub actor: String,
    pub reason: String,
}

/// One difference between two configuration versions; secrets show as `changed` only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigChange {
    /// e.g. `variables.POSTGRES_PASSWORD`, `services.authoring.replicas`.
    pub key: String,
    /// `added`, `removed` or `changed`.
    pub kind: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub from: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub to: Option<serde_json::Value>,
}

/// A service of an environment with its full spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceView {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub spec: stack::model::ServiceSpec,
    pub updated_at: i64,
}

/// A site of a project with its full spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteView {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub spec: stack::model::SiteSpec,
    pub updated_at: i64,
}

/// What an import would do (preview) or did (apply).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportPlan {
    pub applied: bool,
    pub items: Vec<ImportItem>,
    /// Keys of the file Berth does not model, listed back rather than dropped.
    pub unsupported: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportItem {
    /// `variable`, `secret` or `service`.
    pub kind: String,
    pub name: String,
    /// `create`, `update` or `unchanged`.
    pub action: String,
    /// Why it is a secret, or why its value is missing.
    pub note: Option<String>,
    /// Required, no value yet (e.g. a vault placeholder).
    pub missing: bool,
    /// 1-based line in the file.
    pub line: usize,
}

/// A deploy: one run of the pipeline (deploy, rollback, redeploy, scale or restart).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployView {
    pub id: i64,
    pub project: String,
    pub environment: String,
    /// `deploy`, `rollback`, `redeploy`, `scale` or `restart`.
    pub kind: String,
    /// `queued`, `running`, `succeeded`, `failed`, `rolled_back` (failed, previous release
    /// restored), `cancelled`, `superseded` or `interrupted`.
    pub status: String,
    /// The release rolled out (number), once created.
    pub release: Option<i64>,
    /// The release that was current when it started.
    pub previous_release: Option<i64>,
    /// Why it failed, first thing shown.
    pub cause: String,
    pub reason: String,
    pub git_sha: String,
    pub actor: String,
    /// `manual`, `api`, `webhook`, `watchdog`, `cli`.
    pub trigger: String,
    pub cancel_requested: bool,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Queued deploys ahead of this one in its environment.
    pub queue_position: Option<i64>,
}

impl DeployView {
    pub fn finished(&self) -> bool {
        !matches!(self.status.as_str(), "queued" | "running")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployStepView {
    pub position: i64,
    /// `validate`, `release`, `pull`, `pre_deploy`, `rollout`, `health_gate`, `rollback`, `finish`…
    pub name: String,
    /// `pending`, `running`, `ok`, `failed`, `skipped`, `cancelled`.
    pub status: String,
    pub detail: String,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// One line of a deploy's log (secret values already masked).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployLogLine {
    pub seq: i64,
    pub step: String,
    pub ts: i64,
    /// `info`, `stdout`, `stderr`, `error`.
    pub stream: String,
    pub line: String,
}

/// A deploy with its steps and (part of) its log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployDetail {
    pub deploy: DeployView,
    pub steps: Vec<DeployStepView>,
    pub log: Vec<DeployLogLine>,
}

/// An immutable release of an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseView {
    pub number: i64,
    pub config_version: i64,
    /// Service name → image (`reference@id`).
    pub images: Vec<ReleaseImage>,
    pub git_sha: String,
    pub reason: String,
    pub trigger: String,
    pub actor: String,
    pub created_at: i64,
    /// When it last became current (never: `None`).
    pub deployed_at: Option<i64>,
    pub current: bool,
    /// Its images are still on the engine: it can be rolled back to.
    pub kept: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseImage {
    pub service: String,
    pub reference: String,
    /// `sha256:…` image id.
    pub id: String,
    /// `repo@sha256:…` when the image came from a registry.
    pub digest: Option<String>,
    pub replicas: u32,
}

/// A container of an environment, as the containers view shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerView {
    pub id: String,
    pub name: String,
    pub service: String,
    pub release: Option<i64>,
    pub replica: Option<i64>,
    pub image: String,
    /// `running`, `exited`, …
    pub state: String,
    /// `healthy`, `unhealthy`, `starting` or empty (no health check).
    pub health: String,
    pub started_at: Option<i64>,
    pub cpu_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub memory_limit: Option<u64>,
    /// Where the proxy reaches it (`127.0.0.1:49153`).
    pub address: Option<String>,
}

/// The environment's runtime: engine status, current release and containers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuntimeView {
    /// Engine version, or why it cannot be reached.
    pub engine: String,
    pub engine_ok: bool,
    pub current_release: Option<i64>,
    pub containers: Vec<ContainerView>,
}

/// The watchdog of an environment: probes every site, restarts, alerts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WatchdogView {
    pub enabled: bool,
    pub interval_secs: i64,
    pub failure_threshold: i64,
    /// Generic JSON webhook for alerts (empty: none).
    pub webhook_url: String,
    pub consecutive_failures: i64,
    pub last_check_at: Option<i64>,
    pub last_status: String,
    pub last_alert_at: Option<i64>,
}
