//! The no-JavaScript flash: a value a plain form post shows once on the next page render (a
//! new API token, a generated webhook secret, an import plan). The session row is plain JSON
//! in the database, so the value is kept there only sealed with the secrets key, bound to its
//! purpose and the signed-in user.
use super::context::Ctx;
use super::error::{ServiceError, ServiceResult};
use super::AppState;
use serde::{de::DeserializeOwned, Serialize};
use tower_sessions::Session;

fn key(purpose: &str) -> String {
    format!("flash:{purpose}")
}

fn aad(purpose: &str, user_id: i64) -> String {
    format!("berth-session-flash:v1:{purpose}:user:{user_id}")
}

fn session_error(e: tower_sessions::session::Error) -> ServiceError {
    ServiceError::Internal(format!("session: {e}"))
}

/// Keeps `value` for the next `take` of the same purpose by the same user.
pub async fn put<T: Serialize>(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    purpose: &str,
    value: &T,
) -> ServiceResult<()> {
    let user = ctx.user().ok_or(ServiceError::Unauthenticated)?;
    let json = serde_json::to_string(value)
        .map_err(|e| ServiceError::Internal(format!("flash encode: {e}")))?;
    let (sealed, _) = state.secrets.seal(&aad(purpose, user.id), &json)?;
    session
        .insert(&key(purpose), sealed)
        .await
        .map_err(session_error)
}

/// The value kept by the last `put` of this purpose, once; `None` when there is none, when
/// nobody is signed in, or when it cannot be opened (another user, a retired key).
pub async fn take<T: DeserializeOwned>(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    purpose: &str,
) -> ServiceResult<Option<T>> {
    let Some(user) = ctx.user() else {
        return Ok(None);
    };
    let Some(sealed) = session
        .remove::<String>(&key(purpose))
        .await
        .map_err(session_error)?
    else {
        return Ok(None);
    };
    let Ok(json) = state.secrets.open(&aad(purpose, user.id), &sealed) else {
        return Ok(None);
    };
    Ok(serde_json::from_str(&json).ok())
}
