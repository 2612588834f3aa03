//! Waiting for a started container to be ready, and failing fast when it dies instead.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::containers::info_from;
use crate::error::is_not_found;
use crate::http_get::get_status;
use crate::images::secs;
use crate::spec::HTTP_PORT_LABEL;
use crate::{ContainerInfo, Engine, EngineError};

const POLL: Duration = Duration::from_millis(250);
const HTTP_ATTEMPT: Duration = Duration::from_secs(2);
const EXIT_LOG_LINES: usize = 20;

/// How [`Engine::wait_ready`] decides a container is ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The image's (or [`crate::ContainerSpec::health`]'s) HEALTHCHECK reports healthy.
    DockerHealth,
    /// `GET http://<published http port><path>` answers 200. Without a published port, the
    /// container's address on its network is used (reachable when the engine is local).
    Http { path: String },
    /// Still running `min_uptime` after it was first seen running.
    Running { min_uptime: Duration },
    /// Runs to completion with exit code 0 (a one-shot service: compose's
    /// `service_completed_successfully`).
    Completes,
}

impl Probe {
    fn awaited(&self) -> String {
        match self {
            Probe::DockerHealth => "its HEALTHCHECK to report healthy".to_owned(),
            Probe::Http { path } => format!("GET {path} to answer 200"),
            Probe::Running { min_uptime } => {
                format!("it to keep running for {}", secs(*min_uptime))
            }
            Probe::Completes => "it to exit with code 0".to_owned(),
        }
    }
}

