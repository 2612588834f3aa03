//! The watchdog (the seed's `auto_recovery.sh` as a feature): per environment, probe every
//! site through the proxy every interval; after N consecutive failures restart the failing
//! services' containers (a rolling `restart` deploy); if the sites still fail after that,
//! raise an alert on the environment's webhook. Every transition is audited.
use super::super::audit::{self, NewEvent, Outcome as AuditOutcome};
use super::super::{now_ms, AppState, Ctx};
use super::plan::{self, EnvInfo};
use super::store::{self, Params};
use serde_json::json;
use sqlx::Row;
use stack::model::RouteTarget;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Do not repeat an alert for the same failure more often than this.
const REALERT_MS: i64 = 30 * 60 * 1000;

pub fn spawn(state: AppState, stop: CancellationToken) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = tick(&state).await {
                tracing::warn!(error = %e, "watchdog tick failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.cancelled() => break,
            }
        }
    });
}

async fn tick(state: &AppState) -> Result<(), super::super::ServiceError> {
    let now = now_ms();
    let due: Vec<i64> = sqlx::query_scalar(
        "SELECT environment_id FROM watchdogs WHERE enabled = 1 \
         AND (last_check_at IS NULL OR last_check_at + interval_secs * 1000 <= $1)",
    )
    .bind(now)
    .fetch_all(&state.db.pool)
    .await?;
    for env_id in due {
        if let Err(e) = check(state, env_id).await {
            tracing::warn!(env = env_id, error = %e, "watchdog check failed");
        }
    }
    Ok(())
}

/// One probe round of one environment, and what follows from it.
pub async fn check(state: &AppState, env_id: i64) -> Result<(), super::super::ServiceError> {
    let env = plan::env_info(&state.db, env_id).await?;
    let row = sqlx::query(
        "SELECT failure_threshold, consecutive_failures, last_status, last_alert_at FROM watchdogs WHERE environment_id = $1",
    )
    .bind(env_id)
    .fetch_one(&state.db.pool)
    .await?;
    let threshold: i64 = row.try_get(0)?;
    let mut failures: i64 = row.try_get(1)?;
    let phase: String = row.try_get(2)?;
    let last_alert: Option<i64> = row.try_get(3)?;
    let Some(release_id) = store::current_release_id(&state.db, env_id).await? else {
        return record(state, env_id, 0, "idle: nothing deployed").await;
    };
    // A deploy in progress owns the environment: do not judge it mid-switch.
    let busy: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deploys WHERE environment_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(env_id)
    .fetch_one(&state.db.pool)
    .await?;
    if busy > 0 {
        return record(state, env_id, failures, &phase).await;
    }
    let release = store::release(&state.db, release_id).await?;
    let failing = probe(&release.plan, &env).await;
    if failing.is_empty() {
        if phase.starts_with("restarting") || phase.starts_with("alerted") || failures > 0 {
            event(
                state,
                &env,
                "watchdog.recovered",
                json!({ "after_failures": failures }),
                true,
            )
            .await?;
        }
        return record(state, env_id, 0, "ok").await;
    }
    failures += 1;
    let sites: Vec<String> = failing
        .iter()
        .map(|(h, why, _)| format!("{h}: {why}"))
        .collect();
    if failures < threshold {
        return record(
            state,
            env_id,
            failures,
            &format!("failing: {}", sites.join(", ")),
        )
        .await;
    }
    if phase.starts_with("restarting") || phase.starts_with("alerted") {
        // Restarted already and still failing: alert (not more often than REALERT_MS).
        if last_alert.is_none_or(|t| now_ms() - t > REALERT_MS) {
            let delivered = super::notify::send(
                state,
                &env,
                json!({
                    "source": "berth",
                    "event": "watchdog.alert",
                    "project": env.project,
                    "environment": env.slug,
                    "failing": sites,
                    "message": format!("automatic recovery failed: {}", sites.join(", ")),
                    "at": chrono::Utc::now().to_rfc3339(),
                }),
            )
            .await;
            event(
                state,
                &env,
                "watchdog.alert",
                json!({ "failing": sites, "delivered": delivered }),
                false,
            )
            .await?;
            sqlx::query("UPDATE watchdogs SET last_alert_at = $1 WHERE environment_id = $2")
                .bind(now_ms())
                .bind(env_id)
                .execute(&state.db.pool)
                .await?;
        }
        return record(
            state,
            env_id,
            failures,
            &format!("alerted: {}", sites.join(", ")),
        )
        .await;
    }
    let mut services: Vec<String> = failing.iter().flat_map(|(_, _, s)| s.clone()).collect();
    services.sort();
    services.dedup();
    let mut tx = state.db.begin_write().await?;
    let id = store::insert_deploy(
        &mut tx,
        env_id,
        "restart",
        &Params {
            reason: format!(
                "watchdog: {} consecutive failures ({})",
                failures,
                sites.join(", ")
            ),
            services: services.clone(),
            ..Default::default()
        },
        None,
        "watchdog",
        "system",
        "watchdog",
    )
    .await?;
    audit::append(
        &mut tx,
        &Ctx::system(),
        NewEvent::new(
            "watchdog.restart",
            format!("project:{}/env:{}", env.project, env.slug),
        )
        .project(env.project_id)
        .summary(json!({ "deploy": id, "services": services, "failing": sites }))
        .outcome(AuditOutcome::Failure),
    )
    .await?;
    tx.commit().await?;
    state.deploys.wake();
    record(
        state,
        env_id,
        failures,
        &format!("restarting: {}", sites.join(", ")),
    )
    .await
}

/// The sites that fail their health path through the proxy: (host, why, services it routes to).
async fn probe(plan: &super::store::Plan, env: &EnvInfo) -> Vec<(String, String, Vec<String>)> {
    let base = super::connect::proxy_base(plan, env)
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", plan.proxy.http_port));
    let client = super::probe::Probe::new(Duration::from_secs(5));
    let mut failing = Vec::new();
    for s in super::probe::sites(plan, &env.slug) {
        let why = match client.get(&base, &s.host, s.health_path).await {
            Ok((200, _)) => continue,
            Ok((status, _)) => format!("HTTP {status}"),
            Err(e) => e,
        };
        let (host, site) = (s.host, s.site);
        let services = site
            .routes
            .iter()
            .filter_map(|r| match &r.target {
                RouteTarget::Service { service } => Some(service.clone()),
                _ => None,
            })
            .collect();
        failing.push((host, why, services));
    }
    failing
}

async fn record(
    state: &AppState,
    env_id: i64,
    failures: i64,
    status: &str,
) -> Result<(), super::super::ServiceError> {
    sqlx::query(
        "UPDATE watchdogs SET consecutive_failures = $1, last_status = $2, last_check_at = $3 WHERE environment_id = $4",
    )
    .bind(failures)
    .bind(status)
    .bind(now_ms())
    .bind(env_id)
    .execute(&state.db.pool)
    .await?;
    Ok(())
}

async fn event(
    state: &AppState,
    env: &EnvInfo,
    action: &str,
    summary: serde_json::Value,
    ok: bool,
) -> Result<(), super::super::ServiceError> {
    audit::record(
        &state.db,
        &Ctx::system(),
        NewEvent::new(action, format!("project:{}/env:{}", env.project, env.slug))
            .project(env.project_id)
            .summary(summary)
            .outcome(if ok {
                AuditOutcome::Success
            } else {
                AuditOutcome::Failure
            }),
    )
    .await?;
    Ok(())
}
