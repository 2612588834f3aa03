//! Variables and secrets: `/api/v1/projects/{project}/variables/{NAME}` and
//! `…/environments/{env}/variables/{NAME}`. Secret values go in, never out (but for an
//! admin's audited reveal).
use super::caller::Caller;
use super::error::ApiResult;
use super::json::ApiJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use berth_core::variables::{self, Scope};
use berth_core::AppState;
use berth_model::VariableView;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableInput {
    /// Absent or null: required, but not set yet (deploys wait for it).
    pub value: Option<String>,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Revealed {
    pub name: String,
    pub value: String,
}

fn scope<'a>(project: &'a str, env: Option<&'a str>) -> Scope<'a> {
    match env {
        Some(e) => Scope::Environment(project, e),
        None => Scope::Project(project),
    }
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/variables", tag = "variables",
    params(("project" = String, Path)), responses((status = 200, body = Vec<VariableView>)))]
pub async fn list_project(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
) -> ApiResult<Json<Vec<VariableView>>> {
    Ok(Json(
        variables::list(&state, &ctx, scope(&project, None)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/variables", tag = "variables",
    params(("project" = String, Path), ("env" = String, Path)), responses((status = 200, body = Vec<VariableView>)))]
pub async fn list_env(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<Vec<VariableView>>> {
    Ok(Json(
        variables::list(&state, &ctx, scope(&project, Some(&env))).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/projects/{project}/variables/{name}", tag = "variables",
    params(("project" = String, Path), ("name" = String, Path)), request_body = VariableInput,
    responses((status = 200, body = VariableView), (status = 422, body = super::error::ErrorBody)))]
pub async fn put_project(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, name)): Path<(String, String)>,
    ApiJson(b): ApiJson<VariableInput>,
) -> ApiResult<Json<VariableView>> {
    let v = variables::set(
        &state,
        &ctx,
        scope(&project, None),
        &name,
        b.value.as_deref(),
        b.secret,
    )
    .await?;
    Ok(Json(v))
}

#[utoipa::path(put, path = "/api/v1/projects/{project}/environments/{env}/variables/{name}", tag = "variables",
    params(("project" = String, Path), ("env" = String, Path), ("name" = String, Path)), request_body = VariableInput,
    responses((status = 200, body = VariableView), (status = 422, body = super::error::ErrorBody)))]
pub async fn put_env(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env, name)): Path<(String, String, String)>,
    ApiJson(b): ApiJson<VariableInput>,
) -> ApiResult<Json<VariableView>> {
    let v = variables::set(
        &state,
        &ctx,
        scope(&project, Some(&env)),
        &name,
        b.value.as_deref(),
        b.secret,
    )
    .await?;
    Ok(Json(v))
}

#[utoipa::path(delete, path = "/api/v1/projects/{project}/variables/{name}", tag = "variables",
    params(("project" = String, Path), ("name" = String, Path)), responses((status = 204)))]
pub async fn delete_project(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    variables::delete(&state, &ctx, scope(&project, None), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/projects/{project}/environments/{env}/variables/{name}", tag = "variables",
    params(("project" = String, Path), ("env" = String, Path), ("name" = String, Path)), responses((status = 204)))]
pub async fn delete_env(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env, name)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    variables::delete(&state, &ctx, scope(&project, Some(&env)), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Project admins only; every reveal is audited.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/variables/{name}/reveal", tag = "variables",
    params(("project" = String, Path), ("env" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Revealed), (status = 403, body = super::error::ErrorBody)))]
pub async fn reveal_env(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env, name)): Path<(String, String, String)>,
) -> ApiResult<Json<Revealed>> {
    let value = variables::reveal(&state, &ctx, scope(&project, Some(&env)), &name).await?;
    Ok(Json(Revealed { name, value }))
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/variables/{name}/reveal", tag = "variables",
    params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Revealed), (status = 403, body = super::error::ErrorBody)))]
pub async fn reveal_project(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<Json<Revealed>> {
    let value = variables::reveal(&state, &ctx, scope(&project, None), &name).await?;
    Ok(Json(Revealed { name, value }))
}
