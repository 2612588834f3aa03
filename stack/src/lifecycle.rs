//! How a service's containers live: how a deploy replaces them ([`Update`]), what they wait
//! for ([`Dependency`]), what Docker does when they stop ([`Restart`]), and the container
//! options compose files carry ([`RuntimeOptions`]). Pure data and checks.
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::model::ServiceSpec;

/// How a deploy replaces a service's containers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Update {
    /// Start the new container, wait until it is ready, then stop the old one (no downtime).
    #[default]
    Rolling,
    /// Stop the old containers, then start the new ones (one writer on a volume at a time).
    Recreate,
    /// Never replaced by a deploy; only by an explicit "replace now".
    Manual,
}

impl Update {
    pub const ALL: [Update; 3] = [Update::Rolling, Update::Recreate, Update::Manual];

    pub fn as_str(self) -> &'static str {
        match self {
            Update::Rolling => "rolling",
            Update::Recreate => "recreate",
            Update::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Update> {
        Update::ALL.into_iter().find(|u| u.as_str() == s)
    }
}

/// When a service may start, relative to one it depends on (compose `depends_on`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Its containers are running.
    ServiceStarted,
    /// Its containers are ready (health check, HTTP probe, or running for a while).
    #[default]
    ServiceHealthy,
    /// Its containers ran to completion with exit code 0 (a one-shot service).
    ServiceCompletedSuccessfully,
}

impl Condition {
    pub const ALL: [Condition; 3] = [
        Condition::ServiceStarted,
        Condition::ServiceHealthy,
        Condition::ServiceCompletedSuccessfully,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Condition::ServiceStarted => "service_started",
            Condition::ServiceHealthy => "service_healthy",
            Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
        }
    }

    pub fn parse(s: &str) -> Option<Condition> {
        Condition::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dependency {
    pub service: String,
    pub condition: Condition,
}

/// Docker's restart policy for a service's containers (compose `restart`), written as
/// compose writes it (`on-failure:3`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Restart {
    No,
    Always,
    /// Berth's default: back after an engine restart or a crash, unless stopped on purpose.
    #[default]
    UnlessStopped,
    /// Restarted after a non-zero exit, at most `max` times (no limit when `None`).
    OnFailure {
        max: Option<u32>,
    },
}

impl Restart {
    /// `no`, `always`, `unless-stopped`, `on-failure` or `on-failure:N`.
    pub fn parse(s: &str) -> Option<Restart> {
        match s.trim() {
            "no" | "\"no\"" => Some(Restart::No),
            "always" => Some(Restart::Always),
            "unless-stopped" => Some(Restart::UnlessStopped),
            "on-failure" => Some(Restart::OnFailure { max: None }),
            other => {
                let n = other.strip_prefix("on-failure:")?;
                n.parse().ok().map(|n| Restart::OnFailure { max: Some(n) })
            }
        }
    }

    pub fn render(self) -> String {
        match self {
            Restart::No => "no".into(),
            Restart::Always => "always".into(),
            Restart::UnlessStopped => "unless-stopped".into(),
            Restart::OnFailure { max: None } => "on-failure".into(),
            Restart::OnFailure { max: Some(n) } => format!("on-failure:{n}"),
        }
    }
}

impl Serialize for Restart {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.render())
    }
}

impl<'de> Deserialize<'de> for Restart {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Restart::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "restart `{s}`: expected no, always, unless-stopped, on-failure or on-failure:N"
            ))
        })
    }
}

/// A resource limit (`ulimit`) of a container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

/// Container options from compose that change how a container runs, not what it is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeOptions {
    /// Replaces the image's entrypoint (argv); empty: the image's own.
    pub entrypoint: Vec<String>,
    /// `user[:group]`; empty: the image's.
    pub user: String,
    /// Empty: the image's.
    pub working_dir: String,
    /// SIGTERM, then this long before SIGKILL; `None`: the environment's deploy setting.
    pub stop_grace_secs: Option<u32>,
    /// `/dev/shm` size in bytes; `None`: Docker's (64 MiB).
    pub shm_size: Option<u64>,
    /// e.g. `nofile` → 65536/65536.
    pub ulimits: BTreeMap<String, Ulimit>,
    /// In-memory mounts: `target` or `target:options` (e.g. `/run:size=64m`).
    pub tmpfs: Vec<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `hostname:ip` entries for the container's `/etc/hosts`.
    pub extra_hosts: Vec<String>,
}

impl RuntimeOptions {
    pub fn is_empty(&self) -> bool {
        *self == RuntimeOptions::default()
    }
}

/// The update strategy a service gets: its own, or by shape — `recreate` when it has a
/// writable volume or a fixed host port (two copies would fight over it), else `rolling`.
pub fn update_of(spec: &ServiceSpec) -> Update {
    spec.update.unwrap_or_else(|| {
        if has_writable_volume(spec) || spec.ports.iter().any(|p| p.host_port.is_some()) {
            Update::Recreate
        } else {
            Update::Rolling
        }
    })
}

/// Whether the service mounts a volume (named or host path) it may write to.
pub fn has_writable_volume(spec: &ServiceSpec) -> bool {
    spec.volumes.iter().any(|v| !v.read_only)
}

