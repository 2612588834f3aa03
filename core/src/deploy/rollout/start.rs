//! Starting new containers: each replica started and waited on until ready, then put in
//! the proxy in place of an old one; after a failed recreate, the old ones brought back.
use super::super::store::{Plan, PlanImage};
use super::labels::{label_i64, LABEL_REPLICA};
use super::proxy::Member;
use super::spec::{one_shot, probe_for, probe_name, role_of};
use super::Rollout;
use engine::ContainerInfo;
use stack::model::ServiceSpec;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl Rollout<'_> {
    /// Starts the replicas of `spec` that `keep` lacks, each retiring an old container of
    /// its replica (or any old one) once it is ready.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn start_replicas(
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
    pub(super) async fn bring_back(
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
