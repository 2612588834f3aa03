//! What Berth starts carries labels naming its environment, service, release and replica;
//! the names of an environment's network, volumes and proxy namespace derive from it.
use super::super::plan::EnvInfo;
use crate::host_paths::is_host_path;
use engine::{ContainerInfo, Engine};
use stack::model::VolumeSpec;
use std::collections::{BTreeMap, BTreeSet};

pub const LABEL_MANAGED: &str = "berth.managed";
pub const LABEL_PROJECT: &str = "berth.project";
pub const LABEL_ENV: &str = "berth.environment";
pub const LABEL_SERVICE: &str = "berth.service";
pub const LABEL_RELEASE: &str = "berth.release";
pub const LABEL_REPLICA: &str = "berth.replica";
pub const LABEL_DEPLOY: &str = "berth.deploy";
pub const LABEL_ROLE: &str = "berth.role";
/// The service's update strategy when the container was started: a `manual` container is
/// left alone by deploys, rollbacks and reconciliation whatever the target release says.
pub const LABEL_UPDATE: &str = "berth.update";
/// The environment's database id: never reused, so a new environment with a deleted one's
/// slug never adopts what the old one left behind.
pub const LABEL_ENV_ID: &str = "berth.environment_id";

/// The names Berth's nginx configuration uses for this environment (upstreams, log format),
/// unique when one nginx serves several environments and projects.
pub fn proxy_namespace(env: &EnvInfo) -> String {
    format!("{}_{}", env.project, env.slug)
}

/// The Docker network of an environment; services find each other by name on it.
pub fn network_name(env: &EnvInfo) -> String {
    format!("berth-{}-{}", env.project, env.slug)
}

/// Label naming a volume's name in the service spec (`postgres_data`), on the volumes Berth
/// creates.
pub const LABEL_VOLUME: &str = "berth.volume";

/// Label listing the external volumes a container mounts (comma-separated), so that they are
/// never taken for volumes of its own.
pub const LABEL_EXTERNAL_VOLUMES: &str = "berth.external-volumes";

/// The external volumes container `c` mounts, by its label.
pub(super) fn external_volumes(c: &ContainerInfo) -> BTreeSet<&str> {
    c.labels
        .get(LABEL_EXTERNAL_VOLUMES)
        .map(|l| l.split(',').filter(|v| !v.is_empty()).collect())
        .unwrap_or_default()
}

/// The Docker volume behind the named volume `source` of an environment's services: each
/// environment has its own, so staging never writes to production's database and one
/// project cannot mount another's by naming it. External volumes keep their name.
pub fn volume_name(env: &EnvInfo, source: &str) -> String {
    format!("berth-{}-{}-{source}", env.project, env.slug)
}

/// Whether `v` is a named volume that Berth creates per environment (not a host path, not
/// external).
pub(super) fn own_volume(v: &VolumeSpec) -> bool {
    !v.external && !v.source.is_empty() && !is_host_path(&v.source)
}

pub fn env_labels(env: &EnvInfo) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED.to_string(), "1".to_string()),
        (LABEL_PROJECT.to_string(), env.project.clone()),
        (LABEL_ENV.to_string(), env.slug.clone()),
        (LABEL_ENV_ID.to_string(), env.id.to_string()),
    ])
}

/// Whether a container labelled for this environment's project and slug belongs to this
/// environment (not to a deleted one of the same slug). Containers started before the id
/// label existed have none and are taken as this environment's.
pub fn belongs(env: &EnvInfo, c: &ContainerInfo) -> bool {
    c.labels.get(LABEL_PROJECT) == Some(&env.project)
        && c.labels.get(LABEL_ENV) == Some(&env.slug)
        && c.labels
            .get(LABEL_ENV_ID)
            .is_none_or(|id| *id == env.id.to_string())
}

/// Every container of the environment (all states).
pub async fn env_containers(
    engine: &Engine,
    env: &EnvInfo,
) -> Result<Vec<ContainerInfo>, engine::EngineError> {
    let list = engine
        .list(&[
            (LABEL_PROJECT, env.project.as_str()),
            (LABEL_ENV, env.slug.as_str()),
        ])
        .await?;
    Ok(list.into_iter().filter(|c| belongs(env, c)).collect())
}

pub(super) fn label_i64(c: &ContainerInfo, key: &str) -> Option<i64> {
    c.labels.get(key).and_then(|v| v.parse().ok())
}

/// Whether a container was started for a `manual` service.
pub(super) fn manual(c: &ContainerInfo) -> bool {
    c.labels.get(LABEL_UPDATE).map(String::as_str) == Some("manual")
}

/// Whether a container is up and may take traffic.
pub(super) fn serving(c: &ContainerInfo) -> bool {
    c.state == "running"
        && c.health.as_deref() != Some("unhealthy")
        && c.labels.get(LABEL_ROLE).map(String::as_str) != Some("job")
}
