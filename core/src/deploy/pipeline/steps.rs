//! The step runner: each step numbered, timed out, recorded with its status; and the time
//! limits the steps get.
use super::super::store::Plan;
use super::{failed, Outcome, Run, StepError};
use std::time::Duration;

impl Run {
    /// Runs one step with a time limit; records its start, end and status.
    pub(super) async fn step<T, F>(&self, name: &str, limit: Duration, f: F) -> Result<T, StepError>
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

    pub(super) fn next_position(&self) -> i64 {
        self.position
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1
    }

    pub(super) async fn skip(&self, name: &str, why: &str) {
        let pos = self.next_position();
        self.log.step_start(pos, name).await;
        self.log.info(why);
        self.log.step_end(pos, "skipped", why).await;
    }

    pub(super) fn cancelled_or(&self, o: Outcome) -> Outcome {
        if self.cancel.is_cancelled() {
            Outcome::Cancelled("cancelled before anything was switched".into())
        } else {
            o
        }
    }

    pub(super) fn pull_limit(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.pull_timeout_secs) + 60)
    }

    pub(super) fn rollout_limit(&self, plan: &Plan) -> Duration {
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

    pub(super) fn job_timeout(&self, own: u32) -> u32 {
        if own > 0 {
            own
        } else {
            self.settings.job_timeout_secs
        }
    }
}
