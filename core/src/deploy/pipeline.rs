//! One deploy, start to end: validate → pull → release → pre-deploy jobs → rolling update →
//! health gate → finish, with an automatic rollback when the rollout or the gate fails.
//! Rollbacks, redeploys, scaling, restarts and reconciliation run the same steps they need.
//!
//! Split by what a deploy does: `steps` (the step runner), `resolution` (secrets and
//! variables), `deploy` (a new release from the configuration), `existing` (an existing
//! release rolled out, reconciliation) and `switch` (rolling update, health gate, rollback).
use super::super::AppState;
use super::log::DeployLog;
use super::plan::EnvInfo;
use super::store::DeployRow;
use stack::model::DeploySettings;
use tokio_util::sync::CancellationToken;

mod deploy;
mod existing;
mod resolution;
mod steps;
mod switch;

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
}
