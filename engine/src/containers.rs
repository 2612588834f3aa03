//! Containers' life cycle: create and start, stop, restart, remove, and reading their state.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, ListContainersOptions, RemoveContainerOptions,
    RestartContainerOptions, StopContainerOptions,
};
use futures_util::{StreamExt, TryStreamExt};

use crate::error::is_not_found;
use crate::spec::{ContainerSpec, HTTP_PORT_LABEL};
use crate::{Engine, EngineError};

/// A container that was created and started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    pub id: String,
    pub name: String,
    /// `127.0.0.1:<port>` where the published [`ContainerSpec::http_port`] answers.
    pub http_addr: Option<SocketAddr>,
}

/// A container as the engine sees it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    /// The image as given at creation (reference or id).
    pub image: String,
    /// `sha256:…`.
    pub image_id: String,
    pub labels: BTreeMap<String, String>,
    /// `created`, `running`, `restarting`, `exited`, `paused`, `dead`…
    pub state: String,
    /// `starting`, `healthy` or `unhealthy`; `None` without a HEALTHCHECK.
    pub health: Option<String>,
    /// Unix milliseconds of the last start.
    pub started_at: Option<i64>,
    /// The last exit code once the container has exited (also while it is `restarting`).
    pub exit_code: Option<i64>,
    pub http_addr: Option<SocketAddr>,
    /// How often Docker restarted it after it exited (restart policy).
    pub restart_count: i64,
    /// Its address on each network it joined, by network name.
    pub ips: BTreeMap<String, IpAddr>,
    /// The named volumes it mounts (not bind mounts), by name.
    pub volumes: Vec<String>,
}

impl Engine {
    /// Creates and starts `spec`. A stopped container of the same name is removed first; a
    /// running one is a [`EngineError::Conflict`].
    ///
    /// With [`ContainerSpec::single_writer`] set, a running container of the same service
    /// that mounts one of its writable volumes is a [`EngineError::Conflict`] too: two
    /// database processes on one data directory corrupt it, whatever the caller intended.
    pub async fn start(&self, spec: &ContainerSpec) -> Result<Started, EngineError> {
        self.check_single_writer(spec).await?;
        let id = self.create(spec).await?;
        let docker = self.docker().await?;
        if let Err(err) = docker.start_container(&id, None).await {
            let err = self.fail(err);
            self.remove_quietly(&id).await;
            return Err(err);
        }
        let info = self.inspect(&id).await?.ok_or_else(|| {
            EngineError::NotFound(format!(
                "container {} vanished right after start",
                spec.name
            ))
        })?;
        Ok(Started {
            id,
            name: spec.name.clone(),
            http_addr: info.http_addr,
        })
    }

    /// Refuses `spec` while a running container of its service mounts, writable, a volume
    /// `spec` would write to. Different services sharing a volume stay allowed.
    async fn check_single_writer(&self, spec: &ContainerSpec) -> Result<(), EngineError> {
        let writable: Vec<&str> = spec
            .volumes
            .iter()
            .filter(|v| !v.read_only && !v.source.is_empty())
            .map(|v| v.source.as_str())
            .collect();
        if spec.single_writer.is_empty() || writable.is_empty() {
            return Ok(());
        }
        let docker = self.docker().await?;
        let labels: Vec<String> = spec
            .single_writer
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([("label".to_owned(), labels)])),
            ..Default::default()
        };
        let others = docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.fail(e))?;
        for c in others {
            let live = matches!(
                c.state,
                Some(
                    bollard::models::ContainerSummaryStateEnum::RUNNING
                        | bollard::models::ContainerSummaryStateEnum::RESTARTING
                        | bollard::models::ContainerSummaryStateEnum::PAUSED
                )
            );
            if !live {
                continue;
            }
            for m in c.mounts.unwrap_or_default() {
                if m.rw == Some(false) {
                    continue;
                }
                // A named volume is matched by name, a bind mount by its host path.
                let source = m.name.as_deref().or(m.source.as_deref()).unwrap_or("");
                if let Some(v) = writable.iter().find(|v| **v == source) {
                    let name = c
                        .names
                        .as_ref()
                        .and_then(|n| n.first())
                        .map(|n| n.trim_start_matches('/').to_owned())
                        .unwrap_or_default();
                    return Err(EngineError::Conflict(format!(
                        "{name} of the same service is running and writes to volume {v}: \
                         a second container on it would be a second writer (stop it first)"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Creates (does not start) `spec`, replacing a stopped container of the same name.
    pub(crate) async fn create(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        if let Some(existing) = self.inspect(&spec.name).await? {
            if existing.state == "running" || existing.state == "restarting" {
                return Err(EngineError::Conflict(format!(
                    "a container named {} is already running",
                    spec.name
                )));
            }
            self.remove_quietly(&existing.id).await;
        }
        let docker = self.docker().await?;
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let created = docker
            .create_container(Some(options), spec.to_create_body())
            .await
            .map_err(|e| match self.fail(e) {
                EngineError::ImageMissing(m) => EngineError::ImageMissing(format!(
                    "image {} not found locally: {m}",
                    spec.image
                )),
                other => other,
            })?;
        Ok(created.id)
    }

    /// Stops (SIGTERM, then SIGKILL after `grace`) and removes. Already gone is fine.
    pub async fn stop_remove(&self, id: &str, grace: Duration) -> Result<(), EngineError> {
        self.stop(id, grace).await?;
        let docker = self.docker().await?;
        let options = RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        match docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            // "removal of container … is already in progress"
            Err(err) if matches!(crate::error::server_error(&err), Some((409, _))) => Ok(()),
            Err(err) => Err(self.fail(err)),
        }
    }

    /// SIGTERM, then SIGKILL after `grace`. Already stopped or gone is fine.
    pub async fn stop(&self, id: &str, grace: Duration) -> Result<(), EngineError> {
        let docker = self.docker().await?;
        let options = StopContainerOptions {
            t: Some(grace_secs(grace)),
            signal: None,
        };
        match docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(err) => Err(self.fail(err)),
        }
    }

    /// Stops (like [`Engine::stop`]) and starts again.
    pub async fn restart(&self, id: &str, grace: Duration) -> Result<(), EngineError> {
        let docker = self.docker().await?;
        let options = RestartContainerOptions {
            t: Some(grace_secs(grace)),
            signal: None,
        };
        docker
            .restart_container(id, Some(options))
            .await
            .map_err(|e| self.fail(e))
    }

    /// Containers in every state whose labels match all of `label_filters` (`("key", "value")`;
    /// an empty value only asks for the key).
    pub async fn list(
        &self,
        label_filters: &[(&str, &str)],
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        let docker = self.docker().await?;
        let labels: Vec<String> = label_filters
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    (*k).to_owned()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        let options = ListContainersOptions {
            all: true,
            filters: (!labels.is_empty()).then(|| HashMap::from([("label".to_owned(), labels)])),
            ..Default::default()
        };
        let summaries = docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.fail(e))?;
        // The summary lacks start times and health on older engines, so each one is inspected.
        let infos: Vec<Option<ContainerInfo>> = futures_util::stream::iter(summaries)
            .filter_map(|s| async move { s.id })
            .map(|id| async move { self.inspect(&id).await })
            .buffered(8)
            .try_collect()
            .await?;
        Ok(infos.into_iter().flatten().collect())
    }

    /// The container `id` (or name), or `None` when there is none.
    pub async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, EngineError> {
        let docker = self.docker().await?;
        match docker.inspect_container(id, None).await {
            Ok(found) => Ok(Some(info_from(found))),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err)),
        }
    }

    /// Kill and remove, ignoring errors: for cleaning up after a failure.
    pub(crate) async fn remove_quietly(&self, id: &str) {
        let Ok(docker) = self.docker().await else {
            return;
        };
        let kill = KillContainerOptions {
            signal: "SIGKILL".to_owned(),
        };
        let _ = docker.kill_container(id, Some(kill)).await;
        let remove = RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        if let Err(err) = docker.remove_container(id, Some(remove)).await {
            if !is_not_found(&err) {
                tracing::warn!(container = id, error = %err, "could not remove container");
            }
        }
    }
}

