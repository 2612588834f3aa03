//! `/api/v1/me` and `/api/v1/users`.
use super::caller::Caller;
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use berth_core::{users, AppState};
use berth_model::error::AppError;
use berth_model::{InstanceRole, Me, UserView};
use serde::Deserialize;

#[utoipa::path(get, path = "/api/v1/me", tag = "users",
    responses((status = 200, body = Me), (status = 401, body = super::error::ErrorBody)))]
pub async fn me(Caller(ctx): Caller) -> ApiResult<Json<Me>> {
    ctx.user()
        .map(|u| Json(u.me()))
        .ok_or(ApiError(AppError::Unauthenticated))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<UserView>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> ApiResult<Json<Vec<UserView>>> {
    Ok(Json(users::list(&state, &ctx).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    pub instance_role: Option<InstanceRole>,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 403, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let role = body.instance_role.unwrap_or(InstanceRole::User);
    let user = users::create(&state, &ctx, &body.username, &body.password, role).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Disabling ends the user's sessions and stops their tokens.
    pub disabled: bool,
}

#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "users", request_body = UserPatch,
    params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 403, body = super::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(username): Path<String>,
    ApiJson(body): ApiJson<UserPatch>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(
        users::set_disabled(&state, &ctx, &username, body.disabled).await?,
    ))
}
