//! Who is calling the API: a bearer token, else the browser session.
use super::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use berth_core::{tokens, web, Actor, AppState, Ctx, RequestMeta};
use berth_model::error::AppError;
use tower_sessions::Session;

/// The authenticated caller of a REST handler (anonymous callers are refused).
pub struct Caller(pub Ctx);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let meta = parts
            .extensions
            .get::<RequestMeta>()
            .cloned()
            .unwrap_or_default();
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let raw = value
                .to_str()
                .map_err(|_| ApiError(AppError::Unauthenticated))?;
            let secret = raw
                .strip_prefix("Bearer ")
                .ok_or(ApiError(AppError::Unauthenticated))?
                .trim();
            return match tokens::authenticate(&state.db, secret).await? {
                Some(actor) => Ok(Caller(Ctx::for_request(actor, meta))),
                None => Err(ApiError(AppError::Unauthenticated)),
            };
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError(AppError::Unauthenticated))?;
        let ctx = web::session_ctx(state, &session, meta).await?;
        if matches!(ctx.actor, Actor::Anonymous) {
            return Err(ApiError(AppError::Unauthenticated));
        }
        Ok(Caller(ctx))
    }
}
