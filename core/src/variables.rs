//! Variables and secrets at project and environment level. Secret values are sealed with
//! the master key before they reach the database and are never returned by reads; only an
//! admin's audited reveal opens one.
use super::audit::{self, NewEvent};
use super::authz::{authorize, Action, ProjectRef};
use super::context::Ctx;
use super::environments::{self, EnvRef};
use super::error::{ServiceError, ServiceResult};
use super::{now_ms, projects, versions, AppState};
use berth_model::VariableView;
use serde_json::json;
use sqlx::Row as _;

pub const MAX_VALUE_BYTES: usize = 64 * 1024;

pub fn check_name(raw: &str) -> ServiceResult<String> {
    let n = raw.trim();
    let ok = !n.is_empty()
        && n.len() <= 128
        && n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(ServiceError::invalid(
            "name",
            "use letters, digits and '_', not starting with a digit (at most 128)",
        ));
    }
    Ok(n.to_string())
}

/// Where a variable lives.
pub enum Scope<'a> {
    Project(&'a str),
    Environment(&'a str, &'a str),
}

struct Target {
    project: ProjectRef,
    env: Option<EnvRef>,
}

impl Target {
    fn env_id(&self) -> i64 {
        self.env.as_ref().map_or(0, |e| e.id)
    }
    fn scope_name(&self) -> String {
        self.env
            .as_ref()
            .map_or_else(|| "project".to_string(), |e| e.slug.clone())
    }
    fn label(&self, name: &str) -> String {
        match &self.env {
            Some(e) => format!("project:{}/env:{}/var:{name}", self.project.slug, e.slug),
            None => format!("project:{}/var:{name}", self.project.slug),
        }
    }
    fn aad(&self, name: &str) -> String {
        super::secrets::aad(
            &self.project.slug,
            self.env.as_ref().map(|e| e.slug.as_str()),
            name,
        )
    }
}

async fn target(state: &AppState, ctx: &Ctx, scope: &Scope<'_>) -> ServiceResult<Target> {
    Ok(match scope {
        Scope::Project(p) => Target {
            project: projects::resolve(state, ctx, p).await?,
            env: None,
        },
        Scope::Environment(p, e) => {
            let env = environments::resolve(state, ctx, p, e).await?;
            Target {
                project: env.project.clone(),
                env: Some(env),
            }
        }
    })
}

fn view(scope: &str, r: &sqlx::any::AnyRow) -> ServiceResult<VariableView> {
    let secret = r.try_get::<i64, _>(1)? != 0;
    let value: Option<String> = r.try_get(2)?;
    let sealed: Option<String> = r.try_get(3)?;
    Ok(VariableView {
        name: r.try_get(0)?,
        scope: scope.to_string(),
        secret,
        missing: if secret {
            sealed.is_none()
        } else {
            value.is_none()
        },
        value: if secret { None } else { value },
        version: r.try_get(4)?,
        updated_by: r.try_get(5)?,
        updated_at: r.try_get(6)?,
    })
}

const COLS: &str = "name, is_secret, value, sealed, version, updated_by, updated_at";

pub async fn list(
    state: &AppState,
    ctx: &Ctx,
    scope: Scope<'_>,
) -> ServiceResult<Vec<VariableView>> {
    let t = target(state, ctx, &scope).await?;
    let sql = format!(
        "SELECT {COLS} FROM variables WHERE project_id = $1 AND environment_id = $2 ORDER BY name"
    );
    let rows = sqlx::query(&sql)
        .bind(t.project.id)
        .bind(t.env_id())
        .fetch_all(&state.db.pool)
        .await?;
    rows.iter().map(|r| view(&t.scope_name(), r)).collect()
}

/// Sets a variable or secret. `value: None` records it as required but missing (deploys
/// refuse to start until it is set).
pub async fn set(
    state: &AppState,
    ctx: &Ctx,
    scope: Scope<'_>,
    name: &str,
    value: Option<&str>,
    secret: bool,
) -> ServiceResult<VariableView> {
    let t = target(state, ctx, &scope).await?;
    let name = check_name(name)?;
    if let Some(v) = value {
        if v.len() > MAX_VALUE_BYTES {
            return Err(ServiceError::invalid(
                "value",
                format!("must be at most {MAX_VALUE_BYTES} bytes"),
            ));
        }
        if v.contains('\0') {
            return Err(ServiceError::invalid(
                "value",
                "must not contain NUL characters",
            ));
        }
        // A secret is taken verbatim (never scanned for references), so no error can ever
        // quote a piece of it.
        if !secret {
            if let Err(e) = super::secrets::check_references(v) {
                return Err(ServiceError::invalid("value", e));
            }
        }
    }
    let existing = sqlx::query(
        "SELECT is_secret, version FROM variables WHERE project_id = $1 AND environment_id = $2 AND name = $3",
    )
    .bind(t.project.id)
    .bind(t.env_id())
    .bind(&name)
    .fetch_optional(&state.db.pool)
    .await?;
    let was_secret = match &existing {
        Some(r) => r.try_get::<i64, _>(0)? != 0,
        None => false,
    };
    let action = if secret || was_secret {
        Action::WriteSecret
    } else {
        Action::EditConfig
    };
    authorize(&state.db, ctx, action, Some(&t.project)).await?;
    let (plain, sealed, key_id) = match (secret, value) {
        (true, Some(v)) => {
            let (sealed, key_id) = state.secrets.seal(&t.aad(&name), v)?;
            (None, Some(sealed), Some(key_id))
        }
        (true, None) => (None, None, None),
        (false, v) => (v.map(str::to_string), None, None),
    };
    let now = now_ms();
    let actor = ctx.actor.name();
    let mut tx = state.db.begin_write().await?;
    let version = match &existing {
        Some(r) => r.try_get::<i64, _>(1)? + 1,
        None => 1,
    };
    write_in(
        &mut tx,
        Row {
            project_id: t.project.id,
            env_id: t.env_id(),
            name: &name,
            secret,
            plain: plain.as_deref(),
            sealed: sealed.as_deref(),
            key_id: key_id.as_deref(),
            version,
            actor: &actor,
            now,
        },
        existing.is_some(),
    )
    .await?;
    let envs = match &t.env {
        Some(e) => vec![e.id],
        None => versions::project_envs(&mut tx, t.project.id).await?,
    };
    for env_id in &envs {
        super::secrets::check_environment(&mut tx, *env_id).await?;
    }
    versions::record(&mut tx, ctx, &envs, &format!("set {name}")).await?;
    let summary = if secret {
        json!({ "name": name, "scope": t.scope_name(), "secret": true, "version": version, "missing": value.is_none() })
    } else {
        json!({ "name": name, "scope": t.scope_name(), "secret": false, "version": version, "value": value.map(|v| v.chars().take(200).collect::<String>()) })
    };
    let event = if secret { "secret.set" } else { "variable.set" };
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(event, t.label(&name))
            .project(t.project.id)
            .summary(summary),
    )
    .await?;
    tx.commit().await?;
    // Scrapes mask the environments' secret values: they read them again now.
    state.metrics.secrets_changed();
    Ok(VariableView {
        name,
        scope: t.scope_name(),
        secret,
        value: plain,
        missing: value.is_none(),
        version,
        updated_by: actor,
        updated_at: now,
    })
}

