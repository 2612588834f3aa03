//! Projects: a name and a slug for now; later issues hang environments and sites on them.
use super::audit::{self, NewEvent};
use super::authz::{authorize, Action, ProjectRef};
use super::context::Ctx;
use super::error::{ServiceError, ServiceResult};
use super::memo::ProjectRow;
use super::{now_ms, validate, AppState};
use berth_model::{ProjectView, Role};
use serde_json::json;
use sqlx::Row;

/// Looks a project up by slug for a caller who may read it.
pub async fn resolve(state: &AppState, ctx: &Ctx, slug: &str) -> ServiceResult<ProjectRef> {
    Ok(resolve_row(state, ctx, slug).await?.0)
}

/// [`resolve`], with the project's row as the request's memo has it.
async fn resolve_row(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
) -> ServiceResult<(ProjectRef, ProjectRow)> {
    let find = || async {
        let row = sqlx::query("SELECT id, slug, name, created_at FROM projects WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&state.db.pool)
            .await?;
        match row {
            Some(r) => Ok(ProjectRow {
                id: r.try_get(0)?,
                slug: r.try_get(1)?,
                name: r.try_get(2)?,
                created_at: r.try_get(3)?,
            }),
            None if ctx.user().is_none() => Err(ServiceError::Unauthenticated),
            None => Err(ServiceError::NotFound("project".into())),
        }
    };
    let row = ctx.memo.project(slug, find).await?;
    let p = ProjectRef {
        id: row.id,
        slug: row.slug.clone(),
    };
    authorize(&state.db, ctx, Action::ReadProject, Some(&p)).await?;
    Ok((p, row))
}

fn view(row: &sqlx::any::AnyRow, my_role: Option<Role>) -> ServiceResult<ProjectView> {
    Ok(ProjectView {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        slug: row.try_get(2)?,
        created_at: row.try_get(3)?,
        my_role,
    })
}

pub async fn get(state: &AppState, ctx: &Ctx, slug: &str) -> ServiceResult<ProjectView> {
    let (p, row) = resolve_row(state, ctx, slug).await?;
    let me = ctx.user().ok_or(ServiceError::Unauthenticated)?;
    let role = if me.is_admin() {
        Some(Role::Admin)
    } else {
        super::authz::caller_role(&state.db, ctx, Some(&p)).await?
    };
    Ok(ProjectView {
        id: row.id,
        name: row.name,
        slug: row.slug,
        created_at: row.created_at,
        my_role: role,
    })
}

/// Projects the caller can see: all for instance admins, else their memberships.
pub async fn list(state: &AppState, ctx: &Ctx) -> ServiceResult<Vec<ProjectView>> {
    let me = ctx.user().ok_or(ServiceError::Unauthenticated)?;
    let rows = if me.is_admin() {
        sqlx::query(
            "SELECT p.id, p.name, p.slug, p.created_at, 'admin' FROM projects p ORDER BY p.slug",
        )
        .fetch_all(&state.db.pool)
        .await?
    } else {
        sqlx::query(
            "SELECT p.id, p.name, p.slug, p.created_at, m.role FROM projects p \
             JOIN memberships m ON m.project_id = p.id AND m.user_id = $1 ORDER BY p.slug",
        )
        .bind(me.id)
        .fetch_all(&state.db.pool)
        .await?
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let role: String = r.try_get(4)?;
        if let Ok(role) = role.parse::<Role>() {
            out.push(view(r, Some(role))?);
        }
    }
    Ok(out)
}

/// Ids of the projects whose audit events the caller may read (`None`: all).
pub async fn visible_ids(state: &AppState, ctx: &Ctx) -> ServiceResult<Option<Vec<i64>>> {
    let me = ctx.user().ok_or(ServiceError::Unauthenticated)?;
    if me.is_admin() {
        return Ok(None);
    }
    Ok(Some(
        list(state, ctx).await?.into_iter().map(|p| p.id).collect(),
    ))
}

pub async fn create(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    slug: &str,
) -> ServiceResult<ProjectView> {
    authorize(&state.db, ctx, Action::CreateProject, None).await?;
    let name = validate::name("name", name, 100)?;
    let slug = validate::slug("slug", slug)?;
    let mut tx = state.db.begin_write().await?;
    let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE slug = $1")
        .bind(&slug)
        .fetch_one(&mut *tx)
        .await?;
    if taken > 0 {
        return Err(ServiceError::invalid(
            "slug",
            "is already used by another project",
        ));
    }
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO projects (name, slug, created_at, created_by) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&name)
    .bind(&slug)
    .bind(now)
    .bind(ctx.user().map(|u| u.id))
    .fetch_one(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("project.create", format!("project:{slug}"))
            .project(id)
            .summary(json!({ "name": name, "slug": slug })),
    )
    .await?;
    tx.commit().await?;
    Ok(ProjectView {
        id,
        name,
        slug,
        created_at: now,
        my_role: Some(Role::Admin),
    })
}

pub async fn delete(state: &AppState, ctx: &Ctx, slug: &str) -> ServiceResult<()> {
    let p = resolve(state, ctx, slug).await?;
    authorize(&state.db, ctx, Action::DeleteProject, Some(&p)).await?;
    // Each environment's runtime goes first: nothing is left running unseen.
    let envs: Vec<i64> = sqlx::query_scalar("SELECT id FROM environments WHERE project_id = $1")
        .bind(p.id)
        .fetch_all(&state.db.pool)
        .await?;
    for env_id in envs {
        super::deploy::teardown::environment(state, env_id).await?;
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM memberships WHERE project_id = $1")
        .bind(p.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(p.id)
        .execute(&mut *tx)
        .await?;
    // The event keeps the slug in its target; the id no longer resolves.
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("project.delete", format!("project:{}", p.slug)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