/// The restart policy a service's containers get (Berth's default: `unless-stopped`).
pub fn restart_of(spec: &ServiceSpec) -> Restart {
    spec.restart.unwrap_or_default()
}

/// Problems with the services' `depends_on`: unknown services, a service depending on
/// itself, cycles (each named, e.g. `web → api → web`).
pub fn dependency_errors(services: &[ServiceSpec]) -> Vec<String> {
    let names: BTreeSet<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let mut errors = Vec::new();
    for s in services {
        for d in &s.depends_on {
            if d.service == s.name {
                errors.push(format!("service `{}` depends on itself", s.name));
            } else if !names.contains(d.service.as_str()) {
                errors.push(format!(
                    "service `{}` depends on `{}`, which is not a service of this environment",
                    s.name, d.service
                ));
            }
        }
    }
    if let Err(cycle) = start_order(services) {
        errors.push(format!("depends_on has a cycle: {}", cycle.join(" → ")));
    }
    errors
}

/// The services' names in an order where each comes after what it depends on (ties by the
/// order given). `Err` names a cycle, first service repeated at the end.
pub fn start_order(services: &[ServiceSpec]) -> Result<Vec<String>, Vec<String>> {
    let index: BTreeMap<&str, usize> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    // 0: not seen, 1: on the current path, 2: placed.
    let mut mark = vec![0u8; services.len()];
    let mut order = Vec::with_capacity(services.len());
    fn visit(
        i: usize,
        services: &[ServiceSpec],
        index: &BTreeMap<&str, usize>,
        mark: &mut [u8],
        path: &mut Vec<usize>,
        order: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        match mark[i] {
            2 => return Ok(()),
            1 => {
                let from = path.iter().position(|p| *p == i).unwrap_or(0);
                let mut cycle: Vec<String> = path[from..]
                    .iter()
                    .map(|p| services[*p].name.clone())
                    .collect();
                cycle.push(services[i].name.clone());
                return Err(cycle);
            }
            _ => {}
        }
        mark[i] = 1;
        path.push(i);
        for d in &services[i].depends_on {
            if let Some(&j) = index.get(d.service.as_str()) {
                if j != i {
                    visit(j, services, index, mark, path, order)?;
                }
            }
        }
        path.pop();
        mark[i] = 2;
        order.push(services[i].name.clone());
        Ok(())
    }
    for i in 0..services.len() {
        visit(i, services, &index, &mut mark, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PortSpec, VolumeSpec};

    fn svc(name: &str, deps: &[&str]) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            depends_on: deps
                .iter()
                .map(|d| Dependency {
                    service: d.to_string(),
                    condition: Condition::ServiceHealthy,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn services_start_after_what_they_depend_on() {
        let s = vec![
            svc("web", &["postgres", "redis"]),
            svc("worker", &["web"]),
            svc("redis", &[]),
            svc("postgres", &[]),
        ];
        assert_eq!(
            start_order(&s).unwrap(),
            vec!["postgres", "redis", "web", "worker"]
        );
        assert!(dependency_errors(&s).is_empty());
    }

    #[test]
    fn a_cycle_is_named_and_unknown_services_are_refused() {
        let s = vec![
            svc("web", &["api"]),
            svc("api", &["db"]),
            svc("db", &["web"]),
        ];
        assert_eq!(
            start_order(&s).unwrap_err(),
            vec!["web", "api", "db", "web"]
        );
        let errors = dependency_errors(&[svc("web", &["nope", "web"])]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("`nope`"));
        assert!(errors[1].contains("itself"));
        assert!(dependency_errors(&s)[0].contains("web → api → db → web"));
    }

    #[test]
    fn the_default_strategy_follows_the_shape_of_the_service() {
        let mut web = svc("web", &[]);
        assert_eq!(update_of(&web), Update::Rolling);
        web.volumes.push(VolumeSpec {
            source: "static".into(),
            target: "/static".into(),
            read_only: true,
            external: false,
        });
        assert_eq!(update_of(&web), Update::Rolling, "read-only volume");
        let mut db = svc("postgres", &[]);
        db.volumes.push(VolumeSpec {
            source: "pg".into(),
            target: "/var/lib/postgresql/data".into(),
            read_only: false,
            external: false,
        });
        assert_eq!(update_of(&db), Update::Recreate);
        let mut edge = svc("edge", &[]);
        edge.ports.push(PortSpec {
            host_port: Some(8443),
            container_port: 443,
            ..Default::default()
        });
        assert_eq!(update_of(&edge), Update::Recreate);
        edge.update = Some(Update::Manual);
        assert_eq!(update_of(&edge), Update::Manual);
    }

    #[test]
    fn restart_policies_parse_and_render_like_compose() {
        for s in [
            "no",
            "always",
            "unless-stopped",
            "on-failure",
            "on-failure:5",
        ] {
            assert_eq!(Restart::parse(s).unwrap().render(), s);
        }
        assert_eq!(Restart::parse("sometimes"), None);
        assert_eq!(Restart::parse("on-failure:x"), None);
        let json = serde_json::to_string(&Restart::OnFailure { max: Some(3) }).unwrap();
        assert_eq!(json, "\"on-failure:3\"");
        assert_eq!(
            serde_json::from_str::<Restart>(&json).unwrap(),
            Restart::OnFailure { max: Some(3) }
        );
    }
}