fn grace_secs(grace: Duration) -> i32 {
    grace.as_secs().min(i32::MAX as u64) as i32
}

pub(crate) fn info_from(c: ContainerInspectResponse) -> ContainerInfo {
    let labels: BTreeMap<String, String> = c
        .config
        .as_ref()
        .and_then(|cfg| cfg.labels.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    let http_addr = labels
        .get(HTTP_PORT_LABEL)
        .and_then(|port| published(&c, port));
    let state = c.state.unwrap_or_default();
    let status = state.status.unwrap_or(ContainerStateStatusEnum::EMPTY);
    let exited = matches!(
        status,
        ContainerStateStatusEnum::EXITED
            | ContainerStateStatusEnum::DEAD
            | ContainerStateStatusEnum::RESTARTING
    );
    let health = state
        .health
        .and_then(|h| h.status)
        .filter(|s| !matches!(s, HealthStatusEnum::EMPTY | HealthStatusEnum::NONE))
        .map(|s| s.to_string());
    let volumes = c
        .mounts
        .iter()
        .flatten()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| m.name.clone())
        .collect();
    let networks = c.network_settings.as_ref().and_then(|n| n.networks.clone());
    let ips = networks
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, endpoint)| Some((name, endpoint.ip_address?.parse().ok()?)))
        .collect();
    ContainerInfo {
        id: c.id.unwrap_or_default(),
        name: c
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        image: c.config.and_then(|cfg| cfg.image).unwrap_or_default(),
        image_id: c.image.unwrap_or_default(),
        labels,
        state: status.to_string(),
        health,
        started_at: state.started_at.as_deref().and_then(unix_ms),
        exit_code: if exited { state.exit_code } else { None },
        http_addr,
        restart_count: c.restart_count.unwrap_or(0),
        ips,
        volumes,
    }
}

/// Where the container port `port`/tcp is published on the host, preferring loopback.
fn published(c: &ContainerInspectResponse, port: &str) -> Option<SocketAddr> {
    let ports = c.network_settings.as_ref()?.ports.as_ref()?;
    let bindings = ports.get(&format!("{port}/tcp"))?.as_ref()?;
    bindings.iter().find_map(|b| {
        let host_port: u16 = b.host_port.as_deref()?.parse().ok()?;
        let ip: IpAddr = match b.host_ip.as_deref() {
            None | Some("") | Some("0.0.0.0") | Some("::") => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Some(ip) => ip.parse().ok()?,
        };
        Some(SocketAddr::new(ip, host_port))
    })
}

/// RFC 3339 to Unix milliseconds; Docker's zero time (`0001-01-01…`) is `None`.
fn unix_ms(text: &str) -> Option<i64> {
    let time = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    let ms = time.timestamp_millis();
    (ms > 0).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_zero_time_is_none() {
        assert_eq!(unix_ms("0001-01-01T00:00:00Z"), None);
        assert_eq!(
            unix_ms("2024-05-01T12:00:00.123456789Z"),
            Some(1_714_564_800_123)
        );
    }
}
