//! `/api/v1/projects/{project}/environments`.
use super::caller::Caller;
use super::error::ApiResult;
use super::json::ApiJson;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use berth_core::environments::{self, EnvironmentInput};
use berth_core::AppState;
use berth_model::EnvironmentView;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnvironment {
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub protected: bool,
    /// The branch whose pushes deploy it.
    #[serde(default)]
    pub branch: String,
    /// Empty for the local engine.
    #[serde(default)]
    pub docker_host: String,
    /// nginx: `{"http_port":80,"https_port":443,"redirect_http":true,"hsts_max_age":31536000}`.
    #[schema(value_type = Option<Object>)]
    pub proxy: Option<stack::model::ProxySettings>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentPatch {
    pub name: Option<String>,
    pub protected: Option<bool>,
    pub branch: Option<String>,
    pub docker_host: Option<String>,
    /// Reach a `tcp://` Docker host over plain TCP, without TLS (instance admins only;
    /// changing `docker_host` clears it unless set again in the same request).
    pub docker_insecure: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub proxy: Option<stack::model::ProxySettings>,
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments", tag = "environments",
    params(("project" = String, Path)), responses((status = 200, body = Vec<EnvironmentView>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
) -> ApiResult<Json<Vec<EnvironmentView>>> {
    Ok(Json(environments::list(&state, &ctx, &project).await?))
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments", tag = "environments",
    params(("project" = String, Path)), request_body = NewEnvironment,
    responses((status = 201, body = EnvironmentView), (status = 422, body = super::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
    ApiJson(b): ApiJson<NewEnvironment>,
) -> ApiResult<(StatusCode, Json<EnvironmentView>)> {
    let input = EnvironmentInput {
        name: b.name,
        slug: b.slug,
        protected: b.protected,
        branch: b.branch,
        docker_host: b.docker_host,
        proxy: b.proxy.unwrap_or_else(environments::default_proxy),
    };
    let e = environments::create(&state, &ctx, &project, input).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}", tag = "environments",
    params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, body = EnvironmentView), (status = 404, body = super::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<EnvironmentView>> {
    Ok(Json(environments::get(&state, &ctx, &project, &env).await?))
}

#[utoipa::path(patch, path = "/api/v1/projects/{project}/environments/{env}", tag = "environments",
    params(("project" = String, Path), ("env" = String, Path)), request_body = EnvironmentPatch,
    responses((status = 200, body = EnvironmentView), (status = 403, body = super::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    ApiJson(b): ApiJson<EnvironmentPatch>,
) -> ApiResult<Json<EnvironmentView>> {
    let cur = environments::get(&state, &ctx, &project, &env).await?;
    let input = EnvironmentInput {
        name: b.name.unwrap_or(cur.name),
        slug: cur.slug,
        protected: b.protected.unwrap_or(cur.protected),
        branch: b.branch.unwrap_or(cur.branch),
        docker_host: b.docker_host.unwrap_or(cur.docker_host),
        proxy: b.proxy.unwrap_or(cur.proxy),
    };
    Ok(Json(
        environments::update_with(&state, &ctx, &project, &env, input, b.docker_insecure).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/projects/{project}/environments/{env}", tag = "environments",
    params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 204), (status = 403, body = super::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    environments::delete(&state, &ctx, &project, &env).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One page of an environment's history: `before` continues below the last number seen.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct VersionsQuery {
    /// Only versions numbered below this one (the next page after a page ending at it).
    pub before: Option<i64>,
    /// Page length, 1 to 200 (default 20).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/versions", tag = "environments",
    params(("project" = String, Path), ("env" = String, Path), VersionsQuery),
    responses((status = 200, description = "Newest first, one page", body = Vec<berth_model::ConfigVersionView>)))]
pub async fn versions(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    Query(page): Query<VersionsQuery>,
) -> ApiResult<Json<Vec<berth_model::ConfigVersionView>>> {
    Ok(Json(
        berth_core::environments::list_versions(
            &state,
            &ctx,
            &project,
            &env,
            page.before,
            page.limit,
        )
        .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DiffQuery {
    /// Older version number (0: empty).
    pub from: i64,
    pub to: i64,
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/versions/diff", tag = "environments",
    params(("project" = String, Path), ("env" = String, Path), DiffQuery),
    responses((status = 200, body = Vec<berth_model::ConfigChange>)))]
pub async fn diff(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<Json<Vec<berth_model::ConfigChange>>> {
    Ok(Json(
        berth_core::environments::compare_versions(&state, &ctx, &project, &env, q.from, q.to)
            .await?,
    ))
}
