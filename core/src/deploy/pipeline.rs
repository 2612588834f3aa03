//! One deploy, start to end: validate → pull → release → pre-deploy jobs → rolling update →
//! health gate → finish, with an automatic rollback when the rollout or the gate fails.
//! Rollbacks, redeploys, scaling, restarts and reconciliation run the same steps they need.
use super::super::AppState;
use super::connect::{connect, gate_base, proxy_for};
use super::gate;
use super::log::DeployLog;
use super::plan::{self, EnvInfo};
use super::release::{config_version, create_release, mark_current, prune_images};
use super::rollout::{Rollout, Scope};
use super::store::{self, DeployRow, Plan, PlanImage, Release};
use engine::proxy::Proxy;
use engine::{Engine, PullPolicy};
use stack::model::DeploySettings;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How a deploy ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Succeeded,
    /// Failed; the previous release was restored.
    RolledBack(String),
    /// Failed before anything was switched, or the rollback failed too.
    Failed(String),
    Cancelled(String),
}

impl Outcome {
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::RolledBack(_) => "rolled_back",
            Outcome::Failed(_) => "failed",
            Outcome::Cancelled(_) => "cancelled",
        }
    }
    pub fn cause(&self) -> &str {
        match self {
            Outcome::Succeeded => "",
            Outcome::RolledBack(c) | Outcome::Failed(c) | Outcome::Cancelled(c) => c,
        }
    }
}

/// A running deploy.
pub struct Run {
    pub state: AppState,
    pub row: DeployRow,
    pub env: EnvInfo,
    pub log: DeployLog,
    pub cancel: CancellationToken,
    pub settings: DeploySettings,
    position: std::sync::atomic::AtomicI64,
    /// The instance's container fingerprint key (read when the deploy starts).
    salt: Vec<u8>,
}

/// A step failed: why, and whether anything was switched (so a rollback is needed).
struct StepError {
    cause: String,
    switched: bool,
}

fn failed(cause: impl Into<String>) -> StepError {
    StepError {
        cause: cause.into(),
        switched: false,
    }
}

impl Run {
    pub fn new(
        state: AppState,
        row: DeployRow,
        env: EnvInfo,
        log: DeployLog,
        cancel: CancellationToken,
        settings: DeploySettings,
    ) -> Run {
        Run {
            state,
            row,
            env,
            log,
            cancel,
            settings,
            position: std::sync::atomic::AtomicI64::new(0),
            salt: Vec::new(),
        }
    }

    /// Runs one step with a time limit; records its start, end and status.
    async fn step<T, F>(&self, name: &str, limit: Duration, f: F) -> Result<T, StepError>
    where
        F: std::future::Future<Output = Result<T, StepError>>,
    {
        let pos = self.next_position();
        self.log.step_start(pos, name).await;
        let r = match tokio::time::timeout(limit, f).await {
            Ok(r) => r,
            Err(_) => Err(failed(format!(
                "{name}: timed out after {} s",
                limit.as_secs()
            ))),
        };
        match &r {
            Ok(_) => self.log.step_end(pos, "ok", "").await,
            Err(e) => {
                self.log.error(&e.cause);
                let status = if self.cancel.is_cancelled() {
                    "cancelled"
                } else {
                    "failed"
                };
                self.log.step_end(pos, status, &e.cause).await;
            }
        }
        r
    }

    fn next_position(&self) -> i64 {
        self.position
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1
    }

    async fn skip(&self, name: &str, why: &str) {
        let pos = self.next_position();
        self.log.step_start(pos, name).await;
        self.log.info(why);
        self.log.step_end(pos, "skipped", why).await;
    }

    pub async fn execute(mut self) -> Outcome {
        let outcome = self.execute_inner().await;
        self.log.flush().await;
        outcome
    }

    async fn execute_inner(&mut self) -> Outcome {
        let db = self.state.db.clone();
        let current = match store::current_release_id(&db, self.env.id).await {
            Ok(Some(id)) => store::release(&db, id).await.ok(),
            _ => None,
        };
        let _ = sqlx::query("UPDATE deploys SET previous_release_id = $1 WHERE id = $2")
            .bind(current.as_ref().map(|r| r.id))
            .bind(self.row.id)
            .execute(&db.pool)
            .await;
        self.salt = match super::fingerprint::salt(&db).await {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(format!("container fingerprint key: {e}")),
        };
        let engine = match connect(&self.state, &self.env).await {
            Ok(e) => e,
            Err(e) => return Outcome::Failed(e),
        };
        let kind = self.row.kind.clone();
        match kind.as_str() {
            "deploy" => self.deploy(&engine, current).await,
            "rollback" | "redeploy" | "scale" | "restart" | "replace" => {
                self.roll_existing(&engine, current).await
            }
            "reconcile" => self.reconcile(&engine, current).await,
            other => Outcome::Failed(format!("unknown deploy kind `{other}`")),
        }
    }

