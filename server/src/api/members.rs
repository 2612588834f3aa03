//! `/api/v1/projects/{project}/members`.
use super::caller::Caller;
use super::error::ApiResult;
use super::json::ApiJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use berth_core::{members, AppState};
use berth_model::{MemberView, Role};
use serde::Deserialize;

#[utoipa::path(get, path = "/api/v1/projects/{project}/members", tag = "members",
    params(("project" = String, Path)),
    responses((status = 200, body = Vec<MemberView>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
) -> ApiResult<Json<Vec<MemberView>>> {
    Ok(Json(members::list(&state, &ctx, &project).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRole {
    pub role: Role,
}

#[utoipa::path(put, path = "/api/v1/projects/{project}/members/{username}", tag = "members",
    params(("project" = String, Path), ("username" = String, Path)), request_body = MemberRole,
    responses((status = 200, body = MemberView), (status = 403, body = super::error::ErrorBody)))]
pub async fn set(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, username)): Path<(String, String)>,
    ApiJson(body): ApiJson<MemberRole>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(
        members::set(&state, &ctx, &project, &username, body.role).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/projects/{project}/members/{username}", tag = "members",
    params(("project" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 403, body = super::error::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, username)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    members::remove(&state, &ctx, &project, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}