impl Engine {
    /// Waits until `probe` passes. Fails early with [`EngineError::Exited`] (exit code and the
    /// last lines of output) when the container exits, [`EngineError::Unhealthy`] when its
    /// HEALTHCHECK fails, [`EngineError::Timeout`] (naming what was awaited and what was last
    /// seen) after `timeout`, [`EngineError::Cancelled`] when `cancel` fires.
    pub async fn wait_ready(
        &self,
        id: &str,
        probe: &Probe,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Result<(), EngineError> {
        let last_seen = Mutex::new(String::from("nothing yet"));
        if *probe == Probe::Completes {
            return tokio::select! {
                code = self.completed(id, &last_seen) => match code? {
                    0 => Ok(()),
                    code => Err(self.exited(id, code).await),
                },
                () = tokio::time::sleep(timeout) => Err(EngineError::Timeout(format!(
                    "container {} did not complete within {}: waited for {}",
                    short(id), secs(timeout), probe.awaited()
                ))),
                () = cancel.cancelled() => Err(EngineError::Cancelled),
            };
        }
        tokio::select! {
            result = self.poll_ready(id, probe, &last_seen) => result,
            code = self.died(id) => Err(self.exited(id, code?).await),
            () = tokio::time::sleep(timeout) => {
                let seen = last_seen.lock().map(|s| s.clone()).unwrap_or_default();
                Err(EngineError::Timeout(format!(
                    "container {} was not ready within {}: waited for {}; last seen: {seen}",
                    short(id), secs(timeout), probe.awaited()
                )))
            }
            () = cancel.cancelled() => Err(EngineError::Cancelled),
        }
    }

    /// Polls the container's state and the probe until it passes or the container exits.
    async fn poll_ready(
        &self,
        id: &str,
        probe: &Probe,
        last_seen: &Mutex<String>,
    ) -> Result<(), EngineError> {
        let note = |text: String| {
            if let Ok(mut seen) = last_seen.lock() {
                *seen = text;
            }
        };
        // (started_at, first seen running with it) for `Probe::Running`.
        let mut running_since: Option<(Option<i64>, Instant)> = None;
        loop {
            let (info, health_output) = self.inspect_with_health(id).await?;
            if matches!(info.state.as_str(), "exited" | "dead" | "restarting") {
                let code = info.exit_code.unwrap_or(-1);
                return Err(self.exited(id, code).await);
            }
            note(format!("state {}", info.state));
            match probe {
                Probe::DockerHealth => match info.health.as_deref() {
                    Some("healthy") => return Ok(()),
                    Some("unhealthy") => {
                        return Err(EngineError::Unhealthy(health_output.unwrap_or_default()))
                    }
                    Some(other) => note(format!("health {other}")),
                    None if info.state == "running" => {
                        return Err(EngineError::Other(format!(
                            "container {} has no HEALTHCHECK; probe it over HTTP instead",
                            info.name
                        )))
                    }
                    None => {}
                },
                Probe::Http { path } => {
                    if info.state == "running" {
                        match http_target(&info) {
                            Some(addr) => match get_status(addr, path, HTTP_ATTEMPT).await {
                                Ok(200) => return Ok(()),
                                Ok(status) => {
                                    note(format!("http://{addr}{path} answered {status}"))
                                }
                                Err(err) => note(format!("http://{addr}{path}: {err}")),
                            },
                            None => {
                                return Err(EngineError::Other(format!(
                                    "container {} has no published or reachable HTTP port to probe",
                                    info.name
                                )))
                            }
                        }
                    }
                }
                Probe::Running { min_uptime } => {
                    if info.state == "running" {
                        let now = Instant::now();
                        match running_since {
                            Some((started, since)) if started == info.started_at => {
                                if now.duration_since(since) >= *min_uptime {
                                    return Ok(());
                                }
                            }
                            _ => running_since = Some((info.started_at, now)),
                        }
                    } else {
                        running_since = None;
                    }
                }
                // Waited for in `wait_ready`.
                Probe::Completes => {}
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls until the container has exited; its exit code.
    async fn completed(&self, id: &str, last_seen: &Mutex<String>) -> Result<i64, EngineError> {
        loop {
            let (info, _) = self.inspect_with_health(id).await?;
            if matches!(info.state.as_str(), "exited" | "dead") {
                return Ok(info.exit_code.unwrap_or(-1));
            }
            if let Ok(mut seen) = last_seen.lock() {
                *seen = format!("state {}", info.state);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Resolves with the exit code when Docker reports the container died.
    async fn died(&self, id: &str) -> Result<i64, EngineError> {
        let docker = self.docker().await?;
        let options = EventsOptions {
            filters: Some(HashMap::from([
                ("type".to_owned(), vec!["container".to_owned()]),
                ("container".to_owned(), vec![id.to_owned()]),
                ("event".to_owned(), vec!["die".to_owned()]),
            ])),
            ..Default::default()
        };
        let mut events = docker.events(Some(options));
        if let Some(Ok(event)) = events.next().await {
            let attributes = event.actor.and_then(|a| a.attributes).unwrap_or_default();
            let code = attributes.get("exitCode").and_then(|c| c.parse().ok());
            return Ok(code.unwrap_or(-1));
        }
        // Without events the state polling still notices the exit.
        std::future::pending().await
    }

    async fn exited(&self, id: &str, code: i64) -> EngineError {
        EngineError::Exited {
            code,
            logs: self.last_lines(id, EXIT_LOG_LINES).await,
        }
    }

    /// The container's info and, when it has one, the output of its last health check.
    async fn inspect_with_health(
        &self,
        id: &str,
    ) -> Result<(ContainerInfo, Option<String>), EngineError> {
        let docker = self.docker().await?;
        let found = match docker.inspect_container(id, None).await {
            Ok(found) => found,
            Err(err) if is_not_found(&err) => {
                return Err(EngineError::NotFound(format!(
                    "container {} is gone",
                    short(id)
                )))
            }
            Err(err) => return Err(self.fail(err)),
        };
        let output = found
            .state
            .as_ref()
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.log.as_ref())
            .and_then(|log| log.last())
            .and_then(|last| last.output.clone())
            .map(|o| o.trim().replace('\n', " "));
        Ok((info_from(found), output))
    }
}

/// The published HTTP port, else the container's address on its first network.
fn http_target(info: &ContainerInfo) -> Option<SocketAddr> {
    if let Some(addr) = info.http_addr {
        return Some(addr);
    }
    let port: u16 = info.labels.get(HTTP_PORT_LABEL)?.parse().ok()?;
    let ip = info.ips.values().next()?;
    Some(SocketAddr::new(*ip, port))
}

fn short(id: &str) -> &str {
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        &id[..12]
    } else {
        id
    }
}
