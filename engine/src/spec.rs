//! What to run: [`ContainerSpec`], and its translation into Docker's create request.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, NetworkingConfig, PortBinding,
    RestartPolicy, RestartPolicyNameEnum,
};
use stack::model::{HealthCheck, PortSpec, VolumeSpec};

/// Label that records [`ContainerSpec::http_port`] on the container, so
/// [`crate::ContainerInfo::http_addr`] and the HTTP probe find the published port later.
pub const HTTP_PORT_LABEL: &str = "berth.engine.http-port";

/// One container to run: a service replica or a one-off job.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    /// An image id (`sha256:…`) or reference.
    pub image: String,
    /// Empty: the image's default command.
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    pub labels: BTreeMap<String, String>,
    /// A user-defined bridge network to join.
    pub network: Option<String>,
    /// DNS aliases on that network (the service name).
    pub aliases: Vec<String>,
    /// The port the app listens on inside.
    pub http_port: Option<u16>,
    /// Publish `http_port` on `127.0.0.1:<random>`, where the host's nginx reaches it.
    pub publish_http: bool,
    /// Fixed published ports (compose style).
    pub ports: Vec<PortSpec>,
    /// Named volumes or host paths.
    pub volumes: Vec<VolumeSpec>,
    /// CPUs, e.g. 0.5.
    pub cpu_limit: Option<f64>,
    /// Bytes.
    pub memory_limit: Option<u64>,
    /// A non-empty `command` becomes the image's HEALTHCHECK (CMD form).
    pub health: Option<HealthCheck>,
    /// `unless-stopped` (services) rather than no restart (jobs).
    pub restart: bool,
}

impl ContainerSpec {
    pub(crate) fn to_create_body(&self) -> ContainerCreateBody {
        let mut labels: HashMap<String, String> = self.labels.clone().into_iter().collect();
        if let Some(port) = self.http_port {
            labels.insert(HTTP_PORT_LABEL.to_owned(), port.to_string());
        }
        let mut exposed = Vec::new();
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        if let (Some(port), true) = (self.http_port, self.publish_http) {
            let key = format!("{port}/tcp");
            exposed.push(key.clone());
            bindings
                .entry(key)
                .or_default()
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some("127.0.0.1".to_owned()),
                    host_port: Some(String::new()),
                });
        }
        for port in &self.ports {
            let protocol = if port.protocol.is_empty() {
                "tcp"
            } else {
                &port.protocol
            };
            let key = format!("{}/{protocol}", port.container_port);
            if !exposed.contains(&key) {
                exposed.push(key.clone());
            }
            bindings
                .entry(key)
                .or_default()
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some(port.host_ip.clone()).filter(|ip| !ip.is_empty()),
                    host_port: Some(port.host_port.map(|p| p.to_string()).unwrap_or_default()),
                });
        }
        let binds: Vec<String> = self
            .volumes
            .iter()
            .map(|v| {
                let mode = if v.read_only { ":ro" } else { "" };
                format!("{}:{}{mode}", v.source, v.target)
            })
            .collect();
        let host_config = HostConfig {
            binds: Some(binds).filter(|b| !b.is_empty()),
            port_bindings: Some(bindings).filter(|b| !b.is_empty()),
            network_mode: self.network.clone(),
            nano_cpus: self.cpu_limit.map(|cpus| (cpus * 1e9).round() as i64),
            memory: self
                .memory_limit
                .map(|bytes| bytes.min(i64::MAX as u64) as i64),
            restart_policy: Some(RestartPolicy {
                name: Some(if self.restart {
                    RestartPolicyNameEnum::UNLESS_STOPPED
                } else {
                    RestartPolicyNameEnum::NO
                }),
                maximum_retry_count: None,
            }),
            ..Default::default()
        };
        let networking_config = self.network.as_ref().map(|network| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.clone(),
                EndpointSettings {
                    aliases: Some(self.aliases.clone()).filter(|a| !a.is_empty()),
                    ..Default::default()
                },
            )])),
        });
        ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: Some(self.command.clone()).filter(|c| !c.is_empty()),
            env: Some(self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(labels),
            exposed_ports: Some(exposed).filter(|e| !e.is_empty()),
            healthcheck: self.health.as_ref().and_then(health_config),
            host_config: Some(host_config),
            networking_config,
            ..Default::default()
        }
    }
}

