//! Rows of the deploy engine: deploys, their steps and log lines, releases, and the
//! environment's current release. Plain reads and writes; no authorization here.
use super::super::db::{Db, Tx};
use super::super::error::{ServiceError, ServiceResult};
use super::super::now_ms;
use berth_model::{DeployLogLine, DeployStepView, DeployView, ReleaseImage, ReleaseView};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use stack::model::{DeploySettings, ProxySettings, ServiceSpec, SiteSpec};
use std::collections::BTreeMap;

/// Statuses a deploy can end in.
pub const FINISHED: [&str; 6] = [
    "succeeded",
    "failed",
    "rolled_back",
    "cancelled",
    "superseded",
    "interrupted",
];

/// What a deploy was asked to do, stored with it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Params {
    pub reason: String,
    pub git_sha: String,
    /// The branch the commit was pushed to (`${GIT_BRANCH}`; empty: the environment's).
    pub git_branch: String,
    /// `scale`: service → replicas.
    pub scale: BTreeMap<String, u32>,
    /// `restart`: the services to restart.
    pub services: Vec<String>,
}

/// Everything a release pins: what runs and how it is configured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Plan {
    pub services: Vec<ServiceSpec>,
    /// Effective variables: name → template (`None` for secrets, read at rollout).
    pub variables: BTreeMap<String, PlanVar>,
    pub sites: Vec<SiteSpec>,
    pub proxy: ProxySettings,
    /// Service → resolved image.
    pub images: BTreeMap<String, PlanImage>,
    /// The commit variables (`GIT_SHA`, `GIT_SHORT_SHA`, `GIT_BRANCH`) the release was made
    /// with: a rollback, redeploy or reconcile gives its containers the same values, so
    /// they keep their fingerprint and say which commit they run. Empty in releases made
    /// before it was kept (the deploy's own values are used then).
    pub git: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanVar {
    pub secret: bool,
    /// The plain value (a template with `${NAME}` references); `None` for secrets.
    pub value: Option<String>,
    /// The secret's version when the release was made.
    pub version: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanImage {
    pub reference: String,
    pub id: String,
    pub digest: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Release {
    pub id: i64,
    pub environment_id: i64,
    pub number: i64,
    pub plan: Plan,
}

/// A deploy row with what the runner needs.
#[derive(Clone, Debug)]
pub struct DeployRow {
    pub id: i64,
    pub environment_id: i64,
    pub kind: String,
    pub status: String,
    pub params: Params,
    pub release_id: Option<i64>,
    pub target_release_id: Option<i64>,
    pub actor: String,
    pub trigger: String,
}

const DEPLOY_COLS: &str = "d.id, p.slug, e.slug, d.kind, d.status, \
    (SELECT r.number FROM releases r WHERE r.id = d.release_id), \
    (SELECT r.number FROM releases r WHERE r.id = d.previous_release_id), \
    d.cause, d.params, d.actor, d.trigger_kind, d.cancel_requested, d.created_at, d.started_at, d.finished_at, \
    (SELECT COUNT(*) FROM deploys q WHERE q.environment_id = d.environment_id AND q.status = 'queued' AND q.id < d.id)";

const DEPLOY_FROM: &str =
    "deploys d JOIN environments e ON e.id = d.environment_id JOIN projects p ON p.id = e.project_id";

fn deploy_view(r: &sqlx::any::AnyRow) -> ServiceResult<DeployView> {
    let params: Params = serde_json::from_str(&r.try_get::<String, _>(8)?).unwrap_or_default();
    let status: String = r.try_get(4)?;
    let ahead: i64 = r.try_get(15)?;
    Ok(DeployView {
        id: r.try_get(0)?,
        project: r.try_get(1)?,
        environment: r.try_get(2)?,
        kind: r.try_get(3)?,
        queue_position: (status == "queued").then_some(ahead),
        status,
        release: r.try_get(5)?,
        previous_release: r.try_get(6)?,
        cause: r.try_get(7)?,
        reason: params.reason,
        git_sha: params.git_sha,
        actor: r.try_get(9)?,
        trigger: r.try_get(10)?,
        cancel_requested: r.try_get::<i64, _>(11)? != 0,
        created_at: r.try_get(12)?,
        started_at: r.try_get(13)?,
        finished_at: r.try_get(14)?,
    })
}

pub async fn deploy_view_by_id(db: &Db, id: i64) -> ServiceResult<DeployView> {
    let sql = format!("SELECT {DEPLOY_COLS} FROM {DEPLOY_FROM} WHERE d.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| ServiceError::NotFound("deploy".into()))?;
    deploy_view(&row)
}

/// Newest first; `before` pages back (deploys with a smaller id).
pub async fn list_deploys(
    db: &Db,
    env_id: i64,
    limit: i64,
    before: Option<i64>,
) -> ServiceResult<Vec<DeployView>> {
    let sql = format!(
        "SELECT {DEPLOY_COLS} FROM {DEPLOY_FROM} WHERE d.environment_id = $1 AND d.id < $3 ORDER BY d.id DESC LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(env_id)
        .bind(limit)
        .bind(before.unwrap_or(i64::MAX))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(deploy_view).collect()
}

/// The environment and project of a deploy: (environment id, project id, project slug, env slug, protected).
pub async fn deploy_owner(db: &Db, id: i64) -> ServiceResult<(i64, String, String)> {
    let row = sqlx::query(
        "SELECT e.id, p.slug, e.slug FROM deploys d JOIN environments e ON e.id = d.environment_id \
         JOIN projects p ON p.id = e.project_id WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| ServiceError::NotFound("deploy".into()))?;
    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
}

pub async fn deploy_row(db: &Db, id: i64) -> ServiceResult<DeployRow> {
    let r = sqlx::query(
        "SELECT id, environment_id, kind, status, params, release_id, target_release_id, actor, trigger_kind \
         FROM deploys WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await?;
    Ok(DeployRow {
        id: r.try_get(0)?,
        environment_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        status: r.try_get(3)?,
        params: serde_json::from_str(&r.try_get::<String, _>(4)?).unwrap_or_default(),
        release_id: r.try_get(5)?,
        target_release_id: r.try_get(6)?,
        actor: r.try_get(7)?,
        trigger: r.try_get(8)?,
    })
}

/// Inserts a queued deploy inside the caller's transaction; returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn insert_deploy(
    tx: &mut Tx,
    env_id: i64,
    kind: &str,
    params: &Params,
    target_release_id: Option<i64>,
    actor: &str,
    actor_kind: &str,
    trigger: &str,
) -> ServiceResult<i64> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO deploys (environment_id, kind, status, params, target_release_id, actor, actor_kind, trigger_kind, created_at) \
         VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(env_id)
    .bind(kind)
    .bind(serde_json::to_string(params).unwrap_or_default())
    .bind(target_release_id)
    .bind(actor)
    .bind(actor_kind)
    .bind(trigger)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn steps(db: &Db, deploy_id: i64) -> ServiceResult<Vec<DeployStepView>> {
    let rows = sqlx::query(
        "SELECT position, name, status, detail, started_at, finished_at FROM deploy_steps \
         WHERE deploy_id = $1 ORDER BY position",
    )
    .bind(deploy_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeployStepView {
                position: r.try_get(0)?,
                name: r.try_get(1)?,
                status: r.try_get(2)?,
                detail: r.try_get(3)?,
                started_at: r.try_get(4)?,
                finished_at: r.try_get(5)?,
            })
        })
        .collect()
}

pub async fn log_lines(
    db: &Db,
    deploy_id: i64,
    after_seq: i64,
    limit: i64,
) -> ServiceResult<Vec<DeployLogLine>> {
    let rows = sqlx::query(
        "SELECT seq, step, ts, stream, line FROM deploy_logs WHERE deploy_id = $1 AND seq > $2 \
         ORDER BY seq LIMIT $3",
    )
    .bind(deploy_id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeployLogLine {
                seq: r.try_get(0)?,
                step: r.try_get(1)?,
                ts: r.try_get(2)?,
                stream: r.try_get(3)?,
                line: r.try_get(4)?,
            })
        })
        .collect()
}

pub async fn settings(db: &Db, env_id: i64) -> ServiceResult<DeploySettings> {
    let raw: Option<String> =
        sqlx::query_scalar("SELECT settings FROM environment_runtime WHERE environment_id = $1")
            .bind(env_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(raw
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

/// Creates the runtime row when missing (inside the caller's transaction).
pub async fn ensure_runtime(tx: &mut Tx, env_id: i64) -> ServiceResult<()> {
    let have: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM environment_runtime WHERE environment_id = $1")
            .bind(env_id)
            .fetch_one(&mut **tx)
            .await?;
    if have == 0 {
        sqlx::query(
            "INSERT INTO environment_runtime (environment_id, settings, updated_at) VALUES ($1, '{}', $2)",
        )
        .bind(env_id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// An environment's deploy settings and current release, in one read.
pub async fn runtime(db: &Db, env_id: i64) -> ServiceResult<(DeploySettings, Option<i64>)> {
    let row = sqlx::query(
        "SELECT settings, current_release_id FROM environment_runtime WHERE environment_id = $1",
    )
    .bind(env_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok((DeploySettings::default(), None));
    };
    let raw: String = row.try_get(0)?;
    Ok((
        serde_json::from_str(&raw).unwrap_or_default(),
        row.try_get(1)?,
    ))
}

pub async fn current_release_id(db: &Db, env_id: i64) -> ServiceResult<Option<i64>> {
    let id: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT current_release_id FROM environment_runtime WHERE environment_id = $1",
    )
    .bind(env_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(id.flatten())
}

pub async fn release(db: &Db, id: i64) -> ServiceResult<Release> {
    let r = sqlx::query("SELECT id, environment_id, number, plan FROM releases WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| ServiceError::NotFound("release".into()))?;
    Ok(Release {
        id: r.try_get(0)?,
        environment_id: r.try_get(1)?,
        number: r.try_get(2)?,
        plan: serde_json::from_str(&r.try_get::<String, _>(3)?)
            .map_err(|e| ServiceError::Internal(format!("release plan: {e}")))?,
    })
}

pub async fn release_id_by_number(db: &Db, env_id: i64, number: i64) -> ServiceResult<i64> {
    sqlx::query_scalar("SELECT id FROM releases WHERE environment_id = $1 AND number = $2")
        .bind(env_id)
        .bind(number)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("release {number}")))
}

/// Releases newest first, with which is current and whose images are kept; `runtime` is the
/// environment's as [`runtime`] reads it.
pub async fn releases(
    db: &Db,
    env_id: i64,
    (settings, current): (DeploySettings, Option<i64>),
    limit: i64,
) -> ServiceResult<Vec<ReleaseView>> {
    let keep = i64::from(settings.keep_releases.max(1));
    let kept = kept_given(db, env_id, current, keep).await?;
    let rows = sqlx::query(
        "SELECT id, number, config_version, plan, git_sha, reason, trigger_kind, actor, created_at, deployed_at \
         FROM releases WHERE environment_id = $1 ORDER BY number DESC LIMIT $2",
    )
    .bind(env_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get(0)?;
            let plan: Plan = serde_json::from_str(&r.try_get::<String, _>(3)?).unwrap_or_default();
            let images = plan
                .services
                .iter()
                .map(|s| {
                    let img = plan.images.get(&s.name).cloned().unwrap_or_default();
                    ReleaseImage {
                        service: s.name.clone(),
                        reference: img.reference,
                        id: img.id,
                        digest: img.digest,
                        replicas: s.replicas,
                    }
                })
                .collect();
            Ok(ReleaseView {
                number: r.try_get(1)?,
                config_version: r.try_get(2)?,
                images,
                git_sha: r.try_get(4)?,
                reason: r.try_get(5)?,
                trigger: r.try_get(6)?,
                actor: r.try_get(7)?,
                created_at: r.try_get(8)?,
                deployed_at: r.try_get(9)?,
                current: current == Some(id),
                kept: kept.contains(&id),
            })
        })
        .collect()
}

/// The releases whose images are kept: the current one and the newest `keep - 1` others
/// that were ever deployed.
pub async fn kept_release_ids(db: &Db, env_id: i64, keep: i64) -> ServiceResult<Vec<i64>> {
    let current = current_release_id(db, env_id).await?;
    kept_given(db, env_id, current, keep).await
}

/// [`kept_release_ids`] when the current release is known.
async fn kept_given(
    db: &Db,
    env_id: i64,
    current: Option<i64>,
    keep: i64,
) -> ServiceResult<Vec<i64>> {
    let mut ids: Vec<i64> = current.into_iter().collect();
    let deployed: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM releases WHERE environment_id = $1 AND deployed_at IS NOT NULL ORDER BY deployed_at DESC",
    )
    .bind(env_id)
    .fetch_all(&db.pool)
    .await?;
    for id in deployed {
        if ids.len() as i64 >= keep {
            break;
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}
