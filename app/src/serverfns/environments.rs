//! Environments of a project, and their configuration versions.
// One argument per form field: the settings form posts them flat (and the server macro
// generates a client stub with the same arguments).
#![allow(clippy::too_many_arguments)]
use crate::error::AppError;
use crate::model::{ConfigChange, ConfigVersionView, EnvironmentView};
use leptos::prelude::*;

/// A checkbox or boolean-ish form value: "on", "true", "1", "yes" mean true.
pub fn flag(v: Option<&str>) -> bool {
    v.map(|s| s.trim().to_ascii_lowercase())
        .is_some_and(|s| matches!(s.as_str(), "on" | "true" | "1" | "yes"))
}

#[server]
pub async fn list_environments(project: String) -> Result<Vec<EnvironmentView>, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::environments::list(&c.state, &c.ctx, &project).await?)
    })
    .await
}

#[server]
pub async fn get_environment(project: String, env: String) -> Result<EnvironmentView, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::environments::get(&c.state, &c.ctx, &project, &env).await?)
    })
    .await
}

#[server]
pub async fn create_environment(
    project: String,
    name: String,
    slug: String,
    protected: Option<String>,
    branch: Option<String>,
) -> Result<EnvironmentView, AppError> {
    use berth_core::environments::{create, EnvironmentInput};
    super::call::run(|c| async move {
        let input = EnvironmentInput {
            name,
            slug,
            protected: flag(protected.as_deref()),
            branch: branch.unwrap_or_default(),
            docker_host: String::new(),
            proxy: berth_core::environments::default_proxy(),
        };
        Ok(create(&c.state, &c.ctx, &project, input).await?)
    })
    .await
}

/// Changes an environment's name, branch, proxy ports and (admins) protection, Docker host
/// and whether that host may be reached without TLS (instance admins).
#[server]
pub async fn update_environment(
    project: String,
    env: String,
    name: String,
    branch: Option<String>,
    protected: Option<String>,
    docker_host: Option<String>,
    docker_insecure: Option<String>,
    http_port: Option<String>,
    https_port: Option<String>,
    redirect_http: Option<String>,
    hsts_max_age: Option<String>,
) -> Result<EnvironmentView, AppError> {
    use berth_core::environments::{get, update_with, EnvironmentInput};
    fn port(field: &str, raw: &str) -> Result<u16, AppError> {
        raw.trim()
            .parse()
            .map_err(|_| AppError::invalid(field, "must be a port between 1 and 65535"))
    }
    super::call::run(|c| async move {
        let current = get(&c.state, &c.ctx, &project, &env).await?;
        let mut proxy = current.proxy.clone();
        if let Some(p) = http_port.as_deref() {
            proxy.http_port = port("proxy.http_port", p)?;
        }
        if let Some(p) = https_port.as_deref() {
            proxy.https_port = if p.trim().is_empty() {
                None
            } else {
                Some(port("proxy.https_port", p)?)
            };
        }
        if http_port.is_some() {
            // The proxy fields come as a group: an unchecked box is absent.
            proxy.redirect_http = flag(redirect_http.as_deref());
        }
        if let Some(h) = hsts_max_age.as_deref() {
            proxy.hsts_max_age = h.trim().parse().map_err(|_| {
                AppError::invalid("proxy.hsts_max_age", "must be a number of seconds")
            })?;
        }
        let input = EnvironmentInput {
            name,
            slug: current.slug,
            protected: flag(protected.as_deref()),
            branch: branch.unwrap_or_default(),
            docker_host: docker_host.clone().unwrap_or(current.docker_host),
            proxy,
        };
        // The mark comes with the Docker host field (admins' part of the form): an
        // unchecked box is absent.
        let insecure = docker_host
            .is_some()
            .then(|| flag(docker_insecure.as_deref()));
        Ok(update_with(&c.state, &c.ctx, &project, &env, input, insecure).await?)
    })
    .await
}

#[server]
pub async fn list_versions(
    project: String,
    env: String,
    before: Option<i64>,
) -> Result<Vec<ConfigVersionView>, AppError> {
    super::call::run(|c| async move {
        Ok(
            berth_core::environments::list_versions(&c.state, &c.ctx, &project, &env, before, None)
                .await?,
        )
    })
    .await
}

/// The changes from version `from` to version `to` (0: the empty configuration).
#[server]
pub async fn compare_versions(
    project: String,
    env: String,
    from: i64,
    to: i64,
) -> Result<Vec<ConfigChange>, AppError> {
    super::call::run(|c| async move {
        Ok(
            berth_core::environments::compare_versions(&c.state, &c.ctx, &project, &env, from, to)
                .await?,
        )
    })
    .await
}