/// Docker's HEALTHCHECK for a command check; HTTP checks are probed by Berth instead.
fn health_config(check: &HealthCheck) -> Option<HealthConfig> {
    if check.command.is_empty() {
        return None;
    }
    let nanos = |secs: u32| Some(i64::from(secs) * 1_000_000_000).filter(|n| *n > 0);
    let mut test = vec!["CMD".to_owned()];
    test.extend(check.command.iter().cloned());
    Some(HealthConfig {
        test: Some(test),
        interval: nanos(check.interval_secs),
        timeout: nanos(check.timeout_secs),
        retries: Some(i64::from(check.retries)).filter(|r| *r > 0),
        start_period: nanos(check.start_period_secs),
        start_interval: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> ContainerSpec {
        ContainerSpec {
            name: "web-1".into(),
            image: "sha256:abc".into(),
            env: vec![("A".into(), "1".into())],
            http_port: Some(8000),
            publish_http: true,
            network: Some("berth-prod".into()),
            aliases: vec!["web".into()],
            restart: true,
            ..Default::default()
        }
    }

    #[test]
    fn publishes_the_http_port_on_loopback_at_a_random_port() {
        let body = web().to_create_body();
        let bindings = body.host_config.unwrap().port_bindings.unwrap();
        let binding = &bindings["8000/tcp"].as_ref().unwrap()[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some(""));
        assert_eq!(body.labels.unwrap()[HTTP_PORT_LABEL], "8000");
    }

    #[test]
    fn joins_the_network_with_aliases() {
        let body = web().to_create_body();
        assert_eq!(
            body.host_config.unwrap().network_mode.as_deref(),
            Some("berth-prod")
        );
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(
            endpoints["berth-prod"].aliases.as_deref(),
            Some(&["web".to_owned()][..])
        );
    }

    #[test]
    fn command_health_check_becomes_a_cmd_healthcheck() {
        let mut spec = web();
        spec.health = Some(HealthCheck {
            command: vec!["/berth-demo".into(), "check".into()],
            interval_secs: 1,
            timeout_secs: 2,
            retries: 3,
            ..Default::default()
        });
        let health = spec.to_create_body().healthcheck.unwrap();
        assert_eq!(health.test.unwrap(), ["CMD", "/berth-demo", "check"]);
        assert_eq!(health.interval, Some(1_000_000_000));
        assert_eq!(health.timeout, Some(2_000_000_000));
        assert_eq!(health.retries, Some(3));
        assert_eq!(health.start_period, None);
    }

    #[test]
    fn http_health_check_is_not_a_docker_healthcheck() {
        let mut spec = web();
        spec.health = Some(HealthCheck {
            http_path: "/api/health".into(),
            ..Default::default()
        });
        assert!(spec.to_create_body().healthcheck.is_none());
    }

    #[test]
    fn volumes_limits_and_fixed_ports() {
        let mut spec = web();
        spec.volumes = vec![VolumeSpec {
            source: "media".into(),
            target: "/app/media".into(),
            read_only: true,
        }];
        spec.ports = vec![PortSpec {
            host_ip: String::new(),
            host_port: Some(5432),
            container_port: 5432,
            protocol: String::new(),
        }];
        spec.cpu_limit = Some(0.5);
        spec.memory_limit = Some(256 << 20);
        spec.restart = false;
        let host = spec.to_create_body().host_config.unwrap();
        assert_eq!(host.binds.unwrap(), ["media:/app/media:ro"]);
        let bindings = host.port_bindings.unwrap();
        let binding = &bindings["5432/tcp"].as_ref().unwrap()[0];
        assert_eq!(binding.host_ip, None);
        assert_eq!(binding.host_port.as_deref(), Some("5432"));
        assert_eq!(host.nano_cpus, Some(500_000_000));
        assert_eq!(host.memory, Some(256 << 20));
        assert_eq!(
            host.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::NO)
        );
    }
}
