//! Rolling out a release that exists: rollback, redeploy, scale, restart, replace, and the
//! reconciliation after a crash.
use super::super::connect::proxy_for;
use super::super::plan;
use super::super::release::{config_version, create_release};
use super::super::rollout::Scope;
use super::super::store::{self, Release};
use super::{failed, Outcome, Run};
use engine::Engine;
use std::time::Duration;

impl Run {
    /// Rollback, redeploy, scale or restart: an existing (or derived) release rolled out.
    pub(super) async fn roll_existing(
        &mut self,
        engine: &Engine,
        current: Option<Release>,
    ) -> Outcome {
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
                let resolved = self.mask_secrets_and_resolve(&base.plan).await?;
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
    pub(super) async fn reconcile(&mut self, engine: &Engine, current: Option<Release>) -> Outcome {
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
        let resolved = match self.mask_secrets_and_resolve(&plan).await {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e.cause),
        };
        let proxy = proxy_for(&plan, engine);
        let r = self
            .step("reconcile", self.rollout_limit(&plan), async {
                let ro = self.rollout(engine, proxy.as_ref(), resolved);
                let before = ro.list_containers().await.map_err(failed)?;
                ro.note_legacy_volumes(&before);
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
}
