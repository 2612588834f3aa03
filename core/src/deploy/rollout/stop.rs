//! Stopping old containers: out of the proxy, drained, then stopped (and removed).
use super::super::store::Plan;
use super::labels::LABEL_RELEASE;
use super::proxy::Member;
use super::Rollout;
use engine::ContainerInfo;
use stack::model::ServiceSpec;
use std::collections::BTreeMap;
use std::time::Duration;

impl Rollout<'_> {
    /// Takes containers out of the proxy, lets them drain, stops and removes them.
    pub(super) async fn retire(
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
    pub(super) fn grace_of(&self, spec: Option<&ServiceSpec>) -> Duration {
        let secs = spec
            .and_then(|s| s.runtime.stop_grace_secs)
            .unwrap_or(self.settings.stop_grace_secs);
        Duration::from_secs(u64::from(secs))
    }

    pub(super) async fn stop_remove(&self, id: &str) {
        self.stop_remove_within(id, self.grace_of(None)).await
    }

    pub(super) async fn stop_remove_within(&self, id: &str, grace: Duration) {
        if let Err(e) = self.log.wait_on(self.engine.stop_remove(id, grace)).await {
            self.log
                .error(format!("could not remove container {id}: {e}"));
        }
    }
}
