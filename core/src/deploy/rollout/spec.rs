//! What a service's container is: its container spec (labels, name, image, volumes,
//! fingerprint), its role, and how its readiness is judged.
use super::super::fingerprint;
use super::super::plan;
use super::super::store::{Plan, PlanImage};
use super::labels::{
    env_labels, network_name, own_volume, LABEL_DEPLOY, LABEL_ENV, LABEL_EXTERNAL_VOLUMES,
    LABEL_PROJECT, LABEL_RELEASE, LABEL_REPLICA, LABEL_ROLE, LABEL_SERVICE, LABEL_UPDATE,
};
use super::Rollout;
use engine::{ContainerSpec, Probe};
use stack::lifecycle::{self, Restart};
use stack::model::{RouteTarget, ServiceSpec, VolumeSpec};
use std::time::Duration;

impl Rollout<'_> {
    /// The container spec of one replica of a service in a release.
    pub fn container_spec(
        &self,
        spec: &ServiceSpec,
        image: &PlanImage,
        release: i64,
        replica: i64,
        role: &str,
    ) -> Result<ContainerSpec, String> {
        let env = plan::service_env(spec, &self.resolved).map_err(|e| e.join("; "))?;
        let mut labels = env_labels(self.env);
        labels.insert(LABEL_SERVICE.into(), spec.name.clone());
        labels.insert(LABEL_RELEASE.into(), release.to_string());
        labels.insert(LABEL_REPLICA.into(), replica.to_string());
        labels.insert(LABEL_DEPLOY.into(), self.deploy_id.to_string());
        labels.insert(LABEL_ROLE.into(), role.into());
        labels.insert(
            LABEL_UPDATE.into(),
            lifecycle::update_of(spec).as_str().into(),
        );
        let external: Vec<&str> = spec
            .volumes
            .iter()
            .filter(|v| v.external)
            .map(|v| v.source.as_str())
            .collect();
        if !external.is_empty() {
            labels.insert(LABEL_EXTERNAL_VOLUMES.into(), external.join(","));
        }
        let job = role == "job";
        let name = match role {
            "job" => format!(
                "berth-{}-{}-{}-job-{}-{replica}",
                self.env.project, self.env.slug, spec.name, self.deploy_id
            ),
            _ => format!(
                "berth-{}-{}-{}-r{release}-{replica}-d{}",
                self.env.project, self.env.slug, spec.name, self.deploy_id
            ),
        };
        let mut cspec = ContainerSpec {
            name,
            image: if image.id.is_empty() {
                image.reference.clone()
            } else {
                image.id.clone()
            },
            command: spec.command.clone(),
            env,
            labels,
            network: Some(network_name(self.env)),
            aliases: vec![spec.name.clone()],
            http_port: spec.http_port,
            publish_http: spec.http_port.is_some() && !spec.internal && !self.in_container_proxy(),
            ports: if job || spec.internal {
                Vec::new()
            } else {
                spec.ports.clone()
            },
            volumes: spec
                .volumes
                .iter()
                .map(|v| VolumeSpec {
                    source: if own_volume(v) {
                        self.volume_of(&spec.name, &v.source)
                    } else {
                        v.source.clone()
                    },
                    ..v.clone()
                })
                .collect(),
            cpu_limit: spec.resources.cpu_limit,
            memory_limit: spec.resources.memory_limit,
            health: spec
                .health
                .clone()
                .filter(|h| !h.command.is_empty() && !job),
            // A one-shot service (role `once`) is not restarted unless it says so.
            restart: match (role, spec.restart) {
                ("job", _) | ("once", None) => Restart::No,
                _ => lifecycle::restart_of(spec),
            },
            runtime: spec.runtime.clone(),
            single_writer: if job {
                Vec::new()
            } else {
                vec![
                    (LABEL_PROJECT.to_string(), self.env.project.clone()),
                    (LABEL_ENV.to_string(), self.env.slug.clone()),
                    (LABEL_SERVICE.to_string(), spec.name.clone()),
                    (LABEL_ROLE.to_string(), role.to_string()),
                ]
            },
        };
        if !job {
            fingerprint::stamp(&mut cspec, &self.salt);
        }
        Ok(cspec)
    }

    /// The fingerprint digest of what this deploy would start for `spec`.
    pub(super) fn fingerprint_of(
        &self,
        plan: &Plan,
        spec: &ServiceSpec,
        image: &PlanImage,
        release: i64,
    ) -> Result<String, String> {
        let cspec = self.container_spec(spec, image, release, 0, role_of(plan, spec))?;
        Ok(cspec
            .labels
            .get(fingerprint::LABEL_SPEC)
            .cloned()
            .unwrap_or_default())
    }
}

/// Whether another service waits for `spec` to run to completion (compose's
/// `service_completed_successfully`): a one-shot service, done once it exited with 0.
pub fn one_shot(plan: &Plan, spec: &ServiceSpec) -> bool {
    plan.services.iter().any(|s| {
        s.depends_on.iter().any(|d| {
            d.service == spec.name
                && d.condition == stack::lifecycle::Condition::ServiceCompletedSuccessfully
        })
    })
}

/// The role label of a service's containers: `once` for a one-shot service, else `service`.
pub(super) fn role_of(plan: &Plan, spec: &ServiceSpec) -> &'static str {
    if one_shot(plan, spec) {
        "once"
    } else {
        "service"
    }
}

/// How readiness of a service's container is judged: its Docker health check when it has a
/// command, else an HTTP probe (its own health path, or the health path of a site it
/// serves), else "still running after 2 s".
pub fn probe_for(plan: &Plan, spec: &ServiceSpec) -> Probe {
    if one_shot(plan, spec) {
        return Probe::Completes;
    }
    if spec.health.as_ref().is_some_and(|h| !h.command.is_empty()) {
        return Probe::DockerHealth;
    }
    if spec.http_port.is_some() {
        if let Some(h) = spec.health.as_ref().filter(|h| !h.http_path.is_empty()) {
            return Probe::Http {
                path: h.http_path.clone(),
            };
        }
        let site_path = plan.sites.iter().find_map(|site| {
            let serves = site.routes.iter().any(
                |r| matches!(&r.target, RouteTarget::Service { service } if *service == spec.name),
            );
            (serves && !site.health_path.is_empty()).then(|| site.health_path.clone())
        });
        if let Some(path) = site_path {
            return Probe::Http { path };
        }
    }
    Probe::Running {
        min_uptime: Duration::from_secs(2),
    }
}

pub(super) fn probe_name(p: &Probe) -> String {
    match p {
        Probe::DockerHealth => "Docker health check".into(),
        Probe::Http { path } => format!("HTTP {path}"),
        Probe::Running { min_uptime } => format!("running for {} s", min_uptime.as_secs()),
        Probe::Completes => "completed with exit code 0".into(),
    }
}
