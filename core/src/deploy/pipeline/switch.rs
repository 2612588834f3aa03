//! The switch: the rolling update and the health gate, then the release made current; on
//! failure (or cancel), the rollback.
use super::super::connect::{gate_base, proxy_for};
use super::super::gate;
use super::super::plan;
use super::super::release::{mark_current, prune_images};
use super::super::rollout::Scope;
use super::super::store::{Plan, Release};
use super::{failed, Outcome, Run, StepError};
use engine::Engine;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl Run {
    /// The rolling update and the health gate; on failure (or cancel) rolls back to `current`.
    pub(super) async fn switch(
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
    pub(super) async fn gate_targets(
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
        if super::super::connect::engine_host(&self.env.docker_host).is_some() {
            return Err(
                "Berth does not manage a proxy for this environment, and the containers of a \
                 remote engine publish their ports on its loopback only: site checks skipped"
                    .into(),
            );
        }
        let containers = super::super::rollout::env_containers(engine, &self.env)
            .await
            .map_err(|e| format!("could not list the containers to probe: {e}"))?;
        let mut targets = Vec::new();
        for c in containers.iter().filter(|c| {
            // Every running service container serves the release: the rollout removed the
            // rest, and kept those whose spec did not change (started for an older release).
            c.state == "running"
                && c.labels
                    .get(super::super::rollout::LABEL_ROLE)
                    .map(String::as_str)
                    != Some("job")
        }) {
            let (Some(addr), Some(service)) = (
                c.http_addr,
                c.labels.get(super::super::rollout::LABEL_SERVICE),
            ) else {
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

    pub(super) async fn roll_back(
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
        let resolved = match self.mask_secrets_and_resolve(&plan).await {
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
}
