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
use stack::reserved;
use std::collections::{BTreeMap, BTreeSet};

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

/// An environment's variables resolved for a deploy.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    /// Every variable (Berth's own included): for image references and registry login.
    pub all: BTreeMap<String, String>,
    /// Names whose value comes from a name Berth keeps for itself (`X=${REGISTRY_PASSWORD}`):
    /// withheld from containers like the reserved names themselves.
    pub withheld: BTreeSet<String>,
    /// Names that change with every deploy (`GIT_SHA`, `GIT_BRANCH`…): a service gets them
    /// only by naming them (its `inherit` list or a `${GIT_SHA}` in its env), so that a
    /// push does not change, and restart, every service that inherits all variables.
    pub per_deploy: BTreeSet<String>,
}

impl Resolved {
    /// Why `name` may not go into a container, if it may not.
    fn refusal(&self, name: &str) -> Option<String> {
        if reserved::is_reserved(name) {
            Some(format!("`{name}` is {}", reserved::RESERVED_NOTE))
        } else if self.withheld.contains(name) {
            Some(format!(
                "`{name}` takes its value from a variable {}",
                reserved::RESERVED_NOTE
            ))
        } else {
            None
        }
    }

    /// The value of an application variable (never a reserved or withheld one).
    fn app_value(&self, name: &str) -> Option<&String> {
        self.refusal(name).is_none().then(|| self.all.get(name))?
    }
}

