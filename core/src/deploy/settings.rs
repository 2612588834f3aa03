//! Per-environment deploy settings (timeouts, intervals, drain, pull policy, releases kept)
//! and the watchdog's settings; both validated, written in a transaction and audited.
#![allow(clippy::too_many_arguments)]
use super::super::audit::{self, NewEvent};
use super::super::authz::{authorize, Action};
use super::super::context::Ctx;
use super::super::environments;
use super::super::error::{ServiceError, ServiceResult};
use super::super::{now_ms, AppState};
use super::store;
use berth_model::WatchdogView;
use serde_json::json;
use sqlx::Row;
use stack::model::DeploySettings;

pub async fn settings(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<DeploySettings> {
    let e = environments::resolve(state, ctx, project, env).await?;
    let (settings, _) = ctx
        .memo
        .runtime(e.id, || store::runtime(&state.db, e.id))
        .await?;
    Ok(settings)
}

fn check_settings(s: &DeploySettings) -> ServiceResult<()> {
    let ranges: [(&str, u32, u32, u32); 8] = [
        ("pull_timeout_secs", s.pull_timeout_secs, 1, 3600),
        ("ready_timeout_secs", s.ready_timeout_secs, 1, 3600),
        ("gate_timeout_secs", s.gate_timeout_secs, 1, 3600),
        ("gate_interval_secs", s.gate_interval_secs, 1, 600),
        ("drain_secs", s.drain_secs, 0, 600),
        ("stop_grace_secs", s.stop_grace_secs, 0, 600),
        ("job_timeout_secs", s.job_timeout_secs, 1, 24 * 3600),
        ("keep_releases", s.keep_releases, 1, 100),
    ];
    for (field, v, lo, hi) in ranges {
        if v < lo || v > hi {
            return Err(ServiceError::invalid(
                field,
                format!("between {lo} and {hi}"),
            ));
        }
    }
    if !matches!(s.trigger.as_str(), "push" | "workflow_run" | "manual") {
        return Err(ServiceError::invalid(
            "trigger",
            "`push`, `workflow_run` or `manual`",
        ));
    }
    if s.workflow.chars().count() > 200 || s.workflow.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "workflow",
            "a workflow name or file path (at most 200 characters)",
        ));
    }
    if !matches!(s.pull_policy.as_str(), "if_missing" | "always") {
        return Err(ServiceError::invalid(
            "pull_policy",
            "`if_missing` or `always`",
        ));
    }
    Ok(())
}

pub async fn set_settings(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    s: DeploySettings,
) -> ServiceResult<DeploySettings> {
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&e.project)).await?;
    check_settings(&s)?;
    let mut tx = state.db.begin_write().await?;
    store::ensure_runtime(&mut tx, e.id).await?;
    sqlx::query(
        "UPDATE environment_runtime SET settings = $1, updated_at = $2 WHERE environment_id = $3",
    )
    .bind(serde_json::to_string(&s).unwrap_or_default())
    .bind(now_ms())
    .bind(e.id)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(
            "environment.deploy_settings",
            format!("project:{}/env:{}", e.project.slug, e.slug),
        )
        .project(e.project.id)
        .summary(serde_json::to_value(&s).unwrap_or_default()),
    )
    .await?;
    tx.commit().await?;
    Ok(s)
}

