//! Resolution: a plan's secrets opened (and masked in the log), its variables resolved, and
//! the rollout that starts its containers.
use super::super::plan;
use super::super::rollout::Rollout;
use super::super::store::Plan;
use super::{failed, Run, StepError};
use engine::proxy::Proxy;
use engine::Engine;
use std::collections::BTreeMap;

impl Run {
    /// Opens the secrets of a plan and adds them, and the values they had before they were
    /// last overwritten, to the log's redactor (which only grows). Returns the secrets.
    pub(super) async fn mask_secrets(
        &self,
        plan: &Plan,
    ) -> Result<BTreeMap<String, String>, StepError> {
        let secrets = plan::open_secrets(&self.state.db, &self.state.secrets, &self.env, plan)
            .await
            .map_err(|e| failed(format!("secrets: {e}")))?;
        self.log.extend_redactor(&plan::redactor(&secrets));
        let earlier = super::super::log::earlier_secrets(&self.state, &self.env)
            .await
            .map_err(|e| failed(format!("secrets: {e}")))?;
        self.log.extend_redactor(&earlier);
        Ok(secrets)
    }

    /// The variables of a plan resolved with its `secrets` and the commit's variables, and
    /// every service's container environment checked. Changes nothing.
    pub(super) fn resolve_variables(
        &self,
        plan: &Plan,
        secrets: &BTreeMap<String, String>,
    ) -> Result<plan::Resolved, StepError> {
        let extra = if plan.git.is_empty() {
            self.git_variables()
        } else {
            plan.git.clone()
        };
        let resolved = plan::resolve_all(plan, secrets, &extra)
            .map_err(|errs| failed(format!("variables: {}", errs.join("; "))))?;
        for s in &plan.services {
            plan::service_env(s, &resolved).map_err(|e| failed(e.join("; ")))?;
        }
        Ok(resolved)
    }

    /// Masks the secrets of a plan in the log (`mask_secrets`), then resolves its variables
    /// (`resolve_variables`).
    pub(super) async fn mask_secrets_and_resolve(
        &self,
        plan: &Plan,
    ) -> Result<plan::Resolved, StepError> {
        let secrets = self.mask_secrets(plan).await?;
        self.resolve_variables(plan, &secrets)
    }

    /// The commit variables of this deploy's request (`GIT_SHA`…; the environment's
    /// branch when the request names none).
    pub(super) fn git_variables(&self) -> BTreeMap<String, String> {
        let p = &self.row.params;
        let branch = if p.git_branch.is_empty() {
            &self.env.branch
        } else {
            &p.git_branch
        };
        plan::git_variables(&p.git_sha, branch)
    }

    pub(super) fn rollout<'a>(
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
            access_log: self.state.metrics.access_log().map(|c| c.sink(self.env.id)),
        }
    }
}
