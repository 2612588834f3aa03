//! The project's GitHub webhook: its set-up (`…/webhook`) and its deliveries
//! (`…/deliveries`, one with headers and payload, replay).
use super::caller::Caller;
use super::error::{ApiResult, ErrorBody};
use super::json::ApiJson;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use berth_core::webhooks::deliveries;
use berth_core::AppState;
use berth_model::{DeliveryDetail, DeliveryPage, DeliveryView, WebhookView};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DeliveryQuery {
    /// Only deliveries older than this id (the previous page's `next_before`).
    pub before: Option<i64>,
    /// `connected`, `deployed`, `skipped`, `duplicate`, `refused` or `failed`.
    pub outcome: Option<String>,
    /// At most this many (1–200, default 50).
    pub limit: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// `owner/name`; deliveries from other repositories are skipped. Empty: any.
    pub repository: String,
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/webhook", tag = "webhooks",
    params(("project" = String, Path)),
    responses((status = 200, body = WebhookView), (status = 404, body = ErrorBody)))]
pub async fn get_settings(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(deliveries::settings(&state, &ctx, &project).await?))
}

#[utoipa::path(put, path = "/api/v1/projects/{project}/webhook", tag = "webhooks",
    params(("project" = String, Path)), request_body = WebhookBody,
    responses((status = 200, body = WebhookView), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
    ApiJson(b): ApiJson<WebhookBody>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(
        deliveries::set_repository(&state, &ctx, &project, &b.repository).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/deliveries", tag = "webhooks",
    params(("project" = String, Path), DeliveryQuery),
    responses((status = 200, body = DeliveryPage), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult<Json<DeliveryPage>> {
    Ok(Json(
        deliveries::list(
            &state,
            &ctx,
            &project,
            q.before,
            q.outcome.as_deref(),
            q.limit,
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/deliveries/{id}", tag = "webhooks",
    params(("project" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = DeliveryDetail), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, id)): Path<(String, i64)>,
) -> ApiResult<Json<DeliveryDetail>> {
    Ok(Json(deliveries::get(&state, &ctx, &project, id).await?))
}

/// Handles a stored delivery again (maintainers); the deploys it queues are the caller's.
#[utoipa::path(post, path = "/api/v1/projects/{project}/deliveries/{id}/replay", tag = "webhooks",
    params(("project" = String, Path), ("id" = i64, Path)),
    responses((status = 202, body = DeliveryView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn replay(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, id)): Path<(String, i64)>,
) -> ApiResult<(StatusCode, Json<DeliveryView>)> {
    let d = deliveries::replay(&state, &ctx, &project, id).await?;
    Ok((StatusCode::ACCEPTED, Json(d)))
}
