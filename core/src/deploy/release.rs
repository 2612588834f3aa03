//! Releases: recorded (immutable, audited) before the switch, marked current after it, and
//! the images of releases no longer kept removed from the engine.
use super::super::{now_ms, AppState};
use super::log::DeployLog;
use super::plan::EnvInfo;
use super::store::{self, DeployRow, Plan, Release};
use engine::Engine;
use std::collections::BTreeMap;

pub async fn config_version(state: &AppState, env_id: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT COALESCE(MAX(number), 0) FROM config_versions WHERE environment_id = $1",
    )
    .bind(env_id)
    .fetch_one(&state.db.pool)
    .await
    .unwrap_or(0)
}

/// Records an immutable release and links the deploy to it. Image references are stored
/// through the deploy's redactor: one written with `${SECRET}` (a registry token in the
/// path) must not be kept or answered in clear.
pub async fn create_release(
    log: &DeployLog,
    row: &DeployRow,
    env: &EnvInfo,
    plan: &Plan,
    version: i64,
) -> Result<Release, super::super::ServiceError> {
    let mut stored = plan.clone();
    for image in stored.images.values_mut() {
        image.reference = log.redact(&image.reference);
    }
    let mut tx = log.db().begin_write().await?;
    let number: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM releases WHERE environment_id = $1",
    )
    .bind(env.id)
    .fetch_one(&mut *tx)
    .await?;
    let body = serde_json::to_string(&stored)
        .map_err(|e| super::super::ServiceError::Internal(e.to_string()))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO releases (environment_id, number, config_version, plan, git_sha, reason, trigger_kind, actor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(env.id)
    .bind(number)
    .bind(version)
    .bind(&body)
    .bind(&row.params.git_sha)
    .bind(&row.params.reason)
    .bind(&row.trigger)
    .bind(&row.actor)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("UPDATE deploys SET release_id = $1 WHERE id = $2")
        .bind(id)
        .bind(row.id)
        .execute(&mut *tx)
        .await?;
    super::super::audit::append(
        &mut tx,
        &super::super::Ctx::system(),
        super::super::audit::NewEvent::new(
            "release.create",
            format!("project:{}/env:{}/release:{number}", env.project, env.slug),
        )
        .project(env.project_id)
        .summary(serde_json::json!({
            "deploy": row.id,
            "config_version": version,
            "requested_by": row.actor,
            "images": plan.images.iter().map(|(s, i)| (s.clone(), i.id.clone())).collect::<BTreeMap<_, _>>(),
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(Release {
        id,
        environment_id: env.id,
        number,
        plan: plan.clone(),
    })
}

pub async fn mark_current(
    state: &AppState,
    env: &EnvInfo,
    release: &Release,
) -> Result<(), super::super::ServiceError> {
    let mut tx = state.db.begin_write().await?;
    store::ensure_runtime(&mut tx, env.id).await?;
    let now = now_ms();
    sqlx::query(
        "UPDATE environment_runtime SET current_release_id = $1, updated_at = $2 WHERE environment_id = $3",
    )
    .bind(release.id)
    .bind(now)
    .bind(env.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE releases SET deployed_at = $1 WHERE id = $2")
        .bind(now)
        .bind(release.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes the images of releases no longer kept (not the ones a kept release uses).
pub async fn prune_images(
    state: &AppState,
    engine: &Engine,
    env: &EnvInfo,
    keep: u32,
    log: &DeployLog,
) {
    let Ok(kept) = store::kept_release_ids(&state.db, env.id, i64::from(keep)).await else {
        return;
    };
    let Ok(rows) = sqlx::query_scalar::<_, i64>(
        "SELECT id FROM releases WHERE environment_id = $1 AND deployed_at IS NOT NULL",
    )
    .bind(env.id)
    .fetch_all(&state.db.pool)
    .await
    else {
        return;
    };
    let mut keep_images = std::collections::BTreeSet::new();
    let mut drop_images = std::collections::BTreeSet::new();
    for id in rows {
        let Ok(r) = store::release(&state.db, id).await else {
            continue;
        };
        for img in r.plan.images.values() {
            if kept.contains(&id) {
                keep_images.insert(img.id.clone());
            } else {
                drop_images.insert(img.id.clone());
            }
        }
    }
    for id in drop_images.difference(&keep_images) {
        match engine.remove_image(id).await {
            Ok(()) => log.info(format!(
                "removed image {id} (older than the last {keep} releases)"
            )),
            Err(engine::EngineError::NotFound(_)) => {}
            Err(e) => log.info(format!("kept image {id}: {e}")),
        }
    }
}
