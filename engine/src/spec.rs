//! What to run: [`ContainerSpec`], and its translation into Docker's create request.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, NetworkingConfig, PortBinding,
    ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};
use stack::lifecycle::{Restart, RuntimeOptions};
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
    /// Docker's restart policy (services: the service's, `unless-stopped` by default; jobs:
    /// `no`).
    pub restart: Restart,
    /// Entrypoint, user, working directory, stop grace, shm, ulimits, tmpfs, capabilities,
    /// extra hosts.
    pub runtime: RuntimeOptions,
    /// Labels that name the container's service. When set, [`crate::Engine::start`] refuses
    /// to start it while a running container with these labels mounts one of its writable
    /// volumes: one writer per volume and service, whatever started it.
    pub single_writer: Vec<(String, String)>,
}

/// Docker's form of a restart policy.
fn restart_policy(restart: Restart) -> RestartPolicy {
    let (name, max) = match restart {
        Restart::No => (RestartPolicyNameEnum::NO, None),
        Restart::Always => (RestartPolicyNameEnum::ALWAYS, None),
        Restart::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
        Restart::OnFailure { max } => (RestartPolicyNameEnum::ON_FAILURE, max.map(i64::from)),
    };
    RestartPolicy {
        name: Some(name),
        maximum_retry_count: max,
    }
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
        let rt = &self.runtime;
        let host_config = HostConfig {
            binds: Some(binds).filter(|b| !b.is_empty()),
            port_bindings: Some(bindings).filter(|b| !b.is_empty()),
            network_mode: self.network.clone(),
            nano_cpus: self.cpu_limit.map(|cpus| (cpus * 1e9).round() as i64),
            memory: self
                .memory_limit
                .map(|bytes| bytes.min(i64::MAX as u64) as i64),
            restart_policy: Some(restart_policy(self.restart)),
            shm_size: rt.shm_size.map(|b| b.min(i64::MAX as u64) as i64),
            ulimits: Some(
                rt.ulimits
                    .iter()
                    .map(|(name, u)| ResourcesUlimits {
                        name: Some(name.clone()),
                        soft: Some(u.soft),
                        hard: Some(u.hard),
                    })
                    .collect::<Vec<_>>(),
            )
            .filter(|u| !u.is_empty()),
            tmpfs: Some(
                rt.tmpfs
                    .iter()
                    .map(|t| match t.split_once(':') {
                        Some((target, opts)) => (target.to_owned(), opts.to_owned()),
                        None => (t.clone(), String::new()),
                    })
                    .collect::<HashMap<_, _>>(),
            )
            .filter(|t| !t.is_empty()),
            cap_add: Some(rt.cap_add.clone()).filter(|c| !c.is_empty()),
            cap_drop: Some(rt.cap_drop.clone()).filter(|c| !c.is_empty()),
            extra_hosts: Some(rt.extra_hosts.clone()).filter(|h| !h.is_empty()),
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
            entrypoint: Some(rt.entrypoint.clone()).filter(|e| !e.is_empty()),
            user: Some(rt.user.clone()).filter(|u| !u.is_empty()),
            working_dir: Some(rt.working_dir.clone()).filter(|w| !w.is_empty()),
            stop_timeout: rt.stop_grace_secs.map(i64::from),
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
            external: false,
        }];
        spec.ports = vec![PortSpec {
            host_ip: String::new(),
            host_port: Some(5432),
            container_port: 5432,
            protocol: String::new(),
        }];
        spec.cpu_limit = Some(0.5);
        spec.memory_limit = Some(256 << 20);
        spec.restart = Restart::No;
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

    #[test]
    fn runtime_options_and_restart_policies_reach_docker() {
        let mut spec = web();
        spec.restart = Restart::OnFailure { max: Some(4) };
        spec.runtime = RuntimeOptions {
            entrypoint: vec!["/bin/sh".into(), "-c".into()],
            user: "999:999".into(),
            working_dir: "/srv".into(),
            stop_grace_secs: Some(45),
            shm_size: Some(256 << 20),
            ulimits: [(
                "nofile".to_string(),
                stack::lifecycle::Ulimit {
                    soft: 20000,
                    hard: 40000,
                },
            )]
            .into(),
            tmpfs: vec!["/run:size=64m".into(), "/tmp".into()],
            cap_add: vec!["SYS_NICE".into()],
            cap_drop: vec!["NET_RAW".into()],
            extra_hosts: vec!["db.internal:10.0.0.5".into()],
        };
        let body = spec.to_create_body();
        assert_eq!(body.entrypoint.unwrap(), ["/bin/sh", "-c"]);
        assert_eq!(body.user.as_deref(), Some("999:999"));
        assert_eq!(body.working_dir.as_deref(), Some("/srv"));
        assert_eq!(body.stop_timeout, Some(45));
        let host = body.host_config.unwrap();
        let policy = host.restart_policy.unwrap();
        assert_eq!(policy.name, Some(RestartPolicyNameEnum::ON_FAILURE));
        assert_eq!(policy.maximum_retry_count, Some(4));
        assert_eq!(host.shm_size, Some(256 << 20));
        let u = &host.ulimits.unwrap()[0];
        assert_eq!((u.soft, u.hard), (Some(20000), Some(40000)));
        let tmpfs = host.tmpfs.unwrap();
        assert_eq!(tmpfs["/run"], "size=64m");
        assert_eq!(tmpfs["/tmp"], "");
        assert_eq!(host.cap_add.unwrap(), ["SYS_NICE"]);
        assert_eq!(host.cap_drop.unwrap(), ["NET_RAW"]);
        assert_eq!(host.extra_hosts.unwrap(), ["db.internal:10.0.0.5"]);
        // Nothing set: Docker's defaults, and services come back after a restart.
        let plain = web().to_create_body();
        assert!(plain.entrypoint.is_none() && plain.user.is_none());
        assert_eq!(
            plain.host_config.unwrap().restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::UNLESS_STOPPED)
        );
    }
}
