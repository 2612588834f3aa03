//! Services, sites, imports, the generated nginx configuration and exports.
use super::caller::Caller;
use super::error::ApiResult;
use super::json::ApiJson;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_core::variables::Scope;
use berth_core::{edge, imports, services, sites, AppState};
use berth_model::{ImportPlan, ServiceView, SiteView};
use serde::{Deserialize, Serialize};
use stack::model::{ServiceSpec, SiteSpec};

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/services", tag = "services",
    params(("project" = String, Path), ("env" = String, Path)), responses((status = 200, body = Vec<ServiceView>)))]
pub async fn list_services(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<Vec<ServiceView>>> {
    Ok(Json(services::list(&state, &ctx, &project, &env).await?))
}

/// The body is a service spec; its `name` is taken from the path.
#[utoipa::path(put, path = "/api/v1/projects/{project}/environments/{env}/services/{name}", tag = "services",
    params(("project" = String, Path), ("env" = String, Path), ("name" = String, Path)),
    request_body(content = Object, description = "ServiceSpec"),
    responses((status = 200, body = ServiceView), (status = 422, body = super::error::ErrorBody)))]
pub async fn put_service(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env, name)): Path<(String, String, String)>,
    ApiJson(mut spec): ApiJson<ServiceSpec>,
) -> ApiResult<Json<ServiceView>> {
    spec.name = name;
    Ok(Json(
        services::put(&state, &ctx, &project, &env, spec).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/projects/{project}/environments/{env}/services/{name}", tag = "services",
    params(("project" = String, Path), ("env" = String, Path), ("name" = String, Path)), responses((status = 204)))]
pub async fn delete_service(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env, name)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    services::delete(&state, &ctx, &project, &env, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/sites", tag = "sites",
    params(("project" = String, Path)), responses((status = 200, body = Vec<SiteView>)))]
pub async fn list_sites(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
) -> ApiResult<Json<Vec<SiteView>>> {
    Ok(Json(sites::list(&state, &ctx, &project).await?))
}

#[utoipa::path(put, path = "/api/v1/projects/{project}/sites/{name}", tag = "sites",
    params(("project" = String, Path), ("name" = String, Path)),
    request_body(content = Object, description = "SiteSpec"),
    responses((status = 200, body = SiteView), (status = 422, body = super::error::ErrorBody)))]
pub async fn put_site(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, name)): Path<(String, String)>,
    ApiJson(mut spec): ApiJson<SiteSpec>,
) -> ApiResult<Json<SiteView>> {
    spec.name = name;
    Ok(Json(sites::put(&state, &ctx, &project, spec).await?))
}

#[utoipa::path(delete, path = "/api/v1/projects/{project}/sites/{name}", tag = "sites",
    params(("project" = String, Path), ("name" = String, Path)), responses((status = 204)))]
pub async fn delete_site(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    sites::delete(&state, &ctx, &project, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Shown in error messages, e.g. `.env.prod`.
    pub file_name: String,
    pub content: String,
    /// false (default): only preview.
    #[serde(default)]
    pub apply: bool,
    /// For `.env`: which names to store as secrets (default: Berth's proposal).
    pub secrets: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/imports/env", tag = "imports",
    params(("project" = String, Path), ("env" = String, Path)), request_body = ImportRequest,
    responses((status = 200, body = ImportPlan), (status = 422, body = super::error::ErrorBody)))]
pub async fn import_env(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    ApiJson(b): ApiJson<ImportRequest>,
) -> ApiResult<Json<ImportPlan>> {
    let plan = imports::env_file(
        &state,
        &ctx,
        Scope::Environment(&project, &env),
        &b.file_name,
        &b.content,
        b.secrets.as_deref(),
        b.apply,
    )
    .await?;
    Ok(Json(plan))
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/imports/compose", tag = "imports",
    params(("project" = String, Path), ("env" = String, Path)), request_body = ImportRequest,
    responses((status = 200, body = ImportPlan), (status = 422, body = super::error::ErrorBody)))]
pub async fn import_compose(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    ApiJson(b): ApiJson<ImportRequest>,
) -> ApiResult<Json<ImportPlan>> {
    let plan = imports::compose_file(
        &state,
        &ctx,
        &project,
        &env,
        &b.file_name,
        &b.content,
        b.apply,
    )
    .await?;
    Ok(Json(plan))
}

fn text(body: String, content_type: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/nginx.conf", tag = "edge",
    params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn nginx_conf(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(text(
        edge::nginx_config(&state, &ctx, &project, &env).await?,
        "text/plain; charset=utf-8",
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NginxCheckBody {
    pub ok: bool,
    pub output: String,
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/nginx/check", tag = "edge",
    params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, body = NginxCheckBody), (status = 409, body = super::error::ErrorBody)))]
pub async fn nginx_check(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<NginxCheckBody>> {
    let c = edge::nginx_check(&state, &ctx, &project, &env).await?;
    Ok(Json(NginxCheckBody {
        ok: c.ok,
        output: c.output,
    }))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/export/docker-compose.yml", tag = "edge",
    params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, content_type = "application/yaml", body = String)))]
pub async fn export_compose(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(text(
        edge::export_compose(&state, &ctx, &project, &env).await?,
        "application/yaml",
    ))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/export/env", tag = "edge",
    params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn export_env(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(text(
        edge::export_env(&state, &ctx, &project, &env).await?,
        "text/plain; charset=utf-8",
    ))
}
