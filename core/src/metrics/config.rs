//! An environment's metrics settings and static scrape targets: read by viewers, changed by
//! maintainers (audited), and imported from a `prometheus.yml`.
use super::super::audit::{self, NewEvent};
use super::super::authz::{authorize, Action};
use super::super::context::Ctx;
use super::super::db::Tx;
use super::super::environments::{self, EnvRef};
use super::super::error::{ServiceError, ServiceResult};
use super::super::{now_ms, AppState};
use berth_model::{MetricsSettings, NewScrapeTarget};

pub use super::import::import;
use super::settings::check_interval;
pub use super::settings::{
    all_settings, check_remote_url, get_settings, set_settings, settings_of,
};
use serde_json::json;
use sqlx::Row;

/// The fastest scrape interval Berth runs.
pub const MIN_INTERVAL_MS: i64 = 1_000;
/// The slowest.
pub const MAX_INTERVAL_MS: i64 = 3_600_000;
/// Static targets per environment.
pub const MAX_TARGETS: usize = 500;
/// The longest retention that may be asked for.
pub const MAX_RETENTION_DAYS: i64 = 3_650;

/// A static target as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StaticTarget {
    pub id: i64,
    pub environment_id: i64,
    pub job_name: String,
    pub scheme: String,
    pub address: String,
    pub metrics_path: String,
    pub params: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub interval_ms: i64,
    pub timeout_ms: i64,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub sample_limit: u64,
}

pub(super) fn target(e: &EnvRef) -> String {
    format!("project:{}/env:{}", e.project.slug, e.slug)
}

const COLS: &str = "id, environment_id, job_name, scheme, address, metrics_path, params, labels, \
    interval_ms, timeout_ms, honor_labels, honor_timestamps, sample_limit";

fn row_target(r: &sqlx::any::AnyRow) -> ServiceResult<StaticTarget> {
    let pairs =
        |s: String| -> Vec<(String, String)> { serde_json::from_str(&s).unwrap_or_default() };
    Ok(StaticTarget {
        id: r.try_get(0)?,
        environment_id: r.try_get(1)?,
        job_name: r.try_get(2)?,
        scheme: r.try_get(3)?,
        address: r.try_get(4)?,
        metrics_path: r.try_get(5)?,
        params: pairs(r.try_get(6)?),
        labels: pairs(r.try_get(7)?),
        interval_ms: r.try_get(8)?,
        timeout_ms: r.try_get(9)?,
        honor_labels: r.try_get::<i64, _>(10)? != 0,
        honor_timestamps: r.try_get::<i64, _>(11)? != 0,
        sample_limit: r.try_get::<i64, _>(12)?.max(0) as u64,
    })
}

/// Every static target of every environment (for the scheduler).
pub async fn all_targets(state: &AppState) -> ServiceResult<Vec<StaticTarget>> {
    let sql = format!("SELECT {COLS} FROM scrape_targets ORDER BY id");
    let rows = sqlx::query(&sql).fetch_all(&state.db.pool).await?;
    rows.iter().map(row_target).collect()
}

/// One environment's static targets.
pub async fn targets_of(state: &AppState, env_id: i64) -> ServiceResult<Vec<StaticTarget>> {
    let sql = format!(
        "SELECT {COLS} FROM scrape_targets WHERE environment_id = $1 ORDER BY job_name, address"
    );
    let rows = sqlx::query(&sql)
        .bind(env_id)
        .fetch_all(&state.db.pool)
        .await?;
    rows.iter().map(row_target).collect()
}

/// Checks and fills a target in; errors name the field.
pub(super) fn normalize(
    t: &NewScrapeTarget,
    d: &MetricsSettings,
    policy: super::outbound::Policy,
) -> ServiceResult<NewScrapeTarget> {
    let job = t.job_name.trim();
    if job.is_empty() || job.len() > 100 || job.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "job_name",
            "is required (at most 100 characters)",
        ));
    }
    let address = t.address.trim();
    check_address(address).map_err(|m| ServiceError::invalid("address", m))?;
    // A literal address is refused now; a name is checked each time it resolves.
    if let Ok(url) = reqwest::Url::parse(&format!("http://{address}/")) {
        super::outbound::check_url(&url, policy)
            .map_err(|m| ServiceError::invalid("address", m))?;
    }
    let scheme = match t.scheme.trim() {
        "" | "http" => "http",
        "https" => "https",
        _ => return Err(ServiceError::invalid("scheme", "http or https")),
    };
    let path = match t.metrics_path.trim() {
        "" => "/metrics",
        p => p,
    };
    if !path.starts_with('/')
        || path.starts_with("//")
        || path.len() > 200
        || path.contains(['?', '#', '@'])
        || path.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ServiceError::invalid(
            "metrics_path",
            "a path starting with / (parameters go in params)",
        ));
    }
    for (n, v) in &t.params {
        if n.is_empty() || n.len() > 100 || v.len() > 1000 {
            return Err(ServiceError::invalid("params", "names of 1-100 characters"));
        }
    }
    for (n, v) in &t.labels {
        if !is_label_name(n) || n.starts_with("__") || v.len() > 1000 {
            return Err(ServiceError::invalid(
                "labels",
                format!("{n:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"),
            ));
        }
        if super::targets::RESERVED_LABELS.contains(&n.as_str()) {
            return Err(ServiceError::invalid(
                "labels",
                format!("{n} is set by Berth"),
            ));
        }
    }
    let interval = t.interval_ms.unwrap_or(d.interval_ms);
    let timeout = t.timeout_ms.unwrap_or(d.timeout_ms.min(interval));
    check_interval("interval_ms", interval, timeout)?;
    Ok(NewScrapeTarget {
        job_name: job.to_string(),
        address: address.to_string(),
        scheme: scheme.to_string(),
        metrics_path: path.to_string(),
        params: t.params.clone(),
        labels: t.labels.clone(),
        interval_ms: Some(interval),
        timeout_ms: Some(timeout),
        honor_labels: t.honor_labels,
        honor_timestamps: Some(t.honor_timestamps.unwrap_or(true)),
        sample_limit: t.sample_limit,
    })
}

