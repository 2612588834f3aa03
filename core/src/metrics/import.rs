//! Importing the static targets of a `prometheus.yml`: each job's targets replace the
//! environment's targets of that job, in one transaction, and what Berth does not act on is
//! listed back.
use super::super::audit::{self, NewEvent};
use super::super::authz::{authorize, Action};
use super::super::context::Ctx;
use super::super::environments;
use super::super::error::{ServiceError, ServiceResult};
use super::super::AppState;
use super::config::{count, insert, normalize, settings_of, target, MAX_TARGETS};
use ::metrics::promconfig::{self, ScrapeJob};
use berth_model::{NewScrapeTarget, PrometheusImportView};
use serde_json::json;

fn from_job(j: &ScrapeJob) -> Vec<NewScrapeTarget> {
    j.targets
        .iter()
        .map(|t| NewScrapeTarget {
            job_name: j.job_name.clone(),
            address: t.address.clone(),
            scheme: j.scheme.clone(),
            metrics_path: j.metrics_path.clone(),
            params: j.params.clone(),
            labels: t.labels.clone(),
            interval_ms: Some(j.interval_ms),
            timeout_ms: Some(j.timeout_ms),
            honor_labels: j.honor_labels,
            honor_timestamps: Some(j.honor_timestamps),
            sample_limit: j.sample_limit.unwrap_or(0),
        })
        .collect()
}

/// Imports the static targets of a `prometheus.yml` (maintainers): each job's targets
/// replace the environment's static targets of that job, in one transaction; what Berth
/// does not act on is listed back. Nothing changes when anything is invalid.
pub async fn import(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    yaml: &str,
) -> ServiceResult<PrometheusImportView> {
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&e.project)).await?;
    if yaml.len() > 1 << 20 {
        return Err(ServiceError::invalid("config", "at most 1 MiB"));
    }
    let parsed = promconfig::parse_prometheus_yml(yaml)
        .map_err(|err| ServiceError::invalid("config", err.to_string()))?;
    let d = settings_of(state, e.id).await?;
    let mut all = Vec::new();
    for j in &parsed.jobs {
        for t in from_job(j) {
            all.push(
                normalize(&t, &d, state.metrics.outbound()).map_err(|err| match err {
                    ServiceError::Invalid { field, message } => ServiceError::invalid(
                        "config",
                        format!("job {}: {field}: {message}", j.job_name),
                    ),
                    other => other,
                })?,
            );
        }
    }
    let mut tx = state.db.begin_write().await?;
    for j in &parsed.jobs {
        sqlx::query("DELETE FROM scrape_targets WHERE environment_id = $1 AND job_name = $2")
            .bind(e.id)
            .bind(&j.job_name)
            .execute(&mut *tx)
            .await?;
    }
    if count(&mut tx, e.id).await? + all.len() > MAX_TARGETS {
        return Err(ServiceError::invalid(
            "config",
            format!("at most {MAX_TARGETS} static targets per environment"),
        ));
    }
    for t in &all {
        insert(&mut tx, e.id, t).await?;
    }
    let view = PrometheusImportView {
        jobs: parsed.jobs.iter().map(|j| j.job_name.clone()).collect(),
        targets: all.len(),
        unsupported: parsed.unsupported.clone(),
    };
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("metrics.import", target(&e))
            .project(e.project.id)
            .summary(json!({ "jobs": view.jobs, "targets": view.targets, "unsupported": view.unsupported })),
    )
    .await?;
    tx.commit().await?;
    state.metrics.changed();
    Ok(view)
}
