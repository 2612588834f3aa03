//! An environment's metrics settings: scrape interval and timeout, whether replicas are
//! scraped, retention, and the remote write and remote read URLs. Read by viewers (a URL's
//! query, which may hold a token, by maintainers only), changed by maintainers (who may is
//! decided before what they sent is looked at), audited.
use super::super::audit::{self, NewEvent};
use super::super::authz::{authorize, Action};
use super::super::context::Ctx;
use super::super::environments;
use super::super::error::{ServiceError, ServiceResult};
use super::super::{now_ms, AppState};
use super::config::{target, MAX_INTERVAL_MS, MAX_RETENTION_DAYS, MIN_INTERVAL_MS};
use ::metrics::promconfig;
use berth_model::MetricsSettings;
use serde_json::json;
use sqlx::Row;

/// An environment's settings (the defaults when none were saved).
pub async fn settings_of(state: &AppState, env_id: i64) -> ServiceResult<MetricsSettings> {
    let row = sqlx::query(
        "SELECT scrape_replicas, interval_ms, timeout_ms, retention_raw_days, retention_rollup_days, \
         remote_write_url, remote_read_url FROM metrics_settings WHERE environment_id = $1",
    )
    .bind(env_id)
    .fetch_optional(&state.db.pool)
    .await?;
    Ok(match row {
        Some(r) => MetricsSettings {
            scrape_replicas: r.try_get::<i64, _>(0)? != 0,
            interval_ms: r.try_get(1)?,
            timeout_ms: r.try_get(2)?,
            retention_raw_days: r.try_get(3)?,
            retention_rollup_days: r.try_get(4)?,
            remote_write_url: r.try_get(5)?,
            remote_read_url: r.try_get(6)?,
        },
        None => MetricsSettings::default(),
    })
}

/// Every environment's saved settings, by environment id (for the scheduler).
pub async fn all_settings(state: &AppState) -> ServiceResult<Vec<(i64, MetricsSettings)>> {
    let rows = sqlx::query(
        "SELECT e.id, s.scrape_replicas, s.interval_ms, s.timeout_ms, s.retention_raw_days, \
         s.retention_rollup_days, s.remote_write_url, s.remote_read_url FROM environments e \
         LEFT JOIN metrics_settings s ON s.environment_id = e.id ORDER BY e.id",
    )
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let d = MetricsSettings::default();
            let saved = r.try_get::<Option<i64>, _>(1)?.is_some();
            Ok((
                r.try_get(0)?,
                if saved {
                    MetricsSettings {
                        scrape_replicas: r.try_get::<Option<i64>, _>(1)?.unwrap_or(1) != 0,
                        interval_ms: r.try_get::<Option<i64>, _>(2)?.unwrap_or(d.interval_ms),
                        timeout_ms: r.try_get::<Option<i64>, _>(3)?.unwrap_or(d.timeout_ms),
                        retention_raw_days: r
                            .try_get::<Option<i64>, _>(4)?
                            .unwrap_or(d.retention_raw_days),
                        retention_rollup_days: r
                            .try_get::<Option<i64>, _>(5)?
                            .unwrap_or(d.retention_rollup_days),
                        remote_write_url: r.try_get::<Option<String>, _>(6)?.unwrap_or_default(),
                        remote_read_url: r.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
                    }
                } else {
                    d
                },
            ))
        })
        .collect()
}

/// An environment's settings (viewers); the remote URLs' queries, which may hold a token,
/// only for those who may change them.
pub async fn get_settings(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<MetricsSettings> {
    let e = environments::resolve(state, ctx, project, env).await?;
    let mut s = settings_of(state, e.id).await?;
    let maintainer =
        super::super::authz::may(&state.db, ctx, Action::EditConfig, Some(&e.project)).await?;
    if !maintainer {
        s = masked(s);
    }
    Ok(s)
}

/// The settings as viewers and the audit log see them: the remote URLs without their
/// queries.
fn masked(s: MetricsSettings) -> MetricsSettings {
    let shown = |u: &str| {
        if u.is_empty() {
            String::new()
        } else {
            super::display_url(u)
        }
    };
    MetricsSettings {
        remote_write_url: shown(&s.remote_write_url),
        remote_read_url: shown(&s.remote_read_url),
        ..s
    }
}

/// Refuses callers who may not change an environment's settings, before anything they sent
/// is parsed: a viewer learns nothing from a form's validation.
pub async fn may_change_settings(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<()> {
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&e.project)).await
}