/// `host:port`, a host name or IP (IPv6 in brackets), nothing more.
pub fn check_address(a: &str) -> Result<(), String> {
    let bad = || format!("{a:?}: expected host:port");
    let (host, port) = a.rsplit_once(':').ok_or_else(bad)?;
    port.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(bad)?;
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    if host_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

pub(super) async fn insert(tx: &mut Tx, env_id: i64, t: &NewScrapeTarget) -> ServiceResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO scrape_targets (environment_id, job_name, scheme, address, metrics_path, \
         params, labels, interval_ms, timeout_ms, honor_labels, honor_timestamps, sample_limit, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(env_id)
    .bind(&t.job_name)
    .bind(&t.scheme)
    .bind(&t.address)
    .bind(&t.metrics_path)
    .bind(serde_json::to_string(&t.params).unwrap_or_else(|_| "[]".into()))
    .bind(serde_json::to_string(&t.labels).unwrap_or_else(|_| "[]".into()))
    .bind(t.interval_ms.unwrap_or(15_000))
    .bind(t.timeout_ms.unwrap_or(10_000))
    .bind(i64::from(t.honor_labels))
    .bind(i64::from(t.honor_timestamps.unwrap_or(true)))
    .bind(t.sample_limit.min(i64::MAX as u64) as i64)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

pub(super) async fn count(tx: &mut Tx, env_id: i64) -> ServiceResult<usize> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM scrape_targets WHERE environment_id = $1")
            .bind(env_id)
            .fetch_one(&mut **tx)
            .await?;
    Ok(n.max(0) as usize)
}

/// Adds a static target (maintainers). The same job and address twice is a conflict.
pub async fn add_target(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    t: &NewScrapeTarget,
) -> ServiceResult<i64> {
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&e.project)).await?;
    let t = normalize(
        t,
        &settings_of(state, e.id).await?,
        state.metrics.outbound(),
    )?;
    let mut tx = state.db.begin_write().await?;
    if count(&mut tx, e.id).await? >= MAX_TARGETS {
        return Err(ServiceError::invalid(
            "address",
            format!("at most {MAX_TARGETS} static targets per environment"),
        ));
    }
    let exists: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM scrape_targets WHERE environment_id = $1 AND job_name = $2 AND address = $3",
    )
    .bind(e.id)
    .bind(&t.job_name)
    .bind(&t.address)
    .fetch_optional(&mut *tx)
    .await?;
    if exists.is_some() {
        return Err(ServiceError::Conflict(format!(
            "job {} already scrapes {}",
            t.job_name, t.address
        )));
    }
    let id = insert(&mut tx, e.id, &t).await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("metrics.target.add", target(&e))
            .project(e.project.id)
            .summary(json!({ "id": id, "job": t.job_name, "address": t.address, "path": t.metrics_path })),
    )
    .await?;
    tx.commit().await?;
    state.metrics.changed();
    Ok(id)
}

/// Removes a static target (maintainers).
pub async fn remove_target(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    id: i64,
) -> ServiceResult<()> {
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&e.project)).await?;
    let mut tx = state.db.begin_write().await?;
    let row = sqlx::query(
        "SELECT job_name, address FROM scrape_targets WHERE id = $1 AND environment_id = $2",
    )
    .bind(id)
    .bind(e.id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ServiceError::NotFound("scrape target".into()))?;
    let (job, address): (String, String) = (row.try_get(0)?, row.try_get(1)?);
    sqlx::query("DELETE FROM scrape_targets WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("metrics.target.remove", target(&e))
            .project(e.project.id)
            .summary(json!({ "id": id, "job": job, "address": address })),
    )
    .await?;
    tx.commit().await?;
    state.metrics.changed();
    Ok(())
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, as Prometheus's label names.
pub fn is_label_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An environment's targets with their health (viewers): what the scraper runs, and static
/// targets it has not picked up yet.
pub async fn list_targets(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<Vec<berth_model::ScrapeTargetView>> {
    let e = environments::resolve(state, ctx, project, env).await?;
    let mut out = state.metrics.target_views(e.id);
    for t in targets_of(state, e.id).await? {
        if out.iter().any(|v| v.id == Some(t.id)) {
            continue;
        }
        out.push(berth_model::ScrapeTargetView {
            id: Some(t.id),
            kind: "static".into(),
            job: t.job_name.clone(),
            instance: t.address.clone(),
            url: format!("{}://{}{}", t.scheme, t.address, t.metrics_path),
            labels: t.labels.clone(),
            interval_ms: t.interval_ms,
            timeout_ms: t.timeout_ms,
            health: "unknown".into(),
            ..Default::default()
        });
    }
    Ok(out)
}