    /// Opens the secrets and resolves the variables of a plan; adds its secrets to the log's
    /// redactor (which only grows).
    async fn resolve(&self, plan: &Plan) -> Result<plan::Resolved, StepError> {
        let secrets = plan::open_secrets(&self.state.db, &self.state.secrets, &self.env, plan)
            .await
            .map_err(|e| failed(format!("secrets: {e}")))?;
        self.log.extend_redactor(&plan::redactor(&secrets));
        let earlier = super::log::earlier_secrets(&self.state, &self.env)
            .await
            .map_err(|e| failed(format!("secrets: {e}")))?;
        self.log.extend_redactor(&earlier);
        let extra = if plan.git.is_empty() {
            self.git_variables()
        } else {
            plan.git.clone()
        };
        let resolved = plan::resolve_all(plan, &secrets, &extra)
            .map_err(|errs| failed(format!("variables: {}", errs.join("; "))))?;
        for s in &plan.services {
            plan::service_env(s, &resolved).map_err(|e| failed(e.join("; ")))?;
        }
        Ok(resolved)
    }

    /// The commit variables of this deploy's request (`GIT_SHA`…; the environment's
    /// branch when the request names none).
    fn git_variables(&self) -> BTreeMap<String, String> {
        let p = &self.row.params;
        let branch = if p.git_branch.is_empty() {
            &self.env.branch
        } else {
            &p.git_branch
        };
        plan::git_variables(&p.git_sha, branch)
    }

