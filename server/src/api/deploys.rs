//! Deploys, releases, rollbacks, scaling and deploy settings:
//! `…/environments/{env}/deploys`, `/deploys/{id}`, `/deploys/{id}/log` (SSE), …
use super::caller::Caller;
use super::error::ApiResult;
use super::json::ApiJson;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_core::deploy::{self, DeployRequest};
use berth_core::AppState;
use berth_model::{DeployDetail, DeployView, ReleaseView};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeploy {
    /// Why (shown in the history and the audit log).
    #[serde(default)]
    pub reason: String,
    /// The commit being deployed; fills `${GIT_SHA}` in image references.
    #[serde(default)]
    pub git_sha: String,
    /// The branch of the commit; fills `${GIT_BRANCH}` (default: the environment's branch).
    #[serde(default)]
    pub git_branch: String,
    /// Replace deploys of this environment still waiting in the queue (default true).
    #[serde(default)]
    pub supersede: Option<bool>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// The release number to go back to.
    pub release: i64,
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleBody {
    /// Service → replicas, e.g. `{"web": 3}`.
    pub replicas: BTreeMap<String, u32>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartBody {
    /// Services to restart (rolling); empty: all.
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// At most this many (default 50).
    pub limit: Option<i64>,
    /// Only entries older than this id (the last id of the previous page).
    pub before: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DetailQuery {
    /// Only log lines after this sequence number.
    pub after: Option<i64>,
}

fn trigger_of(ctx: &berth_core::Ctx) -> String {
    match ctx.actor {
        berth_core::Actor::Token(..) => "api".into(),
        berth_core::Actor::Webhook(..) => "webhook".into(),
        berth_core::Actor::System => "cli".into(),
        _ => "manual".into(),
    }
}

async fn queue(
    state: &AppState,
    ctx: &berth_core::Ctx,
    project: &str,
    env: &str,
    req: DeployRequest,
) -> ApiResult<(StatusCode, Json<DeployView>)> {
    let d = deploy::request(state, ctx, project, env, req).await?;
    Ok((StatusCode::ACCEPTED, Json(d)))
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/deploys", tag = "deploys",
    params(("project" = String, Path), ("env" = String, Path)), request_body = NewDeploy,
    responses((status = 202, body = DeployView), (status = 422, body = super::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    ApiJson(b): ApiJson<NewDeploy>,
) -> ApiResult<(StatusCode, Json<DeployView>)> {
    let req = DeployRequest {
        kind: "deploy".into(),
        reason: b.reason,
        git_sha: b.git_sha,
        git_branch: b.git_branch,
        trigger: trigger_of(&ctx),
        supersede: b.supersede.unwrap_or(true),
        ..Default::default()
    };
    queue(&state, &ctx, &project, &env, req).await
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/deploys", tag = "deploys",
    params(("project" = String, Path), ("env" = String, Path), ListQuery),
    responses((status = 200, body = Vec<DeployView>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<DeployView>>> {
    Ok(Json(
        deploy::list(
            &state,
            &ctx,
            &project,
            &env,
            q.limit.unwrap_or(50),
            q.before,
        )
        .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/rollback", tag = "deploys",
    params(("project" = String, Path), ("env" = String, Path)), request_body = RollbackBody,
    responses((status = 202, body = DeployView), (status = 422, body = super::error::ErrorBody)))]
pub async fn rollback(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    ApiJson(b): ApiJson<RollbackBody>,
) -> ApiResult<(StatusCode, Json<DeployView>)> {
    let req = DeployRequest {
        kind: "rollback".into(),
        reason: b.reason,
        release: Some(b.release),
        trigger: trigger_of(&ctx),
        ..Default::default()
    };
    queue(&state, &ctx, &project, &env, req).await
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/redeploy", tag = "deploys",
    params(("project" = String, Path), ("env" = String, Path)), request_body = ReasonBody,
    responses((status = 202, body = DeployView), (status = 409, body = super::error::ErrorBody)))]
pub async fn redeploy(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> ApiResult<(StatusCode, Json<DeployView>)> {
    let req = DeployRequest {
        kind: "redeploy".into(),
        reason: b.reason,
        trigger: trigger_of(&ctx),
        ..Default::default()
    };
    queue(&state, &ctx, &project, &env, req).await
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/scale", tag = "deploys",
    params(("project" = String, Path), ("env" = String, Path)), request_body = ScaleBody,
    responses((status = 202, body = DeployView), (status = 422, body = super::error::ErrorBody)))]
pub async fn scale(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    ApiJson(b): ApiJson<ScaleBody>,
) -> ApiResult<(StatusCode, Json<DeployView>)> {
    let req = DeployRequest {
        kind: "scale".into(),
        reason: b.reason,
        scale: b.replicas,
        trigger: trigger_of(&ctx),
        ..Default::default()
    };
    queue(&state, &ctx, &project, &env, req).await
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/restart", tag = "deploys",
    params(("project" = String, Path), ("env" = String, Path)), request_body = RestartBody,
    responses((status = 202, body = DeployView), (status = 409, body = super::error::ErrorBody)))]
pub async fn restart(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    ApiJson(b): ApiJson<RestartBody>,
) -> ApiResult<(StatusCode, Json<DeployView>)> {
    let req = DeployRequest {
        kind: "restart".into(),
        reason: b.reason,
        services: b.services,
        trigger: trigger_of(&ctx),
        ..Default::default()
    };
    queue(&state, &ctx, &project, &env, req).await
}

/// "Replace now": replaces one service's containers, whatever its update strategy (the only
/// way a `manual` service is replaced). Maintainers.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/services/{service}/replace", tag = "deploys",
    params(("project" = String, Path), ("env" = String, Path), ("service" = String, Path)), request_body = ReasonBody,
    responses((status = 202, body = DeployView), (status = 409, body = super::error::ErrorBody)))]
pub async fn replace(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env, service)): Path<(String, String, String)>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> ApiResult<(StatusCode, Json<DeployView>)> {
    let req = DeployRequest {
        kind: "replace".into(),
        reason: b.reason,
        services: vec![service],
        trigger: trigger_of(&ctx),
        ..Default::default()
    };
    queue(&state, &ctx, &project, &env, req).await
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/releases", tag = "deploys",
    params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, body = Vec<ReleaseView>)))]
pub async fn releases(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<Vec<ReleaseView>>> {
    Ok(Json(deploy::releases(&state, &ctx, &project, &env).await?))
}

#[utoipa::path(get, path = "/api/v1/deploys/{id}", tag = "deploys",
    params(("id" = i64, Path), DetailQuery),
    responses((status = 200, body = DeployDetail), (status = 404, body = super::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> ApiResult<Json<DeployDetail>> {
    Ok(Json(
        deploy::detail(&state, &ctx, id, q.after.unwrap_or(0), 10_000).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/deploys/{id}/cancel", tag = "deploys",
    params(("id" = i64, Path)),
    responses((status = 200, body = DeployView), (status = 409, body = super::error::ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<DeployView>> {
    Ok(Json(deploy::cancel(&state, &ctx, id).await?))
}

fn wants_sse(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

/// The deploy's log. With `Accept: text/event-stream`: server-sent events — `line` events
/// (JSON `DeployLogLine`, event id = its sequence number, so `Last-Event-ID` resumes),
/// `status` events when the deploy's status changes, and a final `end` event. Otherwise the
/// lines so far as JSON.
#[utoipa::path(get, path = "/api/v1/deploys/{id}/log", tag = "deploys",
    params(("id" = i64, Path), DetailQuery),
    responses((status = 200, description = "JSON lines, or an SSE stream for Accept: text/event-stream")))]
pub async fn log(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let after = resume.or(q.after).unwrap_or(0);
    // Authorizes (and 404s) before any stream starts.
    let (lines, view) = deploy::log_since(&state, &ctx, id, after).await?;
    if !wants_sse(&headers) {
        return Ok(Json(serde_json::json!({ "deploy": view, "lines": lines })).into_response());
    }
    let stream = super::deploy_log::LogFollower::new(state, ctx, id, after).into_stream();
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/deploy-settings", tag = "deploys",
    params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, description = "timeouts, intervals, pull policy, releases kept")))]
pub async fn get_settings(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<stack::model::DeploySettings>> {
    Ok(Json(deploy::settings(&state, &ctx, &project, &env).await?))
}

#[utoipa::path(put, path = "/api/v1/projects/{project}/environments/{env}/deploy-settings", tag = "deploys",
    params(("project" = String, Path), ("env" = String, Path)),
    request_body(content = Object, description = "DeploySettings"),
    responses((status = 200, description = "saved"), (status = 422, body = super::error::ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    ApiJson(b): ApiJson<stack::model::DeploySettings>,
) -> ApiResult<Json<stack::model::DeploySettings>> {
    Ok(Json(
        deploy::set_settings(&state, &ctx, &project, &env, b).await?,
    ))
}
