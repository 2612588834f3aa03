//! `/api/v1/tokens`: the caller's own tokens.
use super::caller::Caller;
use super::error::ApiResult;
use super::json::ApiJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use berth_core::{tokens, AppState};
use berth_model::{CreatedToken, Scope, TokenView};
use serde::Deserialize;

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenView>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> ApiResult<Json<Vec<TokenView>>> {
    Ok(Json(tokens::list_own(&state, &ctx).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub scope: Scope,
    /// `30d`, `12h`, `90m`, or absent for no expiry.
    pub expires_in: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken, description = "the secret is shown only here"),
        (status = 403, body = super::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let t = tokens::create(
        &state,
        &ctx,
        None,
        &body.name,
        body.scope,
        body.expires_in.as_deref().unwrap_or(""),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    tokens::revoke(&state, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