pub(super) fn check_interval(field: &str, interval_ms: i64, timeout_ms: i64) -> ServiceResult<()> {
    if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&interval_ms) {
        return Err(ServiceError::invalid(
            field,
            format!(
                "the interval is between {} and {}",
                promconfig::format_duration(MIN_INTERVAL_MS),
                promconfig::format_duration(MAX_INTERVAL_MS)
            ),
        ));
    }
    if timeout_ms < 100 || timeout_ms > interval_ms {
        return Err(ServiceError::invalid(
            field,
            "the timeout is at least 100ms and at most the interval",
        ));
    }
    Ok(())
}

/// Saves an environment's settings (maintainers).
pub async fn set_settings(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    s: &MetricsSettings,
) -> ServiceResult<MetricsSettings> {
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&e.project)).await?;
    check_interval("interval", s.interval_ms, s.timeout_ms)?;
    for (field, days) in [
        ("retention_raw_days", s.retention_raw_days),
        ("retention_rollup_days", s.retention_rollup_days),
    ] {
        if !(1..=MAX_RETENTION_DAYS).contains(&days) {
            return Err(ServiceError::invalid(
                field,
                format!("between 1 and {MAX_RETENTION_DAYS} days"),
            ));
        }
    }
    let remote = check_remote_url(
        &s.remote_write_url,
        WRITE_ENDPOINTS,
        state.metrics.outbound(),
    )
    .map_err(|m| ServiceError::invalid("remote_write_url", m))?;
    let read = check_remote_url(&s.remote_read_url, READ_ENDPOINTS, state.metrics.outbound())
        .map_err(|m| ServiceError::invalid("remote_read_url", m))?;
    if s.retention_rollup_days < s.retention_raw_days {
        return Err(ServiceError::invalid(
            "retention_rollup_days",
            "rollups are kept at least as long as raw samples",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM metrics_settings WHERE environment_id = $1")
        .bind(e.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO metrics_settings (environment_id, scrape_replicas, interval_ms, timeout_ms, \
         retention_raw_days, retention_rollup_days, remote_write_url, remote_read_url, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(e.id)
    .bind(i64::from(s.scrape_replicas))
    .bind(s.interval_ms)
    .bind(s.timeout_ms)
    .bind(s.retention_raw_days)
    .bind(s.retention_rollup_days)
    .bind(&remote)
    .bind(&read)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let saved = MetricsSettings {
        remote_write_url: remote,
        remote_read_url: read,
        ..s.clone()
    };
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("metrics.settings", target(&e))
            .project(e.project.id)
            // The URLs' queries may hold a token: the audit log shows them masked.
            .summary(json!(masked(saved.clone()))),
    )
    .await?;
    tx.commit().await?;
    state.metrics.changed();
    Ok(saved)
}

/// The last path segment of a remote write endpoint: Prometheus and VictoriaMetrics
/// (`/api/v1/write`), Mimir, Cortex and Grafana Cloud (`/api/v1/push`, `/api/prom/push`),
/// Thanos (`/api/v1/receive`).
pub const WRITE_ENDPOINTS: &[&str] = &["write", "push", "receive"];
/// The last path segment of a remote read endpoint (`/api/v1/read`).
pub const READ_ENDPOINTS: &[&str] = &["read"];

/// An `http(s)://` URL without credentials (they would show in the settings and the audit
/// log), or empty.
pub fn check_remote_url(
    url: &str,
    endpoints: &[&str],
    policy: super::outbound::Policy,
) -> Result<String, String> {
    let u = url.trim();
    if u.is_empty() {
        return Ok(String::new());
    }
    let parsed = reqwest::Url::parse(u).map_err(|_| "an http:// or https:// URL".to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("an http:// or https:// URL".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("no credentials in the URL".into());
    }
    if u.len() > 500 {
        return Err("at most 500 characters".into());
    }
    // Only the protocol's own endpoint: Berth posts to this URL on a timer or on every
    // query, and must not be aimed at another path of a shared store (an admin API that
    // deletes series, say).
    let path = parsed.path().trim_end_matches('/');
    if !endpoints.iter().any(|e| path.ends_with(&format!("/{e}"))) {
        let list: Vec<String> = endpoints.iter().map(|e| format!("/{e}")).collect();
        return Err(format!(
            "the store's endpoint: a path ending in {}",
            list.join(" or ")
        ));
    }
    super::outbound::check_url(&parsed, policy)?;
    Ok(parsed.to_string())
}
