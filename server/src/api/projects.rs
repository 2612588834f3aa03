//! `/api/v1/projects`.
use super::caller::Caller;
use super::error::ApiResult;
use super::json::ApiJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use berth_core::{projects, AppState};
use berth_model::ProjectView;
use serde::Deserialize;

#[utoipa::path(get, path = "/api/v1/projects", tag = "projects",
    responses((status = 200, body = Vec<ProjectView>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> ApiResult<Json<Vec<ProjectView>>> {
    Ok(Json(projects::list(&state, &ctx).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub name: String,
    /// Lowercase letters, digits and '-'.
    pub slug: String,
}

#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = NewProject,
    responses((status = 201, body = ProjectView), (status = 403, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<NewProject>,
) -> ApiResult<(StatusCode, Json<ProjectView>)> {
    let p = projects::create(&state, &ctx, &body.name, &body.slug).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}", tag = "projects",
    params(("project" = String, Path, description = "project slug")),
    responses((status = 200, body = ProjectView), (status = 404, body = super::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
) -> ApiResult<Json<ProjectView>> {
    Ok(Json(projects::get(&state, &ctx, &project).await?))
}

#[utoipa::path(delete, path = "/api/v1/projects/{project}", tag = "projects",
    params(("project" = String, Path, description = "project slug")),
    responses((status = 204), (status = 403, body = super::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
) -> ApiResult<StatusCode> {
    projects::delete(&state, &ctx, &project).await?;
    Ok(StatusCode::NO_CONTENT)
}
