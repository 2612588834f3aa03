//! Project memberships: who has which role in a project.
use super::audit::{self, NewEvent};
use super::authz::{authorize, Action};
use super::context::Ctx;
use super::error::{ServiceError, ServiceResult};
use super::{now_ms, projects, users, AppState};
use berth_model::{MemberView, Role};
use serde_json::json;
use sqlx::Row;

pub async fn list(state: &AppState, ctx: &Ctx, project: &str) -> ServiceResult<Vec<MemberView>> {
    let p = projects::resolve(state, ctx, project).await?;
    let rows = sqlx::query(
        "SELECT u.id, u.username, m.role, m.created_at FROM memberships m \
         JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY u.username",
    )
    .bind(p.id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let role: String = r.try_get(2)?;
            Ok(MemberView {
                user_id: r.try_get(0)?,
                username: r.try_get(1)?,
                role: role.parse().map_err(ServiceError::Internal)?,
                added_at: r.try_get(3)?,
            })
        })
        .collect()
}

/// Adds a member or changes their role.
pub async fn set(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    username: &str,
    role: Role,
) -> ServiceResult<MemberView> {
    let p = projects::resolve(state, ctx, project).await?;
    authorize(&state.db, ctx, Action::ManageMembers, Some(&p)).await?;
    let user = users::find_by_name(&state.db, username)
        .await?
        .ok_or_else(|| ServiceError::invalid("username", "no such user"))?;
    let mut tx = state.db.begin_write().await?;
    let old: Option<String> =
        sqlx::query_scalar("SELECT role FROM memberships WHERE project_id = $1 AND user_id = $2")
            .bind(p.id)
            .bind(user.id)
            .fetch_optional(&mut *tx)
            .await?;
    let now = now_ms();
    if old.is_some() {
        sqlx::query("UPDATE memberships SET role = $1 WHERE project_id = $2 AND user_id = $3")
            .bind(role.as_str())
            .bind(p.id)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
    } else {
        sqlx::query(
            "INSERT INTO memberships (project_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(p.id)
        .bind(user.id)
        .bind(role.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(
            "member.set",
            format!("project:{}/user:{}", p.slug, user.username),
        )
        .project(p.id)
        .summary(json!({ "role": { "from": old, "to": role.as_str() } })),
    )
    .await?;
    tx.commit().await?;
    Ok(MemberView {
        user_id: user.id,
        username: user.username,
        role,
        added_at: now,
    })
}

pub async fn remove(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    username: &str,
) -> ServiceResult<()> {
    let p = projects::resolve(state, ctx, project).await?;
    authorize(&state.db, ctx, Action::ManageMembers, Some(&p)).await?;
    let user = users::find_by_name(&state.db, username)
        .await?
        .ok_or_else(|| ServiceError::NotFound("member".into()))?;
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query("DELETE FROM memberships WHERE project_id = $1 AND user_id = $2")
        .bind(p.id)
        .bind(user.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(ServiceError::NotFound("member".into()));
    }
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(
            "member.remove",
            format!("project:{}/user:{}", p.slug, user.username),
        )
        .project(p.id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
