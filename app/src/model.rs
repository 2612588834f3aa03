//! Types shared by the server and the browser: what crosses the wire.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A member's role in one project, lowest to highest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub instance_role: InstanceRole,
    /// Unix milliseconds.
    pub created_at: i64,
    pub disabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProjectView {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
    /// The caller's role here (admin for instance admins).
    pub my_role: Option<Role>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub added_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    pub token: TokenView,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Pass as `before` to get the next (older) page.
    pub next_before: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub proxy: stack::model::ProxySettings,
    /// For a `tcp://` Docker host: the TLS secrets still to set (`DOCKER_TLS_CA_CERT`,
    /// `DOCKER_TLS_CLIENT_CERT`, `DOCKER_TLS_CLIENT_KEY`, secrets of this environment).
    pub docker_tls_missing: Vec<String>,
}

/// A variable or secret as everyone may see it: a secret's value never appears.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConfigVersionView {
    pub number: i64,
    pub created_at: i64,
    pub actor: String,
    pub reason: String,
}

/// One difference between two configuration versions; secrets show as `changed` only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConfigChange {
    /// e.g. `variables.POSTGRES_PASSWORD`, `services.authoring.replicas`.
    pub key: String,
    /// `added`, `removed` or `changed`.
    pub kind: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub from: Option<serde_json::Value>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub to: Option<serde_json::Value>,
}

/// A service of an environment with its full spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServiceView {
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub spec: stack::model::ServiceSpec,
    pub updated_at: i64,
}

/// A site of a project with its full spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SiteView {
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub spec: stack::model::SiteSpec,
    pub updated_at: i64,
}

/// What an import would do (preview) or did (apply).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportPlan {
    pub applied: bool,
    pub items: Vec<ImportItem>,
    /// Keys of the file Berth does not model, listed back rather than dropped.
    pub unsupported: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
