//! Users: creation, listing, disabling, password changes, and signing in.
use super::audit::{self, NewEvent, Outcome};
use super::authz::{authorize, Action};
use super::context::{AuthUser, Ctx};
use super::db::{Db, Tx};
use super::error::{ServiceError, ServiceResult};
use super::throttle::Verdict;
use super::{now_ms, password, validate, AppState};
use berth_model::{InstanceRole, UserView};
use serde_json::json;
use sqlx::Row;

/// Never serialized: the hash stays on the server.
#[derive(Clone)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub instance_role: InstanceRole,
    pub created_at: i64,
    pub password_changed_at: i64,
    pub disabled_at: Option<i64>,
}

impl UserRecord {
    pub fn auth(&self) -> AuthUser {
        AuthUser {
            id: self.id,
            username: self.username.clone(),
            instance_role: self.instance_role,
        }
    }
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id,
            username: self.username.clone(),
            instance_role: self.instance_role,
            created_at: self.created_at,
            disabled: self.disabled_at.is_some(),
        }
    }
}

const USER_COLS: &str =
    "id, username, password_hash, instance_role, created_at, password_changed_at, disabled_at";

fn record(row: &sqlx::any::AnyRow) -> ServiceResult<UserRecord> {
    let role: String = row.try_get(3)?;
    Ok(UserRecord {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        password_hash: row.try_get(2)?,
        instance_role: role.parse().map_err(ServiceError::Internal)?,
        created_at: row.try_get(4)?,
        password_changed_at: row.try_get(5)?,
        disabled_at: row.try_get(6)?,
    })
}

pub async fn find_by_name(db: &Db, username: &str) -> ServiceResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE username = $1");
    let row = sqlx::query(&sql)
        .bind(username.trim().to_ascii_lowercase())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(record).transpose()
}

pub async fn find_by_id(db: &Db, id: i64) -> ServiceResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&db.pool).await?;
    row.as_ref().map(record).transpose()
}

/// [`find_by_id`] for authenticating a request: answered from this process's recent reads
/// when no write to users or sessions happened since ([`super::auth_cache`]).
pub async fn find_for_session(db: &Db, id: i64) -> ServiceResult<Option<UserRecord>> {
    if let Some(u) = db.auth.user(id) {
        return Ok(Some(u));
    }
    let generation = db.auth.generation();
    let user = find_by_id(db, id).await?;
    if let Some(u) = &user {
        db.auth.put_user(generation, id, u.clone());
    }
    Ok(user)
}

pub async fn count(db: &Db) -> ServiceResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db.pool)
        .await?)
}

/// Inserts a user inside a write transaction; validates and hashes first.
pub(crate) async fn insert(
    tx: &mut Tx,
    username: &str,
    password_hash: &str,
    role: InstanceRole,
) -> ServiceResult<i64> {
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&mut **tx)
        .await?;
    if exists > 0 {
        return Err(ServiceError::invalid("username", "is already taken"));
    }
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, instance_role, created_at, updated_at, \
         password_changed_at) VALUES ($1, $2, $3, $4, $4, $4) RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn create(
    state: &AppState,
    ctx: &Ctx,
    username: &str,
    pass: &str,
    role: InstanceRole,
) -> ServiceResult<UserView> {
    authorize(&state.db, ctx, Action::ManageUsers, None).await?;
    let username = validate::username(username)?;
    validate::password(pass)?;
    let hash = password::hash(pass.to_string()).await?;
    let mut tx = state.db.begin_write().await?;
    let id = insert(&mut tx, &username, &hash, role).await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("user.create", format!("user:{username}"))
            .summary(json!({ "username": username, "instance_role": role.as_str() })),
    )
    .await?;
    tx.commit().await?;
    find_by_id(&state.db, id)
        .await?
        .map(|u| u.view())
        .ok_or_else(|| ServiceError::NotFound("user".into()))
}

/// Every user of the instance: instance admins only (the same right as managing them).
pub async fn list(state: &AppState, ctx: &Ctx) -> ServiceResult<Vec<UserView>> {
    authorize(&state.db, ctx, Action::ManageUsers, None).await?;
    let sql = format!("SELECT {USER_COLS} FROM users ORDER BY username");
    let rows = sqlx::query(&sql).fetch_all(&state.db.pool).await?;
    rows.iter().map(|r| record(r).map(|u| u.view())).collect()
}

