//! What a release pins, captured from the environment's configuration, and how a service of
//! a release becomes a container: its variables resolved (secrets opened at the last moment,
//! never stored in the release) and its image reference filled in.
use super::super::db::Db;
use super::super::error::{ServiceError, ServiceResult};
use super::super::secrets::SecretBox;
use super::store::{Plan, PlanVar};
use sqlx::Row;
use stack::interpolate::{self, Redactor, VarValue};
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

/// Masks every secret value (and every plain value that a secret was interpolated into is
/// covered too, since the secret itself is a needle).
pub fn redactor(secrets: &BTreeMap<String, String>) -> Redactor {
    interpolate::redactor(secrets.values().cloned())
}

/// What a deploy knows about its commit, for image tags and variables: `GIT_SHA`,
/// `GIT_SHORT_SHA` (7 characters) and `GIT_BRANCH` (the pushed branch, else the environment's).
pub fn git_variables(sha: &str, branch: &str) -> BTreeMap<String, String> {
    let mut extra = BTreeMap::new();
    if !sha.is_empty() {
        extra.insert("GIT_SHA".to_string(), sha.to_string());
        extra.insert(
            "GIT_SHORT_SHA".to_string(),
            sha.chars().take(7).collect::<String>(),
        );
    }
    if !branch.is_empty() {
        extra.insert("GIT_BRANCH".to_string(), branch.to_string());
    }
    extra
}

/// The variables of the whole environment resolved, with `extra` (e.g. `GIT_SHA`) as plain
/// values that win. Errors name variables, never values.
pub fn resolve_all(
    plan: &Plan,
    secrets: &BTreeMap<String, String>,
    extra: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut vars = BTreeMap::new();
    for (name, v) in &plan.variables {
        let value = if v.secret {
            match secrets.get(name) {
                Some(s) => VarValue::Secret(s.clone()),
                None => VarValue::Missing,
            }
        } else {
            match &v.value {
                Some(s) => VarValue::Plain(s.clone()),
                None => VarValue::Missing,
            }
        };
        vars.insert(name.clone(), value);
    }
    for (k, v) in extra {
        vars.insert(k.clone(), VarValue::Plain(interpolate::escape(v)));
    }
    interpolate::resolve(&vars).map_err(|errs| errs.iter().map(|e| e.to_string()).collect())
}

/// A service's container environment: the environment's variables, then the service's own
/// overrides (which may reference them).
pub fn service_env(
    spec: &ServiceSpec,
    resolved: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut out: BTreeMap<String, String> = resolved.clone();
    let mut errors = Vec::new();
    for (k, template) in &spec.env {
        match interpolate::substitute(template, |n| resolved.get(n).cloned()) {
            Some(v) => {
                out.insert(k.clone(), v);
            }
            None => errors.push(format!(
                "service `{}`: env {k}: references a variable that is not defined",
                spec.name
            )),
        }
    }
    if errors.is_empty() {
        Ok(out.into_iter().collect())
    } else {
        Err(errors)
    }
}

/// The service's image reference with `${NAME}` filled in (e.g. `app:${GIT_SHA}`).
pub fn image_reference(
    spec: &ServiceSpec,
    resolved: &BTreeMap<String, String>,
) -> Result<String, String> {
    let image =
        interpolate::substitute(&spec.image, |n| resolved.get(n).cloned()).ok_or_else(|| {
            format!(
                "service `{}`: image `{}` references a variable that is not defined",
                spec.name, spec.image
            )
        })?;
    if image.trim().is_empty() {
        return Err(format!("service `{}`: no image", spec.name));
    }
    Ok(image)
}

/// Registry credentials from the secrets `REGISTRY_USERNAME` / `REGISTRY_PASSWORD`
/// (and the plain or secret `REGISTRY_SERVER`), when set.
pub fn registry_auth(resolved: &BTreeMap<String, String>) -> Option<engine::RegistryAuth> {
    let username = resolved.get("REGISTRY_USERNAME")?.clone();
    let password = resolved.get("REGISTRY_PASSWORD")?.clone();
    Some(engine::RegistryAuth {
        server: resolved.get("REGISTRY_SERVER").cloned().unwrap_or_default(),
        username,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_variables_give_the_sha_its_short_form_and_the_branch() {
        let v = git_variables("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "main");
        assert_eq!(v["GIT_SHA"], "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
        assert_eq!(v["GIT_SHORT_SHA"], "0d1a26e");
        assert_eq!(v["GIT_BRANCH"], "main");
        let spec = ServiceSpec {
            name: "web".into(),
            image: "registry/app:${GIT_BRANCH}-${GIT_SHORT_SHA}".into(),
            ..Default::default()
        };
        assert_eq!(
            image_reference(&spec, &v).unwrap(),
            "registry/app:main-0d1a26e"
        );
        assert!(git_variables("", "").is_empty());
    }

    fn plan() -> Plan {
        let mut p = Plan::default();
        p.variables.insert(
            "DB_PASSWORD".into(),
            PlanVar {
                secret: true,
                value: None,
                version: 1,
            },
        );
        p.variables.insert(
            "DATABASE_URL".into(),
            PlanVar {
                secret: false,
                value: Some("postgres://app:${DB_PASSWORD}@db/app".into()),
                version: 1,
            },
        );
        p
    }

    #[test]
    fn secrets_resolve_into_plain_values_and_the_redactor_masks_them() {
        let secrets = BTreeMap::from([("DB_PASSWORD".to_string(), "s3cr3t-pw".to_string())]);
        let extra = BTreeMap::from([("GIT_SHA".to_string(), "abc123".to_string())]);
        let all = resolve_all(&plan(), &secrets, &extra).unwrap();
        assert_eq!(all["DATABASE_URL"], "postgres://app:s3cr3t-pw@db/app");
        let spec = ServiceSpec {
            name: "web".into(),
            image: "shop:${GIT_SHA}".into(),
            ..Default::default()
        };
        assert_eq!(image_reference(&spec, &all).unwrap(), "shop:abc123");
        let r = redactor(&secrets);
        assert!(!r.redact(&all["DATABASE_URL"]).contains("s3cr3t-pw"));
    }

    #[test]
    fn a_missing_secret_is_named_without_values() {
        let errs = resolve_all(&plan(), &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
        assert!(errs.iter().any(|e| e.contains("DB_PASSWORD")), "{errs:?}");
    }
}