/// The variables of the whole environment resolved, with `extra` (e.g. `GIT_SHA`) as plain
/// values that win. Errors name variables, never values.
pub fn resolve_all(
    plan: &Plan,
    secrets: &BTreeMap<String, String>,
    extra: &BTreeMap<String, String>,
) -> Result<Resolved, Vec<String>> {
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
    let all = interpolate::resolve(&vars)
        .map_err(|errs| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    Ok(Resolved {
        withheld: withheld(&vars),
        per_deploy: extra.keys().cloned().collect(),
        all,
    })
}

/// The plain variables that reference, directly or through others, a reserved name.
fn withheld(vars: &BTreeMap<String, VarValue>) -> BTreeSet<String> {
    let refs: BTreeMap<&str, Vec<String>> = vars
        .iter()
        .filter_map(|(n, v)| match v {
            VarValue::Plain(t) => Some((n.as_str(), interpolate::references(t))),
            _ => None,
        })
        .collect();
    let mut out = BTreeSet::new();
    loop {
        let before = out.len();
        for (name, r) in &refs {
            if !reserved::is_reserved(name)
                && r.iter()
                    .any(|x| reserved::is_reserved(x) || out.contains(x.as_str()))
            {
                out.insert(name.to_string());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// A service's container environment: the application variables it inherits (all, or the
/// names it lists), then its own overrides (whose `${NAME}` references are grants). Names
/// Berth keeps for itself never get in: inheriting skips them, naming or referencing one is
/// an error.
pub fn service_env(
    spec: &ServiceSpec,
    resolved: &Resolved,
) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut errors = Vec::new();
    let service = &spec.name;
    match &spec.inherit {
        None => {
            for (k, v) in &resolved.all {
                if resolved.refusal(k).is_none() && !resolved.per_deploy.contains(k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Some(names) => {
            for name in names {
                if let Some(why) = resolved.refusal(name) {
                    errors.push(format!("service `{service}`: inherits {why}"));
                } else if let Some(v) = resolved.all.get(name) {
                    out.insert(name.clone(), v.clone());
                } else {
                    errors.push(format!(
                        "service `{service}`: inherits `{name}`, which is not defined"
                    ));
                }
            }
        }
    }
    for (k, template) in &spec.env {
        if reserved::is_reserved(k) {
            errors.push(format!(
                "service `{service}`: env {k}: the name is {}",
                reserved::RESERVED_NOTE
            ));
            continue;
        }
        let refused: Vec<String> = interpolate::references(template)
            .iter()
            .filter_map(|n| resolved.refusal(n))
            .collect();
        if !refused.is_empty() {
            errors.push(format!(
                "service `{service}`: env {k}: {}",
                refused.join("; ")
            ));
            continue;
        }
        match interpolate::substitute(template, |n| resolved.app_value(n).cloned()) {
            Some(v) => {
                out.insert(k.clone(), v);
            }
            None => errors.push(format!(
                "service `{service}`: env {k}: references a variable that is not defined"
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
pub fn image_reference(spec: &ServiceSpec, resolved: &Resolved) -> Result<String, String> {
    // An image reference leaves Berth (it names a registry to pull from): Berth's own values
    // may not go into it, only the registry's address.
    if let Some(why) = interpolate::references(&spec.image)
        .iter()
        .filter(|n| n.as_str() != "REGISTRY_SERVER")
        .find_map(|n| resolved.refusal(n))
    {
        return Err(format!("service `{}`: image: {why}", spec.name));
    }
    let image = interpolate::substitute(&spec.image, |n| resolved.all.get(n).cloned()).ok_or_else(
        || {
            format!(
                "service `{}`: image `{}` references a variable that is not defined",
                spec.name, spec.image
            )
        },
    )?;
    if image.trim().is_empty() {
        return Err(format!("service `{}`: no image", spec.name));
    }
    Ok(image)
}

/// Registry credentials from the secrets `REGISTRY_USERNAME` / `REGISTRY_PASSWORD`
/// (and the plain or secret `REGISTRY_SERVER`), when set.
pub fn registry_auth(resolved: &Resolved) -> Option<engine::RegistryAuth> {
    let resolved = &resolved.all;
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
            image_reference(
                &spec,
                &Resolved {
                    all: v.clone(),
                    ..Default::default()
                }
            )
            .unwrap(),
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
        assert_eq!(all.all["DATABASE_URL"], "postgres://app:s3cr3t-pw@db/app");
        let spec = ServiceSpec {
            name: "web".into(),
            image: "shop:${GIT_SHA}".into(),
            ..Default::default()
        };
        assert_eq!(image_reference(&spec, &all).unwrap(), "shop:abc123");
        let r = redactor(&secrets);
        assert!(!r.redact(&all.all["DATABASE_URL"]).contains("s3cr3t-pw"));
    }

    #[test]
    fn a_missing_secret_is_named_without_values() {
        let errs = resolve_all(&plan(), &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
        assert!(errs.iter().any(|e| e.contains("DB_PASSWORD")), "{errs:?}");
    }

    fn world() -> Resolved {
        let mut p = plan();
        for (name, secret, value) in [
            ("REGISTRY_PASSWORD", true, None),
            ("BERTH_SMTP_PASSWORD", true, None),
            ("PULL_AUTH", false, Some("user:${REGISTRY_PASSWORD}")),
            ("PULL_AUTH_B64", false, Some("x${PULL_AUTH}")),
            ("API_KEY", true, None),
            ("SITE_NAME", false, Some("shop")),
        ] {
            p.variables.insert(
                name.into(),
                PlanVar {
                    secret,
                    value: value.map(String::from),
                    version: 1,
                },
            );
        }
        let secrets = BTreeMap::from([
            ("DB_PASSWORD".to_string(), "s3cr3t-pw".to_string()),
            (
                "REGISTRY_PASSWORD".to_string(),
                "registry-pw-123".to_string(),
            ),
            ("BERTH_SMTP_PASSWORD".to_string(), "smtp-pw-456".to_string()),
            ("API_KEY".to_string(), "api-key-789".to_string()),
        ]);
        resolve_all(&p, &secrets, &BTreeMap::new()).unwrap()
    }

    fn env_of(spec: &ServiceSpec) -> Result<BTreeMap<String, String>, Vec<String>> {
        service_env(spec, &world()).map(|v| v.into_iter().collect())
    }

    #[test]
    fn inheriting_everything_leaves_out_berths_own_names_and_what_is_made_of_them() {
        let env = env_of(&ServiceSpec {
            name: "web".into(),
            ..Default::default()
        })
        .unwrap();
        for gone in [
            "REGISTRY_PASSWORD",
            "BERTH_SMTP_PASSWORD",
            "PULL_AUTH",
            "PULL_AUTH_B64",
        ] {
            assert!(!env.contains_key(gone), "{gone} reached the container");
        }
        let all = env.values().cloned().collect::<Vec<_>>().join("\n");
        assert!(!all.contains("registry-pw-123") && !all.contains("smtp-pw-456"));
        assert_eq!(env["API_KEY"], "api-key-789");
        assert_eq!(env["DATABASE_URL"], "postgres://app:s3cr3t-pw@db/app");
    }

    #[test]
    fn a_service_with_a_list_gets_only_those_names_and_its_own_references() {
        let env = env_of(&ServiceSpec {
            name: "db".into(),
            inherit: Some(vec!["SITE_NAME".into()]),
            env: BTreeMap::from([("POSTGRES_PASSWORD".into(), "${DB_PASSWORD}".into())]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            env,
            BTreeMap::from([
                ("POSTGRES_PASSWORD".to_string(), "s3cr3t-pw".to_string()),
                ("SITE_NAME".to_string(), "shop".to_string()),
            ])
        );
        let none = env_of(&ServiceSpec {
            name: "cache".into(),
            inherit: Some(vec![]),
            ..Default::default()
        })
        .unwrap();
        assert!(none.is_empty(), "{none:?}");
    }

    #[test]
    fn naming_or_referencing_a_reserved_name_is_refused_without_its_value() {
        for spec in [
            ServiceSpec {
                name: "a".into(),
                inherit: Some(vec!["REGISTRY_PASSWORD".into()]),
                ..Default::default()
            },
            ServiceSpec {
                name: "b".into(),
                env: BTreeMap::from([("X".into(), "${REGISTRY_PASSWORD}".into())]),
                ..Default::default()
            },
            ServiceSpec {
                name: "c".into(),
                env: BTreeMap::from([("X".into(), "${PULL_AUTH}".into())]),
                ..Default::default()
            },
            ServiceSpec {
                name: "d".into(),
                env: BTreeMap::from([("BERTH_TOKEN".into(), "literal".into())]),
                ..Default::default()
            },
        ] {
            let errs = env_of(&spec).unwrap_err().join("; ");
            assert!(errs.contains("used by Berth"), "{errs}");
            assert!(!errs.contains("registry-pw-123"), "{errs}");
        }
        let undefined = env_of(&ServiceSpec {
            name: "e".into(),
            inherit: Some(vec!["NOPE".into()]),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            undefined[0].contains("`NOPE`, which is not defined"),
            "{undefined:?}"
        );
    }

    #[test]
    fn image_references_and_registry_login_still_see_berths_names() {
        let r = world();
        assert!(registry_auth(&r).is_none(), "no username set");
        let spec = ServiceSpec {
            name: "web".into(),
            image: "${SITE_NAME}:1".into(),
            ..Default::default()
        };
        assert_eq!(image_reference(&spec, &r).unwrap(), "shop:1");
        let leak = ServiceSpec {
            name: "web".into(),
            image: "evil.example/x:${REGISTRY_PASSWORD}".into(),
            ..Default::default()
        };
        let err = image_reference(&leak, &r).unwrap_err();
        assert!(
            err.contains("used by Berth") && !err.contains("registry-pw"),
            "{err}"
        );
        assert!(r.all.contains_key("REGISTRY_PASSWORD"));
    }
}
