//! Rolling updates: bring an environment's containers to a release, one replica at a time,
//! start-first. A new container serves only after it is ready; an old one leaves the proxy
//! (config checked, nginx reloaded) and drains before it is stopped. Rollbacks, scaling,
//! restarts and reconciliation after a crash all use the same [`Rollout::converge`].
//!
//! Split by what a rollout does: `converge` (per service: replace, scale or keep), `start`
//! (start new replicas, bring old ones back), `stop` (retire old ones), `proxy` (switch the
//! upstreams), `spec` (what a container is), `volumes`, `describe` and `labels`.
use super::log::DeployLog;
use super::plan::{self, EnvInfo};
use engine::proxy::Proxy;
use engine::Engine;
use stack::model::DeploySettings;
use std::collections::BTreeSet;
use tokio_util::sync::CancellationToken;

mod converge;
mod describe;
mod labels;
mod proxy;
mod spec;
mod start;
mod stop;
mod volumes;

pub use labels::{
    belongs, env_containers, env_labels, network_name, proxy_namespace, volume_name, LABEL_DEPLOY,
    LABEL_ENV, LABEL_ENV_ID, LABEL_EXTERNAL_VOLUMES, LABEL_MANAGED, LABEL_PROJECT, LABEL_RELEASE,
    LABEL_REPLICA, LABEL_ROLE, LABEL_SERVICE, LABEL_UPDATE, LABEL_VOLUME,
};
pub use spec::{one_shot, probe_for};

/// Everything a rollout needs.
pub struct Rollout<'a> {
    pub engine: &'a Engine,
    pub proxy: Option<&'a Proxy>,
    pub env: &'a EnvInfo,
    pub settings: &'a DeploySettings,
    pub log: &'a DeployLog,
    pub cancel: CancellationToken,
    pub deploy_id: i64,
    /// Fully resolved variables of the environment (secrets included; never logged).
    pub resolved: plan::Resolved,
    /// This instance's key for container fingerprints ([`super::fingerprint::salt`]).
    pub salt: Vec<u8>,
    /// Named volumes this environment's containers mount under their bare name: made
    /// before Berth gave each environment its own volumes, and kept so that no upgrade
    /// swaps a database for an empty one. Filled by [`Rollout::note_legacy_volumes`].
    pub legacy_volumes: std::sync::Mutex<BTreeSet<(String, String)>>,
    /// Where the managed nginx sends its metrics access log (none: Berth is not listening).
    pub access_log: Option<stack::nginx::AccessLogSink>,
}

/// What to converge.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Replace containers even when they already run this release (redeploy, restart).
    pub replace_all: bool,
    /// Replace `manual` services too (their "replace now" action); otherwise a deploy
    /// leaves a `manual` service's running containers alone.
    pub replace_manual: bool,
    /// Only these services (empty: all).
    pub services: Vec<String>,
}

impl Scope {
    fn includes(&self, service: &str) -> bool {
        self.services.is_empty() || self.services.iter().any(|s| s == service)
    }
}

impl Rollout<'_> {
    fn managed_by_proxy(&self) -> bool {
        self.proxy.is_some()
    }

    fn in_container_proxy(&self) -> bool {
        matches!(self.proxy, Some(Proxy::Container { .. }))
    }

    fn check_cancel(&self) -> Result<(), String> {
        if self.cancel.is_cancelled() {
            Err("cancelled".into())
        } else {
            Ok(())
        }
    }
}