pub async fn delete(
    state: &AppState,
    ctx: &Ctx,
    scope: Scope<'_>,
    name: &str,
) -> ServiceResult<()> {
    let t = target(state, ctx, &scope).await?;
    let secret: Option<i64> = sqlx::query_scalar(
        "SELECT is_secret FROM variables WHERE project_id = $1 AND environment_id = $2 AND name = $3",
    )
    .bind(t.project.id)
    .bind(t.env_id())
    .bind(name)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(secret) = secret else {
        return Err(ServiceError::NotFound("variable".into()));
    };
    let action = if secret != 0 {
        Action::WriteSecret
    } else {
        Action::EditConfig
    };
    authorize(&state.db, ctx, action, Some(&t.project)).await?;
    let mut tx = state.db.begin_write().await?;
    super::secrets::history::remember_in(&mut tx, t.project.id, t.env_id(), name, now_ms()).await?;
    sqlx::query(
        "DELETE FROM variables WHERE project_id = $1 AND environment_id = $2 AND name = $3",
    )
    .bind(t.project.id)
    .bind(t.env_id())
    .bind(name)
    .execute(&mut *tx)
    .await?;
    let envs = match &t.env {
        Some(e) => vec![e.id],
        None => versions::project_envs(&mut tx, t.project.id).await?,
    };
    for env_id in &envs {
        super::secrets::check_environment(&mut tx, *env_id).await?;
    }
    versions::record(&mut tx, ctx, &envs, &format!("delete {name}")).await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("variable.delete", t.label(name)).project(t.project.id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An admin reads a secret's value; every reveal is audited.
pub async fn reveal(
    state: &AppState,
    ctx: &Ctx,
    scope: Scope<'_>,
    name: &str,
) -> ServiceResult<String> {
    let t = target(state, ctx, &scope).await?;
    authorize(&state.db, ctx, Action::RevealSecret, Some(&t.project)).await?;
    let row = sqlx::query(
        "SELECT is_secret, value, sealed FROM variables WHERE project_id = $1 AND environment_id = $2 AND name = $3",
    )
    .bind(t.project.id)
    .bind(t.env_id())
    .bind(name)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or_else(|| ServiceError::NotFound("variable".into()))?;
    let value = if row.try_get::<i64, _>(0)? != 0 {
        let sealed: Option<String> = row.try_get(2)?;
        let sealed =
            sealed.ok_or_else(|| ServiceError::invalid("name", "this secret has no value yet"))?;
        state.secrets.open(&t.aad(name), &sealed)?
    } else {
        row.try_get::<Option<String>, _>(1)?.unwrap_or_default()
    };
    audit::record(
        &state.db,
        ctx,
        NewEvent::new("secret.reveal", t.label(name)).project(t.project.id),
    )
    .await?;
    Ok(value)
}

/// One variable row to write.
pub(crate) struct Row<'a> {
    pub project_id: i64,
    pub env_id: i64,
    pub name: &'a str,
    pub secret: bool,
    pub plain: Option<&'a str>,
    pub sealed: Option<&'a str>,
    pub key_id: Option<&'a str>,
    pub version: i64,
    pub actor: &'a str,
    pub now: i64,
}

/// Inserts or updates one variable row inside the caller's transaction.
pub(crate) async fn write_in(
    tx: &mut super::db::Tx,
    r: Row<'_>,
    exists: bool,
) -> ServiceResult<()> {
    if exists {
        super::secrets::history::remember_in(tx, r.project_id, r.env_id, r.name, r.now).await?;
    }
    let sql = if exists {
        "UPDATE variables SET is_secret = $4, value = $5, sealed = $6, key_id = $7, version = $8, \
         updated_by = $9, updated_at = $10 WHERE project_id = $1 AND environment_id = $2 AND name = $3"
    } else {
        "INSERT INTO variables (project_id, environment_id, name, is_secret, value, sealed, key_id, \
         version, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    };
    sqlx::query(sql)
        .bind(r.project_id)
        .bind(r.env_id)
        .bind(r.name)
        .bind(i64::from(r.secret))
        .bind(r.plain)
        .bind(r.sealed)
        .bind(r.key_id)
        .bind(r.version)
        .bind(r.actor)
        .bind(r.now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
