//! Converging: every service in scope brought to the release, in dependency order, and
//! each service replaced, scaled or left alone according to its update strategy.
use super::super::fingerprint;
use super::super::store::Plan;
use super::labels::{
    env_labels, label_i64, manual, network_name, serving, LABEL_REPLICA, LABEL_ROLE, LABEL_SERVICE,
};
use super::proxy::Member;
use super::spec::one_shot;
use super::{Rollout, Scope};
use engine::ContainerInfo;
use stack::lifecycle::{self, Update};
use stack::model::ServiceSpec;
use std::collections::BTreeMap;

impl Rollout<'_> {
    /// Brings every service in `scope` to `plan` (release `release`), rolling.
    pub async fn converge(&self, plan: &Plan, release: i64, scope: &Scope) -> Result<(), String> {
        let existing = self.list_containers().await?;
        self.note_legacy_volumes(&existing);
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
}
