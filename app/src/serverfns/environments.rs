//! Environments of a project, and their configuration versions.
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
        Ok(crate::server::environments::list(&c.state, &c.ctx, &project).await?)
    })
    .await
}

#[server]
pub async fn get_environment(project: String, env: String) -> Result<EnvironmentView, AppError> {
    super::call::run(|c| async move {
        Ok(crate::server::environments::get(&c.state, &c.ctx, &project, &env).await?)
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
    use crate::server::environments::{create, EnvironmentInput};
    super::call::run(|c| async move {
        let input = EnvironmentInput {
            name,
            slug,
            protected: flag(protected.as_deref()),
            branch: branch.unwrap_or_default(),
            docker_host: String::new(),
        };
        Ok(create(&c.state, &c.ctx, &project, input).await?)
    })
    .await
}

/// Changes an environment's name, branch and protection; its Docker host stays as it is.
#[server]
pub async fn update_environment(
    project: String,
    env: String,
    name: String,
    branch: Option<String>,
    protected: Option<String>,
) -> Result<EnvironmentView, AppError> {
    use crate::server::environments::{get, update, EnvironmentInput};
    super::call::run(|c| async move {
        let current = get(&c.state, &c.ctx, &project, &env).await?;
        let input = EnvironmentInput {
            name,
            slug: current.slug,
            protected: flag(protected.as_deref()),
            branch: branch.unwrap_or_default(),
            docker_host: current.docker_host,
        };
        Ok(update(&c.state, &c.ctx, &project, &env, input).await?)
    })
    .await
}

#[server]
pub async fn list_versions(
    project: String,
    env: String,
) -> Result<Vec<ConfigVersionView>, AppError> {
    super::call::run(|c| async move {
        Ok(crate::server::versions::list(&c.state, &c.ctx, &project, &env).await?)
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
        Ok(crate::server::versions::compare(&c.state, &c.ctx, &project, &env, from, to).await?)
    })
    .await
}
