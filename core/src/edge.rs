//! What Berth generates for an environment: its nginx configuration (checked with
//! `nginx -t` where nginx exists) and exports back to `docker-compose.yml` and `.env`.
use super::context::Ctx;
use super::error::{ServiceError, ServiceResult};
use super::{environments, services, sites, variables, AppState};
use stack::model::ProxySettings;
use stack::nginx::{NginxCheck, RenderInput, Upstream};
use std::collections::BTreeMap;

/// The nginx configuration for the environment. Until containers run (the deploy engine),
/// every upstream is a placeholder that is marked down.
pub async fn nginx_config(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<String> {
    let e = environments::get(state, ctx, project, env).await?;
    let svcs = services::list(state, ctx, project, env).await?;
    let site_specs: Vec<_> = sites::list(state, ctx, project)
        .await?
        .into_iter()
        .map(|s| s.spec)
        .collect();
    let upstreams: Vec<Upstream> = svcs
        .iter()
        .map(|s| Upstream {
            service: s.name.clone(),
            servers: Vec::new(),
        })
        .collect();
    let proxy: ProxySettings = e.proxy.clone();
    stack::nginx::render(&RenderInput {
        environment: &e.slug,
        namespace: &format!("{}_{}", project, e.slug),
        sites: &site_specs,
        upstreams: &upstreams,
        proxy: &proxy,
        log_dir: Some("/var/log/nginx"),
        access_log: None,
    })
    .map_err(|errors| {
        let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
        ServiceError::invalid("sites", format!("{first} ({} problem(s))", errors.len()))
    })
}

/// Runs `nginx -t` on the generated configuration: a process on this machine, so only
/// those who may change the configuration (maintainers) start it.
pub async fn nginx_check(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<NginxCheck> {
    let e = environments::resolve(state, ctx, project, env).await?;
    super::authz::authorize(
        &state.db,
        ctx,
        super::authz::Action::EditConfig,
        Some(&e.project),
    )
    .await?;
    let config = nginx_config(state, ctx, project, env).await?;
    tokio::task::spawn_blocking(move || stack::nginx::validate_with_nginx(&config))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                ServiceError::Conflict("nginx is not installed on this machine".into())
            }
            std::io::ErrorKind::TimedOut => {
                ServiceError::Conflict("nginx -t did not finish in time".into())
            }
            _ => ServiceError::Internal(e.to_string()),
        })
}

/// The environment's services as a `docker-compose.yml`.
pub async fn export_compose(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<String> {
    let specs: Vec<_> = services::list(state, ctx, project, env)
        .await?
        .into_iter()
        .map(|s| s.spec)
        .collect();
    Ok(stack::compose::export(&specs))
}

/// The environment's effective variables (project, then environment) as a `.env`; secrets
/// and missing values are written as `${NAME}` references, never their values.
pub async fn export_env(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<String> {
    let mut merged: BTreeMap<String, Option<String>> = BTreeMap::new();
    for scope in [
        variables::Scope::Project(project),
        variables::Scope::Environment(project, env),
    ] {
        for v in variables::list(state, ctx, scope).await? {
            let value = if v.secret { None } else { v.value };
            merged.insert(v.name, value);
        }
    }
    let entries: Vec<(String, Option<String>)> = merged.into_iter().collect();
    Ok(stack::dotenv::render(&entries))
}
