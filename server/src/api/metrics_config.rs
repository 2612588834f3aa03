//! An environment's metrics: its scrape targets and their health, static targets, settings
//! (interval, retention, remote write and remote read URLs) and `prometheus.yml` import.
use super::caller::Caller;
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_core::metrics::config;
use berth_core::AppState;
use berth_model::{MetricsSettings, NewScrapeTarget, PrometheusImportView, ScrapeTargetView};
use serde::Serialize;

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/metrics/targets", tag = "metrics",
    params(("project" = String, Path), ("env" = String, Path)), responses((status = 200, body = Vec<ScrapeTargetView>)))]
pub async fn list_targets(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<Vec<ScrapeTargetView>>> {
    Ok(Json(
        config::list_targets(&state, &ctx, &project, &env).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: i64,
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/metrics/targets", tag = "metrics",
    params(("project" = String, Path), ("env" = String, Path)), request_body = NewScrapeTarget,
    responses((status = 201, body = Created), (status = 422, body = super::error::ErrorBody)))]
pub async fn add_target(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    body: Result<ApiJson<NewScrapeTarget>, Response>,
) -> Result<(StatusCode, Json<Created>), Response> {
    // Who may add targets comes before what was sent (as for the settings).
    berth_core::metrics::settings::may_change_settings(&state, &ctx, &project, &env)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let ApiJson(t) = body?;
    let id = config::add_target(&state, &ctx, &project, &env, &t)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[utoipa::path(delete, path = "/api/v1/projects/{project}/environments/{env}/metrics/targets/{id}", tag = "metrics",
    params(("project" = String, Path), ("env" = String, Path), ("id" = i64, Path)), responses((status = 204)))]
pub async fn remove_target(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    // An id that is not a number is a target that does not exist, decided after the
    // caller's right to remove targets (a refusal comes before any validation).
    let id = id.parse().unwrap_or(-1);
    config::remove_target(&state, &ctx, &project, &env, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/metrics/settings", tag = "metrics",
    params(("project" = String, Path), ("env" = String, Path)), responses((status = 200, body = MetricsSettings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<MetricsSettings>> {
    Ok(Json(
        config::get_settings(&state, &ctx, &project, &env).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/projects/{project}/environments/{env}/metrics/settings", tag = "metrics",
    params(("project" = String, Path), ("env" = String, Path)), request_body = MetricsSettings,
    responses((status = 200, body = MetricsSettings), (status = 422, body = super::error::ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    body: Result<ApiJson<MetricsSettings>, Response>,
) -> Result<Json<MetricsSettings>, Response> {
    // Who may change them comes before what was sent: a viewer learns nothing from the
    // body's validation.
    berth_core::metrics::settings::may_change_settings(&state, &ctx, &project, &env)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let ApiJson(s) = body?;
    Ok(Json(
        config::set_settings(&state, &ctx, &project, &env, &s)
            .await
            .map_err(|e| ApiError::from(e).into_response())?,
    ))
}

/// The body is a `prometheus.yml` (YAML); each of its jobs' static targets replaces the
/// environment's targets of that job.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/metrics/import", tag = "metrics",
    params(("project" = String, Path), ("env" = String, Path)),
    request_body(content = String, content_type = "application/yaml", description = "prometheus.yml"),
    responses((status = 200, body = PrometheusImportView), (status = 422, body = super::error::ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    body: String,
) -> ApiResult<Json<PrometheusImportView>> {
    Ok(Json(
        config::import(&state, &ctx, &project, &env, &body).await?,
    ))
}