/// Disables or re-enables a user. Disabling ends all their sessions and stops their tokens.
pub async fn set_disabled(
    state: &AppState,
    ctx: &Ctx,
    username: &str,
    disabled: bool,
) -> ServiceResult<UserView> {
    authorize(&state.db, ctx, Action::ManageUsers, None).await?;
    let user = find_by_name(&state.db, username)
        .await?
        .ok_or_else(|| ServiceError::NotFound("user".into()))?;
    if disabled && ctx.user().is_some_and(|u| u.id == user.id) {
        return Err(ServiceError::invalid(
            "username",
            "you cannot disable yourself",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE users SET disabled_at = $1, updated_at = $2 WHERE id = $3")
        .bind(if disabled { Some(now_ms()) } else { None })
        .bind(now_ms())
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    if disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
    }
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(action, format!("user:{}", user.username)),
    )
    .await?;
    tx.commit().await?;
    state.db.auth.changed();
    find_by_id(&state.db, user.id)
        .await?
        .map(|u| u.view())
        .ok_or_else(|| ServiceError::NotFound("user".into()))
}

/// Changes the caller's own password; every other session of theirs ends.
pub async fn change_password(
    state: &AppState,
    ctx: &Ctx,
    current: &str,
    new: &str,
    keep_session: Option<&str>,
) -> ServiceResult<()> {
    authorize(&state.db, ctx, Action::ChangeOwnPassword, None).await?;
    let me = ctx.user().ok_or(ServiceError::Unauthenticated)?;
    let user = find_by_id(&state.db, me.id)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    if !password::verify(current.to_string(), Some(user.password_hash.clone())).await? {
        audit::record(
            &state.db,
            ctx,
            NewEvent::new("user.password_change", format!("user:{}", user.username))
                .outcome(Outcome::Failure)
                .summary(json!({ "reason": "current password wrong" })),
        )
        .await?;
        return Err(ServiceError::invalid("current_password", "is not correct"));
    }
    validate::password(new).map_err(|_| {
        ServiceError::invalid(
            "new_password",
            format!("must be at least {} characters", validate::MIN_PASSWORD),
        )
    })?;
    let hash = password::hash(new.to_string()).await?;
    let mut tx = state.db.begin_write().await?;
    let now = now_ms();
    sqlx::query(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3",
    )
    .bind(&hash)
    .bind(now)
    .bind(user.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user.id)
        .bind(keep_session.unwrap_or(""))
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("user.password_change", format!("user:{}", user.username)),
    )
    .await?;
    tx.commit().await?;
    state.db.auth.changed();
    Ok(())
}

/// Checks a username and password, with throttling and a constant-cost path for unknown
/// users. Success and failure are both audited.
pub async fn login(
    state: &AppState,
    ctx: &Ctx,
    username: &str,
    pass: &str,
) -> ServiceResult<AuthUser> {
    let name = username.trim().to_ascii_lowercase();
    if name.is_empty() || name.len() > 64 {
        return Err(ServiceError::invalid("username", "is required"));
    }
    if pass.is_empty() || pass.len() > validate::MAX_PASSWORD {
        return Err(ServiceError::invalid("password", "is required"));
    }
    let addr = ctx.meta.client_addr.clone();
    // The attempt counts as a failure before the (costly) password check, so that a burst of
    // concurrent attempts is refused as soon as the first few are under way.
    match state.throttle.attempt(&name, &addr, now_ms()) {
        Verdict::Refuse { retry_after_secs } => {
            audit::record(
                &state.db,
                ctx,
                NewEvent::new("auth.login", format!("user:{name}"))
                    .outcome(Outcome::Denied)
                    .summary(json!({ "reason": "throttled" })),
            )
            .await?;
            return Err(ServiceError::RateLimited {
                retry_after: retry_after_secs,
            });
        }
        Verdict::Proceed { delay } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }
    let user = find_by_name(&state.db, &name).await?;
    let ok = password::verify(
        pass.to_string(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let user = match user {
        Some(u) if ok && u.disabled_at.is_none() => u,
        other => {
            let reason = match other {
                Some(u) if ok && u.disabled_at.is_some() => "disabled",
                _ => "bad credentials",
            };
            audit::record(
                &state.db,
                ctx,
                NewEvent::new("auth.login", format!("user:{name}"))
                    .outcome(Outcome::Failure)
                    .summary(json!({ "reason": reason })),
            )
            .await?;
            return Err(ServiceError::invalid(
                "password",
                "wrong username or password",
            ));
        }
    };
    state.throttle.record_success(&name, &addr);
    let auth = user.auth();
    let ctx = Ctx::new(super::context::Actor::User(auth.clone()), ctx.meta.clone());
    audit::record(
        &state.db,
        &ctx,
        NewEvent::new("auth.login", format!("user:{name}")),
    )
    .await?;
    Ok(auth)
}

/// Creates an instance admin or user from the shell (`berth admin create`).
pub async fn create_from_cli(
    state: &AppState,
    username: &str,
    pass: &str,
    role: InstanceRole,
) -> ServiceResult<UserView> {
    create(state, &Ctx::system(), username, pass, role).await
}
