//! The deploy runner: a background worker that takes queued deploys in order, one at a time
//! per environment (different environments run side by side), keeps a heartbeat, and after a
//! crash marks what was running as interrupted and queues a reconciliation.
use super::super::audit::{self, NewEvent, Outcome as AuditOutcome};
use super::super::db::Dialect;
use super::super::{now_ms, AppState, Ctx};
use super::log::DeployLog;
use super::pipeline::{Outcome, Run};
use super::store::{self, Params};
use serde_json::json;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// A deploy whose heartbeat is older than this is considered dead (another replica crashed).
const STALE_MS: i64 = 20_000;
const HEARTBEAT: Duration = Duration::from_secs(3);

/// The runner's in-process state: cancel tokens of running deploys, and a doorbell.
#[derive(Debug, Default)]
pub struct Hub {
    tokens: Mutex<HashMap<i64, CancellationToken>>,
    wake: Notify,
}

impl Hub {
    /// Something was queued: look now rather than at the next tick.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Cancels a deploy running in this process (others see the flag at their heartbeat).
    pub fn cancel(&self, id: i64) {
        if let Some(t) = self
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            t.cancel();
        }
    }

    fn register(&self, id: i64) -> CancellationToken {
        let t = CancellationToken::new();
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, t.clone());
        t
    }

    fn unregister(&self, id: i64) {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    pub fn running(&self) -> usize {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Starts the runner; it stops taking new deploys when `stop` is cancelled.
pub fn spawn(state: AppState, stop: CancellationToken) {
    tokio::spawn(async move {
        if let Err(e) = sweep_interrupted(&state, true).await {
            tracing::error!(error = %e, "could not check for interrupted deploys");
        }
        let mut last_sweep = std::time::Instant::now();
        loop {
            if let Err(e) = claim_all(&state).await {
                tracing::warn!(error = %e, "deploy runner: could not claim deploys");
            }
            if last_sweep.elapsed() > Duration::from_secs(10) {
                last_sweep = std::time::Instant::now();
                if let Err(e) = sweep_interrupted(&state, false).await {
                    tracing::warn!(error = %e, "deploy runner: sweep failed");
                }
            }
            tokio::select! {
                _ = state.deploys.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.cancelled() => break,
            }
        }
    });
}

/// Marks running deploys that nobody runs any more as interrupted, and queues a
/// reconciliation of their environments. At startup on SQLite (one process owns the
/// database), every running deploy is interrupted.
pub async fn sweep_interrupted(
    state: &AppState,
    startup: bool,
) -> Result<(), super::super::ServiceError> {
    let threshold = if startup && state.db.dialect == Dialect::Sqlite {
        i64::MAX
    } else {
        now_ms() - STALE_MS
    };
    let rows = sqlx::query(
        "SELECT id, environment_id FROM deploys WHERE status = 'running' \
         AND (heartbeat_at IS NULL OR heartbeat_at < $1)",
    )
    .bind(threshold)
    .fetch_all(&state.db.pool)
    .await?;
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let env_id: i64 = r.try_get(1)?;
        if state
            .deploys
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&id)
        {
            continue;
        }
        let info = super::plan::env_info(&state.db, env_id).await?;
        let mut tx = state.db.begin_write().await?;
        let done = sqlx::query(
            "UPDATE deploys SET status = 'interrupted', finished_at = $1, \
             cause = 'Berth stopped while this deploy was running; the environment is reconciled' \
             WHERE id = $2 AND status = 'running'",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            continue;
        }
        let reconcile = store::insert_deploy(
            &mut tx,
            env_id,
            "reconcile",
            &Params {
                reason: format!("deploy #{id} was interrupted"),
                ..Default::default()
            },
            None,
            "system",
            "system",
            "startup",
        )
        .await?;
        audit::append(
            &mut tx,
            &Ctx::system(),
            NewEvent::new(
                "deploy.interrupted",
                format!("project:{}/env:{}/deploy:{id}", info.project, info.slug),
            )
            .project(info.project_id)
            .summary(json!({ "deploy": id, "reconcile": reconcile }))
            .outcome(AuditOutcome::Failure),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(
            deploy = id,
            reconcile,
            "deploy was interrupted; reconciling its environment"
        );
    }
    Ok(())
}

/// Starts every queued deploy whose environment is free.
async fn claim_all(state: &AppState) -> Result<(), super::super::ServiceError> {
    let rows = sqlx::query(
        "SELECT d.id, d.environment_id FROM deploys d WHERE d.status = 'queued' \
         AND NOT EXISTS (SELECT 1 FROM deploys x WHERE x.environment_id = d.environment_id AND x.status = 'running') \
         ORDER BY d.id",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let mut taken = std::collections::BTreeSet::new();
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let env_id: i64 = r.try_get(1)?;
        if !taken.insert(env_id) {
            continue;
        }
        if claim(state, id, env_id).await? {
            let state = state.clone();
            let token = state.deploys.register(id);
            tokio::spawn(async move {
                run(state.clone(), id, token).await;
                state.deploys.unregister(id);
                state.deploys.wake();
            });
        }
    }
    Ok(())
}

async fn claim(state: &AppState, id: i64, env_id: i64) -> Result<bool, super::super::ServiceError> {
    let mut tx = state.db.begin_write().await?;
    let now = now_ms();
    let r = sqlx::query(
        "UPDATE deploys SET status = 'running', started_at = $1, heartbeat_at = $1 WHERE id = $2 AND status = 'queued' \
         AND NOT EXISTS (SELECT 1 FROM deploys x WHERE x.environment_id = $3 AND x.status = 'running')",
    )
    .bind(now)
    .bind(id)
    .bind(env_id)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

async fn run(state: AppState, id: i64, cancel: CancellationToken) {
    let row = match store::deploy_row(&state.db, id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(deploy = id, error = %e, "could not load deploy");
            return;
        }
    };
    let env = match super::plan::env_info(&state.db, row.environment_id).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(deploy = id, error = %e, "could not load environment");
            return;
        }
    };
    let settings = store::settings(&state.db, env.id).await.unwrap_or_default();
    let last_seq: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM deploy_logs WHERE deploy_id = $1")
            .bind(id)
            .fetch_one(&state.db.pool)
            .await
            .unwrap_or(0);
    let log = DeployLog::start(state.db.clone(), id, last_seq);
    let beat = heartbeat(state.clone(), id, cancel.clone());
    let t0 = std::time::Instant::now();
    tracing::info!(deploy = id, kind = %row.kind, project = %env.project, env = %env.slug, "deploy started");
    let run = Run::new(
        state.clone(),
        row.clone(),
        env.clone(),
        log.clone(),
        cancel,
        settings,
    );
    let outcome = run.execute().await;
    beat.cancel();
    let total = t0.elapsed();
    let waited = log.waited_total().min(total);
    log.info(format!(
        "timing: {} ms in all, {} ms waiting on images, containers, jobs, drains and the health gate, {} ms in Berth (overhead)",
        total.as_millis(),
        waited.as_millis(),
        (total - waited).as_millis()
    ));
    log.info(format!(
        "{} in {:.1} s{}",
        outcome.status(),
        total.as_secs_f64(),
        if outcome.cause().is_empty() {
            String::new()
        } else {
            format!(": {}", outcome.cause())
        }
    ));
    log.flush().await;
    let cause = log.redact(outcome.cause());
    if let Err(e) = finish(&state, &row, &env, &outcome, &cause).await {
        tracing::error!(deploy = id, error = %e, "could not record the end of a deploy");
    }
    tracing::info!(
        deploy = id,
        status = outcome.status(),
        ms = t0.elapsed().as_millis() as u64,
        "deploy finished"
    );
    super::notify::deploy_finished(&state, &env, id, &row.kind, outcome.status(), &cause).await;
}

