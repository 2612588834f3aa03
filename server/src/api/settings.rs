//! `/api/v1/settings/host-paths`: the host directories services may bind-mount without an
//! instance admin (instance admins change it).
use super::caller::Caller;
use super::error::ApiResult;
use super::json::ApiJson;
use axum::extract::State;
use axum::Json;
use berth_core::{host_paths, AppState};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostPaths {
    /// Absolute host paths; a mount inside one of them is allowed.
    pub paths: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/settings/host-paths", tag = "settings",
    responses((status = 200, body = HostPaths)))]
pub async fn get_host_paths(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> ApiResult<Json<HostPaths>> {
    Ok(Json(HostPaths {
        paths: host_paths::get(&state, &ctx).await?,
    }))
}

#[utoipa::path(put, path = "/api/v1/settings/host-paths", tag = "settings", request_body = HostPaths,
    responses((status = 200, body = HostPaths), (status = 403, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
pub async fn put_host_paths(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<HostPaths>,
) -> ApiResult<Json<HostPaths>> {
    Ok(Json(HostPaths {
        paths: host_paths::set(&state, &ctx, &body.paths).await?,
    }))
}
