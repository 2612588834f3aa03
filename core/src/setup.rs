//! First start: a one-time, expiring setup link creates the first admin.
use super::audit::{self, NewEvent};
use super::context::{Actor, Ctx};
use super::error::{ServiceError, ServiceResult};
use super::tokens::hash_secret;
use super::{now_ms, password, users, validate, AppState};
use berth_model::{InstanceRole, UserView};
use rand::RngCore;
use serde_json::json;

pub const SETUP_TTL_MS: i64 = 60 * 60_000;

/// When there are no users, issues a fresh setup token (older ones stop working) and
/// returns it; the caller prints the link.
pub async fn issue_if_needed(state: &AppState) -> ServiceResult<Option<String>> {
    if users::count(&state.db).await? > 0 {
        return Ok(None);
    }
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM setup_tokens")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(hash_secret(&token))
    .bind(now)
    .bind(now + SETUP_TTL_MS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(token))
}

/// Is this token good for setting up (unused, unexpired, and still no users)?
pub async fn token_valid(state: &AppState, token: &str) -> ServiceResult<bool> {
    if users::count(&state.db).await? > 0 {
        return Ok(false);
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(hash_secret(token))
    .bind(now_ms())
    .fetch_one(&state.db.pool)
    .await?;
    Ok(n > 0)
}

fn spent_or_unknown() -> ServiceError {
    ServiceError::invalid(
        "token",
        "this setup link is used, expired or no longer needed; restart Berth for a new one",
    )
}

/// Checks the token, then spends it and creates the first admin in one transaction.
pub async fn complete(
    state: &AppState,
    ctx: &Ctx,
    token: &str,
    username: &str,
    pass: &str,
) -> ServiceResult<UserView> {
    // The token first: a wrong link costs one query, never a password hash.
    if !token_valid(state, token).await? {
        return Err(spent_or_unknown());
    }
    let username = validate::username(username)?;
    validate::password(pass)?;
    let hash = password::hash(pass.to_string()).await?;
    let mut tx = state.db.begin_write().await?;
    let spent = sqlx::query(
        "UPDATE setup_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now_ms())
    .bind(hash_secret(token))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *tx)
        .await?;
    if spent == 0 || existing > 0 {
        return Err(spent_or_unknown());
    }
    let id = users::insert(&mut tx, &username, &hash, InstanceRole::Admin).await?;
    let actor_ctx = Ctx::new(
        Actor::User(super::context::AuthUser {
            id,
            username: username.clone(),
            instance_role: InstanceRole::Admin,
        }),
        ctx.meta.clone(),
    );
    audit::append(
        &mut tx,
        &actor_ctx,
        NewEvent::new("setup.complete", format!("user:{username}"))
            .summary(json!({ "username": username, "instance_role": "admin" })),
    )
    .await?;
    tx.commit().await?;
    users::find_by_id(&state.db, id)
        .await?
        .map(|u| u.view())
        .ok_or_else(|| ServiceError::NotFound("user".into()))
}
