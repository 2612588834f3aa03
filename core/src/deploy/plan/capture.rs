//! Computing the plan: the environment as the engine needs it, its configuration captured
//! now, and the current values of the plan's secrets.
use super::super::store::{Plan, PlanVar};
use crate::db::Db;
use crate::error::{ServiceError, ServiceResult};
use crate::secrets::SecretBox;
use sqlx::Row;
use stack::model::{ServiceSpec, SiteSpec};
use std::collections::BTreeMap;

/// An environment as the engine needs it.
#[derive(Clone, Debug)]
pub struct EnvInfo {
    pub id: i64,
    pub project_id: i64,
    pub project: String,
    pub slug: String,
    pub protected: bool,
    pub docker_host: String,
    /// The branch whose pushes deploy it.
    pub branch: String,
}

pub async fn env_info(db: &Db, env_id: i64) -> ServiceResult<EnvInfo> {
    let r = sqlx::query(
        "SELECT e.id, e.project_id, p.slug, e.slug, e.protected, e.docker_host, e.branch FROM environments e \
         JOIN projects p ON p.id = e.project_id WHERE e.id = $1",
    )
    .bind(env_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| ServiceError::NotFound("environment".into()))?;
    Ok(EnvInfo {
        id: r.try_get(0)?,
        project_id: r.try_get(1)?,
        project: r.try_get(2)?,
        slug: r.try_get(3)?,
        protected: r.try_get::<i64, _>(4)? != 0,
        docker_host: r.try_get(5)?,
        branch: r.try_get(6)?,
    })
}

/// The environment's configuration now (without images): returns it and its version number.
pub async fn capture(db: &Db, env: &EnvInfo) -> ServiceResult<(Plan, i64)> {
    let proxy: String = sqlx::query_scalar("SELECT proxy FROM environments WHERE id = $1")
        .bind(env.id)
        .fetch_one(&db.pool)
        .await?;
    let mut services = Vec::new();
    for r in sqlx::query("SELECT spec FROM services WHERE environment_id = $1 ORDER BY name")
        .bind(env.id)
        .fetch_all(&db.pool)
        .await?
    {
        let spec: ServiceSpec = serde_json::from_str(&r.try_get::<String, _>(0)?)
            .map_err(|e| ServiceError::Internal(format!("service spec: {e}")))?;
        services.push(spec);
    }
    let mut sites = Vec::new();
    for r in sqlx::query("SELECT spec FROM sites WHERE project_id = $1 ORDER BY name")
        .bind(env.project_id)
        .fetch_all(&db.pool)
        .await?
    {
        let spec: SiteSpec = serde_json::from_str(&r.try_get::<String, _>(0)?)
            .map_err(|e| ServiceError::Internal(format!("site spec: {e}")))?;
        sites.push(spec);
    }
    let mut variables = BTreeMap::new();
    for r in sqlx::query(
        "SELECT name, is_secret, value, version, sealed FROM variables \
         WHERE project_id = $1 AND environment_id IN (0, $2) ORDER BY environment_id, name",
    )
    .bind(env.project_id)
    .bind(env.id)
    .fetch_all(&db.pool)
    .await?
    {
        let secret = r.try_get::<i64, _>(1)? != 0;
        let sealed: Option<String> = r.try_get(4)?;
        let value: Option<String> = r.try_get(2)?;
        variables.insert(
            r.try_get(0)?,
            PlanVar {
                secret,
                value: if secret { None } else { value },
                version: if secret && sealed.is_none() {
                    0
                } else {
                    r.try_get(3)?
                },
            },
        );
    }
    let version: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(number), 0) FROM config_versions WHERE environment_id = $1",
    )
    .bind(env.id)
    .fetch_one(&db.pool)
    .await?;
    Ok((
        Plan {
            services,
            variables,
            sites,
            proxy: serde_json::from_str(&proxy).unwrap_or_default(),
            images: BTreeMap::new(),
            git: BTreeMap::new(),
        },
        version,
    ))
}

/// The current values of the plan's secrets (environment wins over project). A secret with
/// no value is left out (resolution then reports it as required).
pub async fn open_secrets(
    db: &Db,
    secrets: &SecretBox,
    env: &EnvInfo,
    plan: &Plan,
) -> ServiceResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for r in sqlx::query(
        "SELECT name, environment_id, sealed FROM variables WHERE project_id = $1 \
         AND environment_id IN (0, $2) AND is_secret = 1 AND sealed IS NOT NULL ORDER BY environment_id",
    )
    .bind(env.project_id)
    .bind(env.id)
    .fetch_all(&db.pool)
    .await?
    {
        let name: String = r.try_get(0)?;
        if !plan.variables.get(&name).is_some_and(|v| v.secret) {
            continue;
        }
        let scope_env = r.try_get::<i64, _>(1)? != 0;
        let sealed: String = r.try_get(2)?;
        let aad = stack::seal::aad(&env.project, scope_env.then_some(env.slug.as_str()), &name);
        out.insert(name, secrets.open(&aad, &sealed)?);
    }
    Ok(out)
}
