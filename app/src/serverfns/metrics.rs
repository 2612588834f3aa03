//! An environment's metrics: targets and their health, settings, static targets, the
//! `prometheus.yml` import and the query box.
// A form's fields arrive as the function's arguments.
#![allow(clippy::too_many_arguments)]
use crate::error::AppError;
use crate::model::{MetricsSettings, PrometheusImportView, QueryResultView, ScrapeTargetView};
use leptos::prelude::*;

/// The targets with their health, and the server's clock (for "5 s ago" that reads the same
/// on the server and in the hydrated page).
#[server]
pub async fn get_scrape_targets(
    project: String,
    env: String,
) -> Result<(Vec<ScrapeTargetView>, i64), AppError> {
    super::call::run(|c| async move {
        let list =
            berth_core::metrics::config::list_targets(&c.state, &c.ctx, &project, &env).await?;
        Ok((list, berth_core::now_ms()))
    })
    .await
}

#[server]
pub async fn get_metrics_settings(
    project: String,
    env: String,
) -> Result<MetricsSettings, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::metrics::config::get_settings(&c.state, &c.ctx, &project, &env).await?)
    })
    .await
}

#[cfg(feature = "ssr")]
fn number(field: &str, text: &str) -> Result<i64, AppError> {
    text.trim()
        .parse()
        .map_err(|_| AppError::invalid(field, "a whole number"))
}

#[cfg(feature = "ssr")]
fn duration(field: &str, text: &str) -> Result<i64, AppError> {
    metrics_duration(text.trim())
        .ok_or_else(|| AppError::invalid(field, "a duration such as 15s or 1m"))
}

#[cfg(feature = "ssr")]
/// `15s`, `1m30s`, `500ms`; a bare number is seconds.
fn metrics_duration(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return n.checked_mul(1000);
    }
    let mut total = 0i64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push(chars.next()?);
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        let ms = match unit.as_str() {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(ms)?)?;
        any = true;
    }
    (any && num.is_empty()).then_some(total)
}

/// Saves the settings form (maintainers). `scrape_replicas` is `on` when checked.
#[server]
pub async fn save_metrics_settings(
    project: String,
    env: String,
    #[server(default)] scrape_replicas: String,
    interval: String,
    timeout: String,
    retention_raw_days: String,
    retention_rollup_days: String,
    #[server(default)] remote_write_url: String,
    #[server(default)] remote_read_url: String,
) -> Result<MetricsSettings, AppError> {
    super::call::run(|c| async move {
        // Who may change them comes before what was sent: a viewer learns nothing from the
        // form's validation.
        berth_core::metrics::settings::may_change_settings(&c.state, &c.ctx, &project, &env)
            .await?;
        let s = MetricsSettings {
            scrape_replicas: matches!(scrape_replicas.as_str(), "on" | "true" | "1"),
            interval_ms: duration("interval", &interval)?,
            timeout_ms: duration("timeout", &timeout)?,
            retention_raw_days: number("retention_raw_days", &retention_raw_days)?,
            retention_rollup_days: number("retention_rollup_days", &retention_rollup_days)?,
            remote_write_url,
            remote_read_url,
        };
        Ok(berth_core::metrics::config::set_settings(&c.state, &c.ctx, &project, &env, &s).await?)
    })
    .await
}

/// Adds a static target (maintainers).
#[server]
pub async fn add_scrape_target(
    project: String,
    env: String,
    job_name: String,
    address: String,
    #[server(default)] metrics_path: String,
    #[server(default)] scheme: String,
) -> Result<i64, AppError> {
    super::call::run(|c| async move {
        let t = crate::model::NewScrapeTarget {
            job_name,
            address,
            metrics_path,
            scheme,
            ..Default::default()
        };
        Ok(berth_core::metrics::config::add_target(&c.state, &c.ctx, &project, &env, &t).await?)
    })
    .await
}

#[server]
pub async fn remove_scrape_target(project: String, env: String, id: i64) -> Result<(), AppError> {
    super::call::run(|c| async move {
        Ok(
            berth_core::metrics::config::remove_target(&c.state, &c.ctx, &project, &env, id)
                .await?,
        )
    })
    .await
}

/// Imports a `prometheus.yml` (maintainers).
#[server]
pub async fn import_prometheus_config(
    project: String,
    env: String,
    config: String,
) -> Result<PrometheusImportView, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::metrics::config::import(&c.state, &c.ctx, &project, &env, &config).await?)
    })
    .await
}

/// The query box: PromQL in, a table and the last hour's chart out (viewers).
#[server]
pub async fn run_metrics_query(project: String, expr: String) -> Result<QueryResultView, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::metrics::query::page_query(&c.state, &c.ctx, &project, &expr).await?)
    })
    .await
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn durations_read_like_prometheus() {
        assert_eq!(super::metrics_duration("15s"), Some(15_000));
        assert_eq!(super::metrics_duration("1m30s"), Some(90_000));
        assert_eq!(super::metrics_duration("500ms"), Some(500));
        assert_eq!(super::metrics_duration("20"), Some(20_000));
        assert_eq!(super::metrics_duration("1x"), None);
        assert_eq!(super::metrics_duration("15"), Some(15_000));
        assert_eq!(super::metrics_duration("s"), None);
    }
}
