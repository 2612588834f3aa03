//! A deploy of the environment's configuration: validate, pull, release, pre-deploy jobs,
//! then the switch.
use super::super::connect::{connect, proxy_for};
use super::super::plan;
use super::super::release::create_release;
use super::super::rollout::Scope;
use super::super::store::{self, Plan, PlanImage, Release};
use super::{failed, Outcome, Run, StepError};
use engine::{Engine, PullPolicy};
use std::collections::BTreeMap;
use std::time::Duration;

impl Run {
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
        self.salt = match super::super::fingerprint::salt(&db).await {
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

    pub(super) async fn deploy(&mut self, engine: &Engine, current: Option<Release>) -> Outcome {
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
                let resolved = self.mask_secrets_and_resolve(&plan).await?;
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
                    namespace: &super::super::rollout::proxy_namespace(&self.env),
                    sites: &plan.sites,
                    upstreams: &upstreams,
                    proxy: &plan.proxy,
                    log_dir: None,
                    access_log: None,
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

    pub(super) async fn pull(
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

    pub(super) async fn pre_deploy(
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
                    &super::super::rollout::network_name(&self.env),
                    &super::super::rollout::env_labels(&self.env),
                )
                .await
                .map_err(|e| failed(e.to_string()))?;
            // Which volumes the running containers mount, so jobs mount the same ones.
            let existing = ro.list_containers().await.map_err(failed)?;
            ro.note_legacy_volumes(&existing);
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
}