    fn rollout<'a>(
        &'a self,
        engine: &'a Engine,
        proxy: Option<&'a Proxy>,
        resolved: plan::Resolved,
    ) -> Rollout<'a> {
        Rollout {
            engine,
            proxy,
            env: &self.env,
            settings: &self.settings,
            log: &self.log,
            cancel: self.cancel.clone(),
            deploy_id: self.row.id,
            resolved,
            salt: self.salt.clone(),
            legacy_volumes: Default::default(),
        }
    }

    async fn deploy(&mut self, engine: &Engine, current: Option<Release>) -> Outcome {
        let validated = self
            .step("validate", Duration::from_secs(60), async {
                let (mut plan, version) = plan::capture(&self.state.db, &self.env)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                plan.git = self.git_variables();
                if plan.services.is_empty() {
                    return Err(failed("the environment has no services"));
                }
                let deps = stack::lifecycle::dependency_errors(&plan.services);
                if !deps.is_empty() {
                    return Err(failed(deps.join("; ")));
                }
                let resolved = self.resolve(&plan).await?;
                let mut refs = BTreeMap::new();
                for s in &plan.services {
                    refs.insert(
                        s.name.clone(),
                        plan::image_reference(s, &resolved).map_err(failed)?,
                    );
                }
                let version_info = engine
                    .ping()
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                self.log.info(format!(
                    "configuration version {version}: {} service(s), {} site(s), {} variable(s); Docker engine {version_info}",
                    plan.services.len(),
                    plan.sites.len(),
                    plan.variables.len()
                ));
                let upstreams: Vec<stack::nginx::Upstream> = plan
                    .services
                    .iter()
                    .map(|s| stack::nginx::Upstream {
                        service: s.name.clone(),
                        servers: Vec::new(),
                    })
                    .collect();
                stack::nginx::render(&stack::nginx::RenderInput {
                    environment: &self.env.slug,
                    namespace: &super::rollout::proxy_namespace(&self.env),
                    sites: &plan.sites,
                    upstreams: &upstreams,
                    proxy: &plan.proxy,
                    log_dir: None,
                })
                .map_err(|errs| {
                    failed(format!(
                        "proxy configuration: {}",
                        errs.first().map(|e| e.to_string()).unwrap_or_default()
                    ))
                })?;
                Ok((plan, version, resolved, refs))
            })
            .await;
        let (mut plan, version, resolved, refs) = match validated {
            Ok(v) => v,
            Err(e) => return Outcome::Failed(e.cause),
        };
        if let Err(e) = self.pull(engine, &mut plan, &refs, &resolved).await {
            return self.cancelled_or(Outcome::Failed(e.cause));
        }
        let release = match self
            .step("release", Duration::from_secs(30), async {
                let r = create_release(&self.log, &self.row, &self.env, &plan, version)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                self.log.info(format!(
                    "release {} (configuration version {version}){}",
                    r.number,
                    plan.images
                        .iter()
                        .map(|(s, i)| format!("; {s}: {}", i.id))
                        .collect::<String>()
                ));
                Ok(r)
            })
            .await
        {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e.cause),
        };
        if let Err(e) = self.pre_deploy(engine, &plan, &release, &resolved).await {
            return self.cancelled_or(Outcome::Failed(e.cause));
        }
        self.switch(engine, &plan, &release, Scope::default(), resolved, current)
            .await
    }

    /// Rollback, redeploy, scale or restart: an existing (or derived) release rolled out.
    async fn roll_existing(&mut self, engine: &Engine, current: Option<Release>) -> Outcome {
        let kind = self.row.kind.clone();
        let prepared = self
            .step("validate", Duration::from_secs(60), async {
                let base = match kind.as_str() {
                    "rollback" => {
                        let id = self
                            .row
                            .target_release_id
                            .ok_or_else(|| failed("no release to roll back to"))?;
                        store::release(&self.state.db, id)
                            .await
                            .map_err(|e| failed(e.to_string()))?
                    }
                    _ => current
                        .clone()
                        .ok_or_else(|| failed("nothing is deployed in this environment yet"))?,
                };
                let resolved = self.resolve(&base.plan).await?;
                engine.ping().await.map_err(|e| failed(e.to_string()))?;
                self.log.info(format!(
                    "release {} ({} service(s))",
                    base.number,
                    base.plan.services.len()
                ));
                Ok((base, resolved))
            })
            .await;
        let (mut base, resolved) = match prepared {
            Ok(v) => v,
            Err(e) => return Outcome::Failed(e.cause),
        };
        let check = self
            .step("pull", self.pull_limit(), async {
                for (service, img) in &base.plan.images {
                    match engine.image_exists(&img.id).await {
                        Ok(Some(_)) => self.log.info(format!("{service}: {} is present", img.id)),
                        _ => {
                            return Err(failed(format!(
                                "{service}: image {} ({}) is no longer on the engine",
                                img.id, img.reference
                            )))
                        }
                    }
                }
                Ok(())
            })
            .await;
        if let Err(e) = check {
            return Outcome::Failed(e.cause);
        }
        let mut scope = Scope::default();
        match kind.as_str() {
            "scale" => {
                let release = self
                    .step("release", Duration::from_secs(30), async {
                        let mut plan = base.plan.clone();
                        for s in plan.services.iter_mut() {
                            if let Some(n) = self.row.params.scale.get(&s.name) {
                                self.log
                                    .info(format!("{}: {} → {n} replica(s)", s.name, s.replicas));
                                s.replicas = *n;
                            }
                        }
                        let version = config_version(&self.state, self.env.id).await;
                        let r = create_release(&self.log, &self.row, &self.env, &plan, version)
                            .await
                            .map_err(|e| failed(e.to_string()))?;
                        self.log.info(format!("release {}", r.number));
                        Ok(r)
                    })
                    .await;
                match release {
                    Ok(r) => base = r,
                    Err(e) => return Outcome::Failed(e.cause),
                }
            }
            "redeploy" => scope.replace_all = true,
            "restart" => {
                scope.replace_all = true;
                scope.services = self.row.params.services.clone();
            }
            // A `manual` service's own action: replace it now, whatever its strategy.
            "replace" => {
                scope.replace_all = true;
                scope.replace_manual = true;
                scope.services = self.row.params.services.clone();
            }
            _ => {}
        }
        let _ = sqlx::query("UPDATE deploys SET release_id = $1 WHERE id = $2")
            .bind(base.id)
            .bind(self.row.id)
            .execute(&self.state.db.pool)
            .await;
        let plan = base.plan.clone();
        self.switch(engine, &plan, &base, scope, resolved, current)
            .await
    }

    /// After a crash: bring the environment back to its current release, remove what the
    /// interrupted deploy left behind, point the proxy at what is healthy.
    async fn reconcile(&mut self, engine: &Engine, current: Option<Release>) -> Outcome {
        let (plan, number) = match &current {
            Some(r) => (r.plan.clone(), r.number),
            None => {
                let (mut plan, _) = match plan::capture(&self.state.db, &self.env).await {
                    Ok(p) => p,
                    Err(e) => return Outcome::Failed(e.to_string()),
                };
                // Nothing was ever deployed: every service at zero replicas (the sites'
                // routes still name them, so the proxy keeps its placeholders).
                for s in plan.services.iter_mut() {
                    s.replicas = 0;
                }
                (plan, 0)
            }
        };
        let resolved = match self.resolve(&plan).await {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e.cause),
        };
        let proxy = proxy_for(&plan, engine);
        let r = self
            .step("reconcile", self.rollout_limit(&plan), async {
                let ro = self.rollout(engine, proxy.as_ref(), resolved);
                let before = ro.containers().await.map_err(failed)?;
                self.log.info(format!(
                    "{} container(s) labelled for this environment; current release: {}",
                    before.len(),
                    current
                        .as_ref()
                        .map(|r| r.number.to_string())
                        .unwrap_or_else(|| "none".into())
                ));
                ro.converge(&plan, number, &Scope::default())
                    .await
                    .map_err(failed)
            })
            .await;
        match r {
            Ok(()) => Outcome::Succeeded,
            Err(e) => Outcome::Failed(e.cause),
        }
    }

    fn pull_limit(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.pull_timeout_secs) + 60)
    }

    fn rollout_limit(&self, plan: &Plan) -> Duration {
        let s = &self.settings;
        let per = u64::from(s.ready_timeout_secs)
            + u64::from(s.drain_secs)
            + u64::from(s.stop_grace_secs)
            + 30;
        let replicas: u64 = plan
            .services
            .iter()
            .map(|s| u64::from(s.replicas.max(1)))
            .sum();
        Duration::from_secs(per * (replicas.max(1) + 1))
    }

    async fn pull(
        &self,
        engine: &Engine,
        plan: &mut Plan,
        refs: &BTreeMap<String, String>,
        resolved: &plan::Resolved,
    ) -> Result<(), StepError> {
        let policy = if self.settings.pull_policy == "always" {
            PullPolicy::Always
        } else {
            PullPolicy::IfMissing
        };
        let auth = plan::registry_auth(resolved);
        let timeout = Duration::from_secs(u64::from(self.settings.pull_timeout_secs));
        let limit = self.pull_limit();
        let images = self
            .step("pull", limit, async {
                let mut images = BTreeMap::new();
                for (service, reference) in refs {
                    let log = self.log.clone();
                    let sink = move |line: String| log.info(line);
                    let fut = engine.ensure_image(reference, policy, auth.as_ref(), timeout, &sink);
                    let img = tokio::select! {
                        r = self.log.wait_on(fut) => r.map_err(|e| failed(format!("service `{service}`: {e}")))?,
                        _ = self.cancel.cancelled() => return Err(failed("cancelled")),
                    };
                    self.log.info(format!("{service}: {reference} → {}", img.id));
                    images.insert(
                        service.clone(),
                        PlanImage {
                            reference: reference.clone(),
                            id: img.id,
                            digest: img.digest,
                        },
                    );
                }
                Ok(images)
            })
            .await?;
        plan.images = images;
        Ok(())
    }

    async fn pre_deploy(
        &self,
        engine: &Engine,
        plan: &Plan,
        release: &Release,
        resolved: &plan::Resolved,
    ) -> Result<(), StepError> {
        let jobs: usize = plan.services.iter().map(|s| s.pre_deploy.len()).sum();
        if jobs == 0 {
            self.skip("pre_deploy", "no pre-deploy jobs").await;
            return Ok(());
        }
        let limit: u64 = plan
            .services
            .iter()
            .flat_map(|s| s.pre_deploy.iter())
            .map(|j| u64::from(self.job_timeout(j.timeout_secs)) + 30)
            .sum();
        let proxy = proxy_for(plan, engine);
        self.step("pre_deploy", Duration::from_secs(limit), async {
            let ro = self.rollout(engine, proxy.as_ref(), resolved.clone());
            engine
                .ensure_network(
                    &super::rollout::network_name(&self.env),
                    &super::rollout::env_labels(&self.env),
                )
                .await
                .map_err(|e| failed(e.to_string()))?;
            // Which volumes the running containers mount, so jobs mount the same ones.
            ro.containers().await.map_err(failed)?;
            for s in &plan.services {
                let image = plan.images.get(&s.name).cloned().unwrap_or_default();
                if !s.pre_deploy.is_empty() {
                    ro.ensure_volumes(s).await.map_err(failed)?;
                }
                for (i, job) in s.pre_deploy.iter().enumerate() {
                    if self.cancel.is_cancelled() {
                        return Err(failed("cancelled"));
                    }
                    let mut spec = ro
                        .container_spec(s, &image, release.number, i as i64, "job")
                        .map_err(failed)?;
                    spec.command = job.command.clone();
                    spec.name = format!("{}-{}", spec.name, job.name);
                    self.log.info(format!(
                        "job `{}` of `{}`: {}",
                        job.name,
                        s.name,
                        job.command.join(" ")
                    ));
                    let log = self.log.clone();
                    let sink = move |l: engine::LogLine| match l.stream {
                        engine::LogStream::Stderr => log.stderr(l.text),
                        _ => log.stdout(l.text),
                    };
                    let timeout =
                        Duration::from_secs(u64::from(self.job_timeout(job.timeout_secs)));
                    let code = self
                        .log
                        .wait_on(engine.run_job(&spec, timeout, self.cancel.clone(), &sink))
                        .await
                        .map_err(|e| failed(format!("job `{}` of `{}`: {e}", job.name, s.name)))?;
                    if code != 0 {
                        return Err(failed(format!(
                            "job `{}` of `{}` exited with code {code}; nothing was switched",
                            job.name, s.name
                        )));
                    }
                    self.log.info(format!("job `{}` done", job.name));
                }
            }
            Ok(())
        })
        .await
    }

    fn job_timeout(&self, own: u32) -> u32 {
        if own > 0 {
            own
        } else {
            self.settings.job_timeout_secs
        }
    }

    /// The rolling update and the health gate; on failure (or cancel) rolls back to `current`.
    async fn switch(
        &mut self,
        engine: &Engine,
        plan: &Plan,
        release: &Release,
        scope: Scope,
        resolved: plan::Resolved,
        current: Option<Release>,
    ) -> Outcome {
        let proxy = proxy_for(plan, engine);
        let limit = self.rollout_limit(plan);
        let described = self
            .step("plan", Duration::from_secs(60), async {
                let lines = self
                    .rollout(engine, proxy.as_ref(), resolved.clone())
                    .describe(plan, release.number, &scope)
                    .await
                    .map_err(failed)?;
                for line in lines {
                    self.log.info(line);
                }
                Ok(())
            })
            .await;
        if let Err(e) = described {
            return self.cancelled_or(Outcome::Failed(e.cause));
        }
        let rolled = self
            .step("rollout", limit, async {
                self.rollout(engine, proxy.as_ref(), resolved.clone())
                    .converge(plan, release.number, &scope)
                    .await
                    .map_err(|cause| StepError {
                        cause,
                        switched: true,
                    })
            })
            .await;
        let gated = match rolled {
            Err(e) => Err(e),
            Ok(()) => match self.gate_targets(engine, plan).await {
                Ok(targets) => {
                    let gate_limit = Duration::from_secs(
                        (u64::from(self.settings.gate_timeout_secs) + 60)
                            * targets.len().max(1) as u64,
                    );
                    self.step("health_gate", gate_limit, async {
                        for (base, sub) in &targets {
                            if targets.len() > 1 || plan.proxy.manager.mode.is_empty() {
                                self.log.info(format!("probing {base} directly"));
                            }
                            self.log
                                .wait_on(gate::run(
                                    sub,
                                    &self.env.slug,
                                    base,
                                    &self.settings,
                                    &self.log,
                                    &self.cancel,
                                ))
                                .await
                                .map_err(|cause| StepError {
                                    cause,
                                    switched: true,
                                })?;
                        }
                        Ok(())
                    })
                    .await
                }
                Err(why) => {
                    self.skip("health_gate", &why).await;
                    Ok(())
                }
            },
        };
        if let Err(e) = gated {
            return self.roll_back(engine, plan, e, current).await;
        }
        let keep = self.settings.keep_releases.max(1);
        let finished = self
            .step("finish", Duration::from_secs(120), async {
                mark_current(&self.state, &self.env, release)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                self.log
                    .info(format!("release {} is current", release.number));
                prune_images(&self.state, engine, &self.env, keep, &self.log).await;
                Ok(())
            })
            .await;
        match finished {
            Ok(()) => Outcome::Succeeded,
            Err(e) => Outcome::Failed(e.cause),
        }
    }

    /// Where the health gate probes: the proxy Berth manages, or, without one, each new
    /// container of a service that a site routes to (with only those sites' checks). `Err`
    /// says why there is nothing to probe.
    async fn gate_targets(
        &self,
        engine: &Engine,
        plan: &Plan,
    ) -> Result<Vec<(String, Plan)>, String> {
        if let Some(base) = gate_base(plan, &self.env) {
            return Ok(vec![(base, plan.clone())]);
        }
        if !plan.proxy.manager.mode.is_empty() {
            return Err("the proxy has no HTTP port: site checks skipped".into());
        }
        if super::connect::engine_host(&self.env.docker_host).is_some() {
            return Err(
                "Berth does not manage a proxy for this environment, and the containers of a \
                 remote engine publish their ports on its loopback only: site checks skipped"
                    .into(),
            );
        }
        let containers = super::rollout::env_containers(engine, &self.env)
            .await
            .map_err(|e| format!("could not list the containers to probe: {e}"))?;
        let mut targets = Vec::new();
        for c in containers.iter().filter(|c| {
            // Every running service container serves the release: the rollout removed the
            // rest, and kept those whose spec did not change (started for an older release).
            c.state == "running"
                && c.labels.get(super::rollout::LABEL_ROLE).map(String::as_str) != Some("job")
        }) {
            let (Some(addr), Some(service)) =
                (c.http_addr, c.labels.get(super::rollout::LABEL_SERVICE))
            else {
                continue;
            };
            let sites: Vec<_> = plan
                .sites
                .iter()
                .filter(|site| {
                    site.hosts.contains_key(&self.env.slug)
                        && site.routes.iter().any(|r| {
                            matches!(&r.target, stack::model::RouteTarget::Service { service: s } if s == service)
                        })
                })
                .cloned()
                .collect();
            if !sites.is_empty() {
                let sub = Plan {
                    sites,
                    ..plan.clone()
                };
                targets.push((format!("http://{addr}"), sub));
            }
        }
        if targets.is_empty() {
            return Err(
                "Berth does not manage a proxy for this environment and no site routes to a \
                 container with an HTTP port: site checks skipped"
                    .into(),
            );
        }
        Ok(targets)
    }

    async fn roll_back(
        &mut self,
        engine: &Engine,
        failed_plan: &Plan,
        e: StepError,
        restore: Option<Release>,
    ) -> Outcome {
        let was_cancel = self.cancel.is_cancelled();
        if !e.switched {
            return self.cancelled_or(Outcome::Failed(e.cause));
        }
        // The rollback must run even when the deploy was cancelled.
        let saved = std::mem::replace(&mut self.cancel, CancellationToken::new());
        let (plan, number) = match &restore {
            Some(r) => (r.plan.clone(), r.number),
            None => {
                let mut empty = failed_plan.clone();
                for s in empty.services.iter_mut() {
                    s.replicas = 0;
                }
                (empty, 0)
            }
        };
        let resolved = match self.resolve(&plan).await {
            Ok(r) => r,
            Err(err) => {
                return Outcome::Failed(format!("{}; rollback impossible: {}", e.cause, err.cause))
            }
        };
        let proxy = proxy_for(&plan, engine);
        let limit = self.rollout_limit(&plan);
        let what = match &restore {
            Some(r) => format!("restoring release {}", r.number),
            None => "no previous release: removing the new containers".to_string(),
        };
        let r = self
            .step("rollback", limit, async {
                self.log.info(&what);
                self.rollout(engine, proxy.as_ref(), resolved)
                    .converge(&plan, number, &Scope::default())
                    .await
                    .map_err(failed)
            })
            .await;
        self.cancel = saved;
        match r {
            Ok(()) if was_cancel => {
                Outcome::Cancelled("cancelled; the previous release was restored".into())
            }
            Ok(()) if restore.is_some() => Outcome::RolledBack(e.cause),
            Ok(()) => Outcome::Failed(e.cause),
            Err(r) => Outcome::Failed(format!("{}; the rollback failed too: {}", e.cause, r.cause)),
        }
    }

    fn cancelled_or(&self, o: Outcome) -> Outcome {
        if self.cancel.is_cancelled() {
            Outcome::Cancelled("cancelled before anything was switched".into())
        } else {
            o
        }
    }
}
