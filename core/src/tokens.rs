//! API tokens: random secrets shown once, stored as SHA-256 hashes, scoped, expiring.
use super::audit::{self, NewEvent};
use super::authz::{authorize, Action};
use super::context::{Actor, AuthUser, Ctx, TokenInfo};
use super::db::Db;
use super::error::{ServiceError, ServiceResult};
use super::{now_ms, users, validate, AppState};
use berth_model::{CreatedToken, Scope, TokenView};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

pub const TOKEN_PREFIX: &str = "berth_";

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

fn view(r: &sqlx::any::AnyRow) -> ServiceResult<TokenView> {
    let scope: String = r.try_get(3)?;
    let revoked: Option<i64> = r.try_get(7)?;
    Ok(TokenView {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        prefix: r.try_get(2)?,
        scope: scope.parse().map_err(ServiceError::Internal)?,
        created_at: r.try_get(4)?,
        expires_at: r.try_get(5)?,
        last_used_at: r.try_get(6)?,
        revoked: revoked.is_some(),
    })
}

const COLS: &str = "id, name, prefix, scope, created_at, expires_at, last_used_at, revoked_at";

/// Creates a token for `username` (the caller themself, or anyone when the caller is the
/// CLI or an instance admin).
pub async fn create(
    state: &AppState,
    ctx: &Ctx,
    username: Option<&str>,
    name: &str,
    scope: Scope,
    expires_in: &str,
) -> ServiceResult<CreatedToken> {
    let me = ctx.user();
    let for_other =
        username.is_some_and(|u| me.is_none_or(|m| m.username != u.trim().to_ascii_lowercase()));
    let owner = if let (true, Some(u)) = (for_other, username) {
        authorize(&state.db, ctx, Action::ManageUsers, None).await?;
        users::find_by_name(&state.db, u)
            .await?
            .ok_or_else(|| ServiceError::invalid("username", "no such user"))?
            .auth()
    } else {
        let me = me.ok_or(ServiceError::Unauthenticated)?;
        authorize(&state.db, ctx, Action::ManageOwnTokens, None).await?;
        me.clone()
    };
    let name = validate::name("name", name, 64)?;
    let ttl = validate::duration_ms("expires_in", expires_in)?;
    let secret = new_secret();
    let prefix = secret[..TOKEN_PREFIX.len() + 6].to_string();
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    let dup: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE user_id = $1 AND name = $2")
            .bind(owner.id)
            .bind(&name)
            .fetch_one(&mut *tx)
            .await?;
    if dup > 0 {
        return Err(ServiceError::invalid(
            "name",
            "you already have a token with this name",
        ));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, prefix, token_hash, scope, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(owner.id)
    .bind(&name)
    .bind(&prefix)
    .bind(hash_secret(&secret))
    .bind(scope.as_str())
    .bind(now)
    .bind(ttl.map(|t| now + t))
    .fetch_one(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(
            "token.create",
            format!("user:{}/token:{name}", owner.username),
        )
        .summary(
            json!({ "name": name, "scope": scope.as_str(), "expires_at": ttl.map(|t| now + t) }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedToken {
        token: TokenView {
            id,
            name,
            prefix,
            scope,
            created_at: now,
            expires_at: ttl.map(|t| now + t),
            last_used_at: None,
            revoked: false,
        },
        secret,
    })
}

pub async fn list_own(state: &AppState, ctx: &Ctx) -> ServiceResult<Vec<TokenView>> {
    let me = ctx.user().ok_or(ServiceError::Unauthenticated)?;
    let sql = format!("SELECT {COLS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC");
    let rows = sqlx::query(&sql)
        .bind(me.id)
        .fetch_all(&state.db.pool)
        .await?;
    rows.iter().map(view).collect()
}

/// Revokes one of the caller's tokens (instance admins may revoke anyone's).
pub async fn revoke(state: &AppState, ctx: &Ctx, id: i64) -> ServiceResult<()> {
    let me = ctx.user().ok_or(ServiceError::Unauthenticated)?.clone();
    let row = sqlx::query(
        "SELECT t.user_id, t.name, u.username FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.id = $1 AND t.revoked_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(row) = row else {
        return Err(ServiceError::NotFound("token".into()));
    };
    let owner_id: i64 = row.try_get(0)?;
    let name: String = row.try_get(1)?;
    let owner: String = row.try_get(2)?;
    if owner_id == me.id {
        authorize(&state.db, ctx, Action::ManageOwnTokens, None).await?;
    } else {
        authorize(&state.db, ctx, Action::ManageUsers, None).await?;
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("token.revoke", format!("user:{owner}/token:{name}")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Resolves a bearer secret to its owner and scope; `None` if unknown, revoked, expired, or
/// its owner is disabled.
pub async fn authenticate(db: &Db, secret: &str) -> ServiceResult<Option<Actor>> {
    if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT t.id, t.name, t.scope, t.expires_at, t.last_used_at, u.id, u.username, \
         u.instance_role FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
    )
    .bind(hash_secret(secret))
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let now = now_ms();
    let expires: Option<i64> = r.try_get(3)?;
    if expires.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    let id: i64 = r.try_get(0)?;
    let last_used: Option<i64> = r.try_get(4)?;
    // Record use at most once a minute to keep reads cheap.
    if last_used.is_none_or(|t| now - t > 60_000) {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&db.pool)
            .await?;
    }
    let scope: String = r.try_get(2)?;
    let role: String = r.try_get(7)?;
    Ok(Some(Actor::Token(
        AuthUser {
            id: r.try_get(5)?,
            username: r.try_get(6)?,
            instance_role: role.parse().map_err(ServiceError::Internal)?,
        },
        TokenInfo {
            id,
            name: r.try_get(1)?,
            scope: scope.parse().map_err(ServiceError::Internal)?,
        },
    )))
}
