//! Rolling updates: bring an environment's containers to a release, one replica at a time,
//! start-first. A new container serves only after it is ready; an old one leaves the proxy
//! (config checked, nginx reloaded) and drains before it is stopped. Rollbacks, scaling,
//! restarts and reconciliation after a crash all use the same [`Rollout::converge`].
use super::super::host_paths::is_host_path;
use super::fingerprint;
use super::log::DeployLog;
use super::plan::{self, EnvInfo};
use super::store::{Plan, PlanImage};
use engine::proxy::Proxy;
use engine::{ContainerInfo, ContainerSpec, Engine, Probe};
use stack::lifecycle::{self, Restart, Update};
use stack::model::{DeploySettings, RouteTarget, ServiceSpec, VolumeSpec};
use stack::nginx::Upstream;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
fn external_volumes(c: &ContainerInfo) -> BTreeSet<&str> {
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
fn own_volume(v: &VolumeSpec) -> bool {
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

/// One container serving a service through the proxy.
#[derive(Clone, Debug, PartialEq)]
struct Member {
    id: String,
    server: String,
}

fn label_i64(c: &ContainerInfo, key: &str) -> Option<i64> {
    c.labels.get(key).and_then(|v| v.parse().ok())
}

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
    /// This instance's key for container fingerprints ([`fingerprint::salt`]).
    pub salt: Vec<u8>,
    /// Named volumes this environment's containers mount under their bare name: made
    /// before Berth gave each environment its own volumes, and kept so that no upgrade
    /// swaps a database for an empty one. Filled by [`Rollout::containers`].
    pub legacy_volumes: std::sync::Mutex<BTreeSet<(String, String)>>,
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

    /// The containers of this environment that Berth started (all states).
    pub async fn containers(&self) -> Result<Vec<ContainerInfo>, String> {
        let list = env_containers(self.engine, self.env)
            .await
            .map_err(|e| e.to_string())?;
        let prefix = volume_name(self.env, "");
        let mut legacy = self
            .legacy_volumes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for c in &list {
            let Some(service) = c.labels.get(LABEL_SERVICE) else {
                continue;
            };
            let external = external_volumes(c);
            legacy.extend(
                c.volumes
                    .iter()
                    .filter(|v| !v.starts_with(&prefix) && !external.contains(v.as_str()))
                    .map(|v| (service.clone(), v.clone())),
            );
        }
        Ok(list)
    }

    /// The Docker volume that the named volume `source` of service `service` is: the
    /// environment's own (`berth-<project>-<env>-<source>`), or the bare name when that
    /// service's containers already mount it by that name as their own volume (made before
    /// volumes were per environment). A volume mounted as external (approved by an instance
    /// admin) never counts, nor one another service mounts: those would let a maintainer
    /// mount it without an admin.
    fn volume_of(&self, service: &str, source: &str) -> String {
        let legacy = self
            .legacy_volumes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if legacy.contains(&(service.to_owned(), source.to_owned())) {
            source.to_owned()
        } else {
            volume_name(self.env, source)
        }
    }

    /// Creates the environment's named volumes that `spec` mounts and do not exist yet, and
    /// refuses a volume of that name that this environment did not create (left by a deleted
    /// environment of the same name, or made by hand): mounting it would hand over data
    /// nobody meant to share.
    pub async fn ensure_volumes(&self, spec: &ServiceSpec) -> Result<(), String> {
        for v in spec.volumes.iter().filter(|v| own_volume(v)) {
            let name = self.volume_of(&spec.name, &v.source);
            if name == v.source {
                continue;
            }
            let labels = self
                .engine
                .volume_labels(&name)
                .await
                .map_err(|e| format!("volume {name}: {e}"))?;
            match labels {
                None => {
                    let mut labels = env_labels(self.env);
                    labels.insert(LABEL_VOLUME.into(), v.source.clone());
                    self.engine
                        .create_volume(&name, &labels)
                        .await
                        .map_err(|e| format!("volume {name}: {e}"))?;
                    self.log.info(format!(
                        "created volume {name} (`{}` of this environment)",
                        v.source
                    ));
                }
                Some(labels) if labels.get(LABEL_ENV_ID) == Some(&self.env.id.to_string()) => {}
                Some(_) => {
                    return Err(format!(
                        "service `{}`: the volume {name} exists but this environment did not \
                         create it (a deleted environment of the same name left it, or it was \
                         made by hand); remove it, or have an instance admin mount it as external",
                        spec.name
                    ))
                }
            }
        }
        Ok(())
    }

    fn server_of(&self, c: &ContainerInfo, spec: &ServiceSpec) -> Option<String> {
        let port = spec.http_port.filter(|_| !spec.internal)?;
        if self.in_container_proxy() {
            Some(format!("{}:{port}", c.name.trim_start_matches('/')))
        } else {
            c.http_addr.map(|a| a.to_string())
        }
    }

    /// Renders the proxy configuration for these upstreams and applies it (checked, then
    /// reloaded). Without a managed proxy, does nothing.
    async fn apply_proxy(
        &self,
        plan: &Plan,
        upstreams: &BTreeMap<String, Vec<Member>>,
    ) -> Result<(), String> {
        let Some(proxy) = self.proxy else {
            return Ok(());
        };
        let config = render_proxy(plan, self.env, upstreams)?;
        proxy
            .apply(&config)
            .await
            .map_err(|e| format!("proxy: {e}"))?;
        let servers: usize = upstreams.values().map(Vec::len).sum();
        self.log.info(format!(
            "proxy: configuration checked and nginx reloaded ({servers} upstream server(s))"
        ));
        Ok(())
    }

    /// Brings every service in `scope` to `plan` (release `release`), rolling.
    pub async fn converge(&self, plan: &Plan, release: i64, scope: &Scope) -> Result<(), String> {
        let existing = self.containers().await?;
        let mut upstreams: BTreeMap<String, Vec<Member>> = BTreeMap::new();
        for c in existing.iter().filter(|c| serving(c)) {
            let service = c.labels.get(LABEL_SERVICE).cloned().unwrap_or_default();
            let Some(spec) = plan.services.iter().find(|s| s.name == service) else {
                continue;
            };
            if let Some(server) = self.server_of(c, spec) {
                upstreams.entry(service).or_default().push(Member {
                    id: c.id.clone(),
                    server,
                });
            }
        }
        self.engine
            .ensure_network(&network_name(self.env), &env_labels(self.env))
            .await
            .map_err(|e| e.to_string())?;
        // A job container still here was left by an interrupted deploy (jobs remove their
        // own container when they end).
        for c in existing
            .iter()
            .filter(|c| c.labels.get(LABEL_ROLE).map(String::as_str) == Some("job"))
        {
            self.log.info(format!(
                "removing {} (a job container left behind)",
                c.name.trim_start_matches('/')
            ));
            self.stop_remove(&c.id).await;
        }
        let order = lifecycle::start_order(&plan.services)
            .map_err(|cycle| format!("depends_on has a cycle: {}", cycle.join(" → ")))?;
        let ordered = order
            .iter()
            .filter_map(|name| plan.services.iter().find(|s| s.name == *name));
        for spec in ordered.filter(|s| scope.includes(&s.name)) {
            self.check_cancel()?;
            let mine: Vec<&ContainerInfo> = existing
                .iter()
                .filter(|c| c.labels.get(LABEL_SERVICE) == Some(&spec.name))
                .filter(|c| c.labels.get(LABEL_ROLE).map(String::as_str) != Some("job"))
                .collect();
            self.converge_service(plan, release, spec, &mine, scope, &mut upstreams)
                .await?;
        }
        // Services the release no longer has.
        let gone: Vec<&ContainerInfo> = existing
            .iter()
            .filter(|c| {
                let s = c
                    .labels
                    .get(LABEL_SERVICE)
                    .map(String::as_str)
                    .unwrap_or("");
                scope.includes(s) && !plan.services.iter().any(|p| p.name == s)
            })
            .filter(|c| {
                let keep = manual(c) && !scope.replace_manual;
                if keep {
                    self.log.info(format!(
                        "keeping {}: the release no longer has its service, but it is updated manually",
                        c.name.trim_start_matches('/')
                    ));
                }
                !keep
            })
            .collect();
        if !gone.is_empty() {
            for c in &gone {
                for members in upstreams.values_mut() {
                    members.retain(|m| m.id != c.id);
                }
            }
            self.apply_proxy(plan, &upstreams).await?;
            for c in gone {
                self.log.info(format!(
                    "removing {} (service no longer in the release)",
                    c.name
                ));
                self.stop_remove(&c.id).await;
            }
        }
        self.apply_proxy(plan, &upstreams).await
    }

    async fn converge_service(
        &self,
        plan: &Plan,
        release: i64,
        spec: &ServiceSpec,
        mine: &[&ContainerInfo],
        scope: &Scope,
        upstreams: &mut BTreeMap<String, Vec<Member>>,
    ) -> Result<(), String> {
        let image = plan.images.get(&spec.name).cloned().unwrap_or_default();
        let want = self.fingerprint_of(plan, spec, &image, release)?;
        let once = one_shot(plan, spec);
        let current = |c: &ContainerInfo| {
            !scope.replace_all
                && fingerprint::of(c) == Some(want.as_str())
                && ((c.state == "running" && c.health.as_deref() != Some("unhealthy"))
                    || (once && c.state == "exited" && c.exit_code == Some(0)))
        };
        let strategy = lifecycle::update_of(spec);
        if !scope.replace_manual
            && !mine.is_empty()
            && (strategy == Update::Manual || mine.iter().any(|c| manual(c)))
        {
            let differs = mine.iter().filter(|c| !current(c)).count();
            self.log.info(format!(
                "service `{}` is updated manually: its {} container(s) are kept{}",
                spec.name,
                mine.len(),
                if differs > 0 {
                    " (this release would change it: use \"replace now\")"
                } else {
                    ""
                }
            ));
            // Stopped (by hand, or crashed past its restart policy): started again as it
            // was, never replaced. One that a running container of its replica replaced
            // (a "replace now" interrupted before it removed the old one) is removed instead:
            // starting it would make a second writer.
            let live = |c: &ContainerInfo| c.state == "running" || c.state == "restarting";
            for c in mine.iter().filter(|c| !live(c)) {
                let replica = label_i64(c, LABEL_REPLICA);
                if mine
                    .iter()
                    .any(|o| live(o) && label_i64(o, LABEL_REPLICA) == replica)
                {
                    self.log.info(format!(
                        "removing {}: stopped, and a newer container of its replica runs",
                        c.name.trim_start_matches('/')
                    ));
                    self.stop_remove(&c.id).await;
                    continue;
                }
                self.log.info(format!(
                    "starting {} again as it was",
                    c.name.trim_start_matches('/')
                ));
                if let Err(e) = self
                    .log
                    .wait_on(self.engine.restart(&c.id, self.grace_of(Some(spec))))
                    .await
                {
                    return Err(format!("service `{}`: {e}", spec.name));
                }
            }
            return Ok(());
        }
        let replicas = i64::from(spec.replicas);
        let mut keep: BTreeMap<i64, String> = BTreeMap::new();
        let mut old: Vec<ContainerInfo> = Vec::new();
        for c in mine {
            match label_i64(c, LABEL_REPLICA) {
                Some(r) if r < replicas && current(c) && !keep.contains_key(&r) => {
                    keep.insert(r, c.id.clone());
                }
                _ => old.push((*c).clone()),
            }
        }
        let missing = (0..replicas).any(|r| !keep.contains_key(&r));
        if strategy != Update::Rolling && missing && !old.is_empty() {
            self.log.info(format!(
                "service `{}` updates by recreate: its old containers stop before the new ones start",
                spec.name
            ));
            // Stopped, not removed, until the new ones are ready: if they fail, the old
            // ones start again as they were, on their data.
            let stopped = std::mem::take(&mut old);
            self.retire(plan, spec, stopped.clone(), upstreams, false)
                .await?;
            let keep_ids: Vec<String> = keep.values().cloned().collect();
            let started = self
                .start_replicas(plan, release, spec, &image, &keep, &mut old, upstreams)
                .await;
            return match started {
                Ok(()) => {
                    for c in &stopped {
                        self.stop_remove(&c.id).await;
                    }
                    Ok(())
                }
                Err(e) => {
                    self.bring_back(plan, spec, &stopped, &keep_ids, upstreams)
                        .await;
                    Err(e)
                }
            };
        }
        self.start_replicas(plan, release, spec, &image, &keep, &mut old, upstreams)
            .await?;
        if !old.is_empty() {
            self.retire(plan, spec, old, upstreams, true).await?;
        }
        Ok(())
    }

    /// Starts the replicas of `spec` that `keep` lacks, each retiring an old container of
    /// its replica (or any old one) once it is ready.
    #[allow(clippy::too_many_arguments)]
    async fn start_replicas(
        &self,
        plan: &Plan,
        release: i64,
        spec: &ServiceSpec,
        image: &PlanImage,
        keep: &BTreeMap<i64, String>,
        old: &mut Vec<ContainerInfo>,
        upstreams: &mut BTreeMap<String, Vec<Member>>,
    ) -> Result<(), String> {
        let replicas = i64::from(spec.replicas);
        for replica in 0..replicas {
            if keep.contains_key(&replica) {
                continue;
            }
            self.check_cancel()?;
            let started = self
                .start_ready(plan, release, spec, image, replica)
                .await?;
            if let Some(server) = started.1 {
                upstreams
                    .entry(spec.name.clone())
                    .or_default()
                    .push(Member {
                        id: started.0.clone(),
                        server,
                    });
            }
            // Retire the old container of this replica (or any old one).
            let pos = old
                .iter()
                .position(|c| label_i64(c, LABEL_REPLICA) == Some(replica) && c.state == "running")
                .or_else(|| old.iter().position(|c| c.state == "running"));
            let victims = match pos {
                Some(p) => vec![old.remove(p)],
                None => Vec::new(),
            };
            if victims.is_empty() {
                self.apply_proxy(plan, upstreams).await?;
            } else {
                self.retire(plan, spec, victims, upstreams, true).await?;
            }
        }
        Ok(())
    }

    /// After a failed recreate: removes what this rollout started for `spec` (but the
    /// containers it kept), and starts the stopped old containers again, back in the proxy
    /// once ready. Best effort: what fails is logged, and the deploy's rollback follows.
    async fn bring_back(
        &self,
        plan: &Plan,
        spec: &ServiceSpec,
        stopped: &[ContainerInfo],
        kept: &[String],
        upstreams: &mut BTreeMap<String, Vec<Member>>,
    ) {
        let stale: Vec<String> = upstreams
            .get(&spec.name)
            .map(|m| {
                m.iter()
                    .filter(|m| !kept.contains(&m.id))
                    .map(|m| m.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(members) = upstreams.get_mut(&spec.name) {
            members.retain(|m| !stale.contains(&m.id));
        }
        for id in &stale {
            self.stop_remove(id).await;
        }
        let probe = probe_for(plan, spec);
        let timeout = Duration::from_secs(u64::from(self.settings.ready_timeout_secs));
        for c in stopped {
            let name = c.name.trim_start_matches('/');
            self.log
                .info(format!("starting {name} again: its replacement failed"));
            let started = self.engine.restart(&c.id, self.grace_of(Some(spec))).await;
            let ready = match started {
                Ok(()) => self
                    .engine
                    .wait_ready(&c.id, &probe, timeout, CancellationToken::new())
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match ready {
                Ok(()) => {
                    if let Some(server) = self
                        .engine
                        .inspect(&c.id)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|now| self.server_of(&now, spec))
                    {
                        upstreams
                            .entry(spec.name.clone())
                            .or_default()
                            .push(Member {
                                id: c.id.clone(),
                                server,
                            });
                    }
                    self.log.info(format!("{name} is back"));
                }
                Err(e) => self.log.error(format!("{name} did not come back: {e}")),
            }
        }
        if let Err(e) = self.apply_proxy(plan, upstreams).await {
            self.log.error(e);
        }
    }

    /// The fingerprint digest of what this deploy would start for `spec`.
    fn fingerprint_of(
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

    /// Per service, what converging to `plan` would do, in words (no values): "unchanged",
    /// what changed, replicas added or removed, the strategy that applies. For the deploy
    /// log, before anything is switched.
    pub async fn describe(
        &self,
        plan: &Plan,
        release: i64,
        scope: &Scope,
    ) -> Result<Vec<String>, String> {
        let existing = self.containers().await?;
        let mut lines = Vec::new();
        for spec in plan.services.iter().filter(|s| scope.includes(&s.name)) {
            let image = plan.images.get(&spec.name).cloned().unwrap_or_default();
            let cspec = self.container_spec(spec, &image, release, 0, role_of(plan, spec))?;
            let new = fingerprint::parts(&cspec, &self.salt);
            let want = cspec.labels.get(fingerprint::LABEL_SPEC).cloned();
            let mine: Vec<&ContainerInfo> = existing
                .iter()
                .filter(|c| c.labels.get(LABEL_SERVICE) == Some(&spec.name))
                .filter(|c| c.labels.get(LABEL_ROLE).map(String::as_str) != Some("job"))
                .filter(|c| {
                    c.state == "running"
                        || c.state == "restarting"
                        || (one_shot(plan, spec) && c.state == "exited" && c.exit_code == Some(0))
                })
                .collect();
            let strategy = lifecycle::update_of(spec);
            let mut what: Vec<String> = Vec::new();
            if mine.is_empty() {
                what.push(format!("new: {} replica(s)", spec.replicas));
            } else {
                let differing: Vec<&&ContainerInfo> = mine
                    .iter()
                    .filter(|c| fingerprint::of(c) != want.as_deref())
                    .collect();
                if scope.replace_all {
                    what.push("replaced on purpose".into());
                } else if let Some(c) = differing.first() {
                    what.extend(fingerprint::changes(c, &new));
                }
                if mine.len() as u32 != spec.replicas {
                    what.push(format!("replicas {} → {}", mine.len(), spec.replicas));
                }
                if what.is_empty() {
                    what.push("unchanged".into());
                } else if strategy == Update::Manual && !scope.replace_manual {
                    what.push(
                        "not applied: the service is updated manually (\"replace now\")".into(),
                    );
                }
            }
            lines.push(format!(
                "{} ({}): {}",
                spec.name,
                strategy.as_str(),
                what.join("; ")
            ));
        }
        for c in existing.iter().filter(|c| {
            let s = c
                .labels
                .get(LABEL_SERVICE)
                .map(String::as_str)
                .unwrap_or("");
            c.labels.get(LABEL_ROLE).map(String::as_str) != Some("job")
                && scope.includes(s)
                && !plan.services.iter().any(|p| p.name == s)
        }) {
            lines.push(format!(
                "{}: removed (no longer in the release)",
                c.labels
                    .get(LABEL_SERVICE)
                    .map(String::as_str)
                    .unwrap_or("?")
            ));
        }
        lines.dedup();
        Ok(lines)
    }

    /// Takes containers out of the proxy, lets them drain, stops and removes them.
    async fn retire(
        &self,
        plan: &Plan,
        spec: &ServiceSpec,
        victims: Vec<ContainerInfo>,
        upstreams: &mut BTreeMap<String, Vec<Member>>,
        remove: bool,
    ) -> Result<(), String> {
        let service = spec.name.as_str();
        let was_serving = victims.iter().any(|v| {
            upstreams
                .get(service)
                .is_some_and(|m| m.iter().any(|m| m.id == v.id))
        });
        if let Some(members) = upstreams.get_mut(service) {
            members.retain(|m| !victims.iter().any(|v| v.id == m.id));
        }
        self.apply_proxy(plan, upstreams).await?;
        if was_serving && self.managed_by_proxy() && self.settings.drain_secs > 0 {
            let drain = Duration::from_secs(u64::from(self.settings.drain_secs));
            self.log.wait_on(tokio::time::sleep(drain)).await;
        }
        for v in victims {
            self.log.info(format!(
                "stopping {} (release {})",
                v.name.trim_start_matches('/'),
                v.labels
                    .get(LABEL_RELEASE)
                    .map(String::as_str)
                    .unwrap_or("?")
            ));
            if remove {
                self.stop_remove_within(&v.id, self.grace_of(Some(spec)))
                    .await;
            } else if let Err(e) = self.engine.stop(&v.id, self.grace_of(Some(spec))).await {
                return Err(format!(
                    "service `{service}`: could not stop {}: {e}",
                    v.name
                ));
            }
        }
        Ok(())
    }

    /// How long a container of `spec` gets between SIGTERM and SIGKILL.
    fn grace_of(&self, spec: Option<&ServiceSpec>) -> Duration {
        let secs = spec
            .and_then(|s| s.runtime.stop_grace_secs)
            .unwrap_or(self.settings.stop_grace_secs);
        Duration::from_secs(u64::from(secs))
    }

    async fn stop_remove(&self, id: &str) {
        self.stop_remove_within(id, self.grace_of(None)).await
    }

    async fn stop_remove_within(&self, id: &str, grace: Duration) {
        if let Err(e) = self.log.wait_on(self.engine.stop_remove(id, grace)).await {
            self.log
                .error(format!("could not remove container {id}: {e}"));
        }
    }

    fn check_cancel(&self) -> Result<(), String> {
        if self.cancel.is_cancelled() {
            Err("cancelled".into())
        } else {
            Ok(())
        }
    }

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

    /// Starts one replica and waits until it is ready; on failure removes it and says why
    /// (with its last log lines in the deploy log).
    async fn start_ready(
        &self,
        plan: &Plan,
        release: i64,
        spec: &ServiceSpec,
        image: &PlanImage,
        replica: i64,
    ) -> Result<(String, Option<String>), String> {
        self.ensure_volumes(spec).await?;
        let cspec = self.container_spec(spec, image, release, replica, role_of(plan, spec))?;
        self.log.info(format!(
            "starting {} ({}, replica {replica})",
            cspec.name, image.reference
        ));
        let started = self
            .log
            .wait_on(self.engine.start(&cspec))
            .await
            .map_err(|e| format!("service `{}`: {e}", spec.name))?;
        let probe = probe_for(plan, spec);
        let timeout = Duration::from_secs(u64::from(self.settings.ready_timeout_secs));
        let t0 = std::time::Instant::now();
        if let Err(e) = self
            .log
            .wait_on(
                self.engine
                    .wait_ready(&started.id, &probe, timeout, self.cancel.clone()),
            )
            .await
        {
            self.log.error(format!(
                "service `{}` replica {replica} did not become ready: {e}",
                spec.name
            ));
            if !matches!(e, engine::EngineError::Exited { .. }) {
                self.tail_logs(&started.id).await;
            }
            self.stop_remove(&started.id).await;
            return Err(format!(
                "service `{}` replica {replica} did not become ready: {e}",
                spec.name
            ));
        }
        self.log.info(format!(
            "{} is ready ({} ms, {})",
            started.name,
            t0.elapsed().as_millis(),
            probe_name(&probe)
        ));
        let serves = !spec.internal && !one_shot(plan, spec);
        let server = spec.http_port.filter(|_| serves).and_then(|port| {
            if self.in_container_proxy() {
                Some(format!("{}:{port}", started.name))
            } else {
                started.http_addr.map(|a| a.to_string())
            }
        });
        Ok((started.id, server))
    }

    async fn tail_logs(&self, id: &str) {
        use futures_util::StreamExt;
        let mut s = self.engine.logs(id, 20, false);
        let mut n = 0;
        while let Ok(Some(Ok(line))) = tokio::time::timeout(Duration::from_secs(3), s.next()).await
        {
            self.log.stderr(format!("  | {}", line.text));
            n += 1;
            if n >= 20 {
                break;
            }
        }
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
fn role_of(plan: &Plan, spec: &ServiceSpec) -> &'static str {
    if one_shot(plan, spec) {
        "once"
    } else {
        "service"
    }
}

/// Whether a container was started for a `manual` service.
fn manual(c: &ContainerInfo) -> bool {
    c.labels.get(LABEL_UPDATE).map(String::as_str) == Some("manual")
}

/// Whether a container is up and may take traffic.
fn serving(c: &ContainerInfo) -> bool {
    c.state == "running"
        && c.health.as_deref() != Some("unhealthy")
        && c.labels.get(LABEL_ROLE).map(String::as_str) != Some("job")
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

fn probe_name(p: &Probe) -> String {
    match p {
        Probe::DockerHealth => "Docker health check".into(),
        Probe::Http { path } => format!("HTTP {path}"),
        Probe::Running { min_uptime } => format!("running for {} s", min_uptime.as_secs()),
        Probe::Completes => "completed with exit code 0".into(),
    }
}

/// The nginx configuration for a plan with these upstream servers.
fn render_proxy(
    plan: &Plan,
    env: &EnvInfo,
    members: &BTreeMap<String, Vec<Member>>,
) -> Result<String, String> {
    let upstreams: Vec<Upstream> = plan
        .services
        .iter()
        .map(|s| Upstream {
            service: s.name.clone(),
            servers: members
                .get(&s.name)
                .map(|m| m.iter().map(|m| m.server.clone()).collect())
                .unwrap_or_default(),
        })
        .collect();
    stack::nginx::render(&stack::nginx::RenderInput {
        environment: &env.slug,
        namespace: &proxy_namespace(env),
        sites: &plan.sites,
        upstreams: &upstreams,
        proxy: &plan.proxy,
        log_dir: None,
    })
    .map_err(|errors| {
        let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
        format!("proxy configuration: {first}")
    })
}
