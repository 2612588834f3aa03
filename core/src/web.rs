//! Request-facing glue shared by server functions and REST handlers: who is calling.
use super::context::{Actor, AuthUser, Ctx, RequestMeta};
use super::error::{ServiceError, ServiceResult};
use super::session_store::{SEEN_AT, SIGNED_IN_AT, USER_ID};
use super::{now_ms, users, AppState};
use tower_sessions::Session;

/// The signed-in user of a browser session, enforcing the absolute lifetime and refreshing
/// the idle timer at most once a minute.
pub async fn session_user(state: &AppState, session: &Session) -> ServiceResult<Option<AuthUser>> {
    let store_err = |e: tower_sessions::session::Error| ServiceError::Internal(e.to_string());
    let Some(uid) = session.get::<i64>(USER_ID).await.map_err(store_err)? else {
        return Ok(None);
    };
    let now = now_ms();
    let signed_in: i64 = session
        .get(SIGNED_IN_AT)
        .await
        .map_err(store_err)?
        .unwrap_or(0);
    if now - signed_in > state.settings.session_absolute.as_millis() as i64 {
        session.flush().await.map_err(store_err)?;
        return Ok(None);
    }
    let user = match users::find_for_session(&state.db, uid).await? {
        Some(u) if u.disabled_at.is_none() && u.password_changed_at <= signed_in => u,
        _ => {
            session.flush().await.map_err(store_err)?;
            return Ok(None);
        }
    };
    let seen: i64 = session.get(SEEN_AT).await.map_err(store_err)?.unwrap_or(0);
    if now - seen > 60_000 {
        session.insert(SEEN_AT, now).await.map_err(store_err)?;
    }
    Ok(Some(user.auth()))
}

pub async fn session_ctx(
    state: &AppState,
    session: &Session,
    meta: RequestMeta,
) -> ServiceResult<Ctx> {
    let actor = match session_user(state, session).await? {
        Some(u) => Actor::User(u),
        None => Actor::Anonymous,
    };
    Ok(Ctx::for_request(actor, meta))
}

/// Starts a fresh session for `user` (new id, so a planted id is useless).
pub async fn sign_in(session: &Session, user: &AuthUser) -> ServiceResult<()> {
    let store_err = |e: tower_sessions::session::Error| ServiceError::Internal(e.to_string());
    session.cycle_id().await.map_err(store_err)?;
    let now = now_ms();
    session.insert(USER_ID, user.id).await.map_err(store_err)?;
    session.insert(SIGNED_IN_AT, now).await.map_err(store_err)?;
    session.insert(SEEN_AT, now).await.map_err(store_err)?;
    Ok(())
}

/// Ends the session and records it.
pub async fn sign_out(state: &AppState, session: &Session, ctx: &Ctx) -> ServiceResult<()> {
    let store_err = |e: tower_sessions::session::Error| ServiceError::Internal(e.to_string());
    session.flush().await.map_err(store_err)?;
    if let Some(u) = ctx.user() {
        super::audit::record(
            &state.db,
            ctx,
            super::audit::NewEvent::new("auth.logout", format!("user:{}", u.username)),
        )
        .await?;
    }
    Ok(())
}
