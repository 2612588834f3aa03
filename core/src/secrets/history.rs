//! The sealed values secrets had before they were overwritten or deleted, kept so that the
//! logs of containers started with an old value still mask it.
use super::super::db::{Db, Tx};
use super::super::error::ServiceResult;
use super::SecretBox;
use sqlx::Row;

/// Values kept per secret name (and scope).
pub const KEPT: i64 = 5;

/// Keeps the current sealed value of this secret (if it is one and has a value) before the
/// caller overwrites or deletes it, in the caller's transaction; drops all but the last
/// [`KEPT`].
pub(crate) async fn remember_in(
    tx: &mut Tx,
    project_id: i64,
    env_id: i64,
    name: &str,
    now: i64,
) -> ServiceResult<()> {
    sqlx::query(
        "INSERT INTO secret_history (project_id, environment_id, name, sealed, key_id, replaced_at) \
         SELECT project_id, environment_id, name, sealed, COALESCE(key_id, ''), $4 FROM variables \
         WHERE project_id = $1 AND environment_id = $2 AND name = $3 AND is_secret = 1 AND sealed IS NOT NULL",
    )
    .bind(project_id)
    .bind(env_id)
    .bind(name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM secret_history WHERE project_id = $1 AND environment_id = $2 AND name = $3 \
         AND id NOT IN (SELECT id FROM secret_history WHERE project_id = $1 AND environment_id = $2 \
         AND name = $3 ORDER BY id DESC LIMIT $4)",
    )
    .bind(project_id)
    .bind(env_id)
    .bind(name)
    .bind(KEPT)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The earlier values of the secrets an environment sees (its own and the project's).
/// A value that cannot be opened is skipped: masking is best effort on top of today's values.
pub async fn earlier_values(
    db: &Db,
    secrets: &SecretBox,
    project_id: i64,
    project: &str,
    env_id: i64,
    env: &str,
) -> ServiceResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT name, environment_id, sealed FROM secret_history WHERE project_id = $1 \
         AND environment_id IN (0, $2) ORDER BY id",
    )
    .bind(project_id)
    .bind(env_id)
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let name: String = r.try_get(0)?;
        let scope_env = r.try_get::<i64, _>(1)? != 0;
        let sealed: String = r.try_get(2)?;
        let aad = super::aad(project, scope_env.then_some(env), &name);
        if let Ok(v) = secrets.open(&aad, &sealed) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Re-seals every kept value under the current key, in the caller's transaction.
pub(crate) async fn reseal_in(
    tx: &mut Tx,
    secrets: &SecretBox,
    key_id: &str,
) -> ServiceResult<usize> {
    // Values of environments or projects deleted since are of no use any more (and could not
    // be opened under their scope): drop them rather than fail the rotation.
    sqlx::query(
        "DELETE FROM secret_history WHERE project_id NOT IN (SELECT id FROM projects) \
         OR (environment_id <> 0 AND environment_id NOT IN (SELECT id FROM environments))",
    )
    .execute(&mut **tx)
    .await?;
    let rows = sqlx::query(
        "SELECT h.id, p.slug, COALESCE(e.slug, ''), h.name, h.sealed FROM secret_history h \
         JOIN projects p ON p.id = h.project_id LEFT JOIN environments e ON e.id = h.environment_id",
    )
    .fetch_all(&mut **tx)
    .await?;
    let n = rows.len();
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let project: String = r.try_get(1)?;
        let env: String = r.try_get(2)?;
        let name: String = r.try_get(3)?;
        let sealed: String = r.try_get(4)?;
        let aad = super::aad(&project, (!env.is_empty()).then_some(env.as_str()), &name);
        let fresh = secrets.reseal(&aad, &sealed)?;
        sqlx::query("UPDATE secret_history SET sealed = $1, key_id = $2 WHERE id = $3")
            .bind(&fresh)
            .bind(key_id)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(n)
}
