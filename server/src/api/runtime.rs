//! The containers view and the watchdog: `…/environments/{env}/containers`,
//! `…/containers/{id}/logs` (tail, or follow as SSE), restart and stop, `…/watchdog`.
use super::caller::Caller;
use super::error::ApiResult;
use super::json::ApiJson;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_core::deploy::{self, containers};
use berth_core::AppState;
use berth_model::{RuntimeView, WatchdogView};
use futures_util::StreamExt;
use serde::Deserialize;
use std::time::Duration;

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/containers", tag = "runtime",
    params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, body = RuntimeView)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<RuntimeView>> {
    Ok(Json(
        containers::runtime(&state, &ctx, &project, &env).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// Last lines to send first (default 200).
    pub tail: Option<usize>,
    /// Keep the stream open and send new lines as server-sent events.
    pub follow: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/containers/{id}/logs", tag = "runtime",
    params(("project" = String, Path), ("env" = String, Path), ("id" = String, Path), LogQuery),
    responses((status = 200, description = "text/plain lines, or SSE `line` events with follow=true")))]
pub async fn logs(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env, id)): Path<(String, String, String)>,
    Query(q): Query<LogQuery>,
) -> ApiResult<Response> {
    let follow = q.follow.unwrap_or(false);
    let stream = containers::logs(
        &state,
        &ctx,
        &project,
        &env,
        &id,
        q.tail.unwrap_or(200),
        follow,
    )
    .await?;
    if follow {
        let events = stream.map(|line| {
            Ok::<_, std::convert::Infallible>(Event::default().event("line").data(line))
        });
        return Ok(Sse::new(events)
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response());
    }
    let lines: Vec<String> =
        tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>())
            .await
            .unwrap_or_default();
    let mut body = lines.join("\n");
    if !body.is_empty() {
        body.push('\n');
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

async fn act(
    state: AppState,
    ctx: berth_core::Ctx,
    project: String,
    env: String,
    id: String,
    action: &str,
) -> ApiResult<StatusCode> {
    containers::act(&state, &ctx, &project, &env, &id, action).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/containers/{id}/restart", tag = "runtime",
    params(("project" = String, Path), ("env" = String, Path), ("id" = String, Path)),
    responses((status = 204, description = "restarted"), (status = 404, body = super::error::ErrorBody)))]
pub async fn restart(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    act(state, ctx, project, env, id, "restart").await
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/containers/{id}/stop", tag = "runtime",
    params(("project" = String, Path), ("env" = String, Path), ("id" = String, Path)),
    responses((status = 204, description = "stopped"), (status = 404, body = super::error::ErrorBody)))]
pub async fn stop(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    act(state, ctx, project, env, id, "stop").await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchdogBody {
    pub enabled: bool,
    #[serde(default = "default_interval")]
    pub interval_secs: i64,
    #[serde(default = "default_threshold")]
    pub failure_threshold: i64,
    /// Generic JSON webhook for alerts and deploy results.
    #[serde(default)]
    pub webhook_url: String,
}

fn default_interval() -> i64 {
    60
}
fn default_threshold() -> i64 {
    3
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/watchdog", tag = "runtime",
    params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, body = WatchdogView)))]
pub async fn get_watchdog(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<WatchdogView>> {
    Ok(Json(deploy::watchdog(&state, &ctx, &project, &env).await?))
}

#[utoipa::path(put, path = "/api/v1/projects/{project}/environments/{env}/watchdog", tag = "runtime",
    params(("project" = String, Path), ("env" = String, Path)), request_body = WatchdogBody,
    responses((status = 200, body = WatchdogView), (status = 422, body = super::error::ErrorBody)))]
pub async fn put_watchdog(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((project, env)): Path<(String, String)>,
    ApiJson(b): ApiJson<WatchdogBody>,
) -> ApiResult<Json<WatchdogView>> {
    Ok(Json(
        deploy::set_watchdog(
            &state,
            &ctx,
            &project,
            &env,
            b.enabled,
            b.interval_secs,
            b.failure_threshold,
            &b.webhook_url,
        )
        .await?,
    ))
}