pub async fn watchdog(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<WatchdogView> {
    let e = environments::resolve(state, ctx, project, env).await?;
    // Alert webhook URLs carry their credential in the path (Slack, Teams, ...): only those
    // who may change it see it whole.
    let whole = super::super::authz::may(
        &state.db,
        ctx,
        super::super::authz::Action::EditConfig,
        Some(&e.project),
    )
    .await?;
    let shown = |url: String| if whole { url } else { url_origin(&url) };
    let row = sqlx::query(
        "SELECT enabled, interval_secs, failure_threshold, webhook_url, consecutive_failures, last_check_at, last_status, last_alert_at \
         FROM watchdogs WHERE environment_id = $1",
    )
    .bind(e.id)
    .fetch_optional(&state.db.pool)
    .await?;
    Ok(match row {
        Some(r) => WatchdogView {
            enabled: r.try_get::<i64, _>(0)? != 0,
            interval_secs: r.try_get(1)?,
            failure_threshold: r.try_get(2)?,
            webhook_url: shown(r.try_get(3)?),
            consecutive_failures: r.try_get(4)?,
            last_check_at: r.try_get(5)?,
            last_status: r.try_get(6)?,
            last_alert_at: r.try_get(7)?,
        },
        None => WatchdogView {
            enabled: false,
            interval_secs: 60,
            failure_threshold: 3,
            webhook_url: String::new(),
            consecutive_failures: 0,
            last_check_at: None,
            last_status: String::new(),
            last_alert_at: None,
        },
    })
}

/// Turns the watchdog on or off and sets its interval, threshold and alert webhook.
pub async fn set_watchdog(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    enabled: bool,
    interval_secs: i64,
    failure_threshold: i64,
    webhook_url: &str,
) -> ServiceResult<WatchdogView> {
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::ManageAlerts, Some(&e.project)).await?;
    if !(1..=86_400).contains(&interval_secs) {
        return Err(ServiceError::invalid(
            "interval_secs",
            "between 1 and 86400",
        ));
    }
    if !(1..=100).contains(&failure_threshold) {
        return Err(ServiceError::invalid(
            "failure_threshold",
            "between 1 and 100",
        ));
    }
    let url = webhook_url.trim();
    let http = url.starts_with("http://") || url.starts_with("https://");
    if !(url.is_empty() || http) || url.len() > 2000 {
        return Err(ServiceError::invalid(
            "webhook_url",
            "an http:// or https:// URL",
        ));
    }
    if !url.is_empty() {
        // Where it posts is a maintainer's choice: the outbound rule of metrics applies.
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| ServiceError::invalid("webhook_url", "an http:// or https:// URL"))?;
        crate::metrics::outbound::check_url(&parsed, state.metrics.outbound())
            .map_err(|m| ServiceError::invalid("webhook_url", m))?;
    }
    let mut tx = state.db.begin_write().await?;
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM watchdogs WHERE environment_id = $1")
        .bind(e.id)
        .fetch_one(&mut *tx)
        .await?;
    let sql = if have == 0 {
        "INSERT INTO watchdogs (environment_id, enabled, interval_secs, failure_threshold, webhook_url, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)"
    } else {
        "UPDATE watchdogs SET enabled = $2, interval_secs = $3, failure_threshold = $4, webhook_url = $5, \
         updated_at = $6, consecutive_failures = 0, last_status = '' WHERE environment_id = $1"
    };
    sqlx::query(sql)
        .bind(e.id)
        .bind(i64::from(enabled))
        .bind(interval_secs)
        .bind(failure_threshold)
        .bind(url)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(
            "watchdog.configure",
            format!("project:{}/env:{}", e.project.slug, e.slug),
        )
        .project(e.project.id)
        .summary(json!({
            "enabled": enabled,
            "interval_secs": interval_secs,
            "failure_threshold": failure_threshold,
            "webhook": !url.is_empty(),
        })),
    )
    .await?;
    tx.commit().await?;
    watchdog(state, ctx, project, env).await
}

/// `https://hooks.example.com/services/T0/B0/secret` → `https://hooks.example.com/…`: where
/// alerts go, without the credential.
pub fn url_origin(url: &str) -> String {
    if url.is_empty() {
        return String::new();
    }
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map(|i| after_scheme + i)
        .unwrap_or(url.len());
    // Credentials before `@` are not shown either.
    let authority = &url[after_scheme..host_end];
    let host = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    format!("{}{host}/…", &url[..after_scheme])
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_webhook_url_is_shown_without_its_path_or_user() {
        assert_eq!(
            super::url_origin("https://hooks.slack.com/services/T0/B0/abc"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            super::url_origin("http://user:pw@alerts.local:9000?t=1"),
            "http://alerts.local:9000/…"
        );
        assert_eq!(super::url_origin(""), "");
    }
}
