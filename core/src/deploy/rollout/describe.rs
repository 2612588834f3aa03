//! What converging would do, per service, in words: logged before anything is switched.
use super::super::fingerprint;
use super::super::store::Plan;
use super::labels::{LABEL_ROLE, LABEL_SERVICE};
use super::spec::{one_shot, role_of};
use super::{Rollout, Scope};
use engine::ContainerInfo;
use stack::lifecycle::{self, Update};

impl Rollout<'_> {
    /// Per service, what converging to `plan` would do, in words (no values): "unchanged",
    /// what changed, replicas added or removed, the strategy that applies. For the deploy
    /// log, before anything is switched.
    pub async fn describe(
        &self,
        plan: &Plan,
        release: i64,
        scope: &Scope,
    ) -> Result<Vec<String>, String> {
        let existing = self.list_containers().await?;
        self.note_legacy_volumes(&existing);
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
}