fn heartbeat(state: AppState, id: i64, cancel: CancellationToken) -> CancellationToken {
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(HEARTBEAT) => {}
                _ = s.cancelled() => return,
            }
            let _ = sqlx::query("UPDATE deploys SET heartbeat_at = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(id)
                .execute(&state.db.pool)
                .await;
            let requested: Option<i64> =
                sqlx::query_scalar("SELECT cancel_requested FROM deploys WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&state.db.pool)
                    .await
                    .ok()
                    .flatten();
            if requested == Some(1) {
                cancel.cancel();
            }
        }
    });
    stop
}

async fn finish(
    state: &AppState,
    row: &store::DeployRow,
    env: &super::plan::EnvInfo,
    outcome: &Outcome,
    cause: &str,
) -> Result<(), super::super::ServiceError> {
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE deploys SET status = $1, cause = $2, finished_at = $3 WHERE id = $4")
        .bind(outcome.status())
        .bind(cause)
        .bind(now_ms())
        .bind(row.id)
        .execute(&mut *tx)
        .await?;
    let release: Option<i64> = sqlx::query_scalar(
        "SELECT r.number FROM deploys d JOIN releases r ON r.id = d.release_id WHERE d.id = $1",
    )
    .bind(row.id)
    .fetch_optional(&mut *tx)
    .await?;
    let result = match outcome {
        Outcome::Succeeded => AuditOutcome::Success,
        _ => AuditOutcome::Failure,
    };
    audit::append(
        &mut tx,
        &Ctx::system(),
        NewEvent::new(
            &format!("deploy.{}", outcome.status()),
            format!("project:{}/env:{}/deploy:{}", env.project, env.slug, row.id),
        )
        .project(env.project_id)
        .summary(json!({
            "deploy": row.id,
            "kind": row.kind,
            "release": release,
            "requested_by": row.actor,
            "trigger": row.trigger,
            "cause": cause,
        }))
        .outcome(result),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
