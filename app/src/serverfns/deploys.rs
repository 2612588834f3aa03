//! Deploys, releases, rollbacks, scaling, deploy settings, the watchdog and the containers
//! view: thin adapters over `server::deploy`.
// One argument per form field: the forms post them flat.
#![allow(clippy::too_many_arguments)]
use crate::error::AppError;
use crate::model::{
    DeployDetail, DeployView, EnvironmentView, ReleaseView, RuntimeView, WatchdogView,
};
use leptos::prelude::*;
use stack::model::DeploySettings;
use std::collections::BTreeMap;

/// A deploy with its steps and its log lines after `after` (0: from the start).
#[server]
pub async fn get_deploy(id: i64, after: i64) -> Result<DeployDetail, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::deploy::detail(&c.state, &c.ctx, id, after, 10_000).await?)
    })
    .await
}

/// A deploy's page: the deploy, its steps and log, and whether the caller may cancel it.
#[server]
pub async fn deploy_page(id: i64) -> Result<(DeployDetail, bool), AppError> {
    use crate::model::Role;
    use berth_core::{deploy, environments, projects};
    super::call::run(|c| async move {
        let d = deploy::detail(&c.state, &c.ctx, id, 0, 10_000).await?;
        let p = projects::get(&c.state, &c.ctx, &d.deploy.project).await?;
        let e = environments::get(&c.state, &c.ctx, &p.slug, &d.deploy.environment).await?;
        let need = if e.protected {
            Role::Maintainer
        } else {
            Role::Deployer
        };
        Ok((d, p.my_role >= Some(need)))
    })
    .await
}

#[server]
pub async fn list_deploys(project: String, env: String) -> Result<Vec<DeployView>, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::deploy::list(&c.state, &c.ctx, &project, &env, 50, None).await?)
    })
    .await
}

/// The latest deploys of every project the caller can see, newest first.
#[server]
pub async fn recent_deploys() -> Result<Vec<DeployView>, AppError> {
    use berth_core::{deploy, projects};
    super::call::run(|c| async move {
        let mut all = Vec::new();
        for p in projects::list(&c.state, &c.ctx).await? {
            all.extend(deploy::list_project(&c.state, &c.ctx, &p.slug, 50).await?);
        }
        all.sort_by_key(|d| std::cmp::Reverse(d.id));
        all.truncate(50);
        Ok(all)
    })
    .await
}

#[server]
pub async fn list_releases(project: String, env: String) -> Result<Vec<ReleaseView>, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::deploy::releases(&c.state, &c.ctx, &project, &env).await?)
    })
    .await
}

/// Queues a deploy (or rollback, redeploy, scale) from the browser and goes to its page.
#[cfg(feature = "ssr")]
async fn queue(
    c: super::call::Call,
    project: &str,
    env: &str,
    req: berth_core::deploy::DeployRequest,
) -> Result<DeployView, AppError> {
    use berth_core::deploy::DeployRequest;
    let req = DeployRequest {
        trigger: "manual".into(),
        ..req
    };
    let d = berth_core::deploy::request(&c.state, &c.ctx, project, env, req).await?;
    leptos_axum::redirect(&format!("/deploys/{}", d.id));
    Ok(d)
}

#[server]
pub async fn start_deploy(
    project: String,
    env: String,
    reason: Option<String>,
    git_sha: Option<String>,
) -> Result<DeployView, AppError> {
    use berth_core::deploy::DeployRequest;
    super::call::run(|c| async move {
        let req = DeployRequest {
            kind: "deploy".into(),
            reason: reason.unwrap_or_default(),
            git_sha: git_sha.unwrap_or_default(),
            supersede: true,
            ..Default::default()
        };
        queue(c, &project, &env, req).await
    })
    .await
}

#[server]
pub async fn rollback(
    project: String,
    env: String,
    release: i64,
    reason: Option<String>,
) -> Result<DeployView, AppError> {
    use berth_core::deploy::DeployRequest;
    super::call::run(|c| async move {
        let req = DeployRequest {
            kind: "rollback".into(),
            reason: reason.unwrap_or_default(),
            release: Some(release),
            ..Default::default()
        };
        queue(c, &project, &env, req).await
    })
    .await
}

#[server]
pub async fn redeploy(
    project: String,
    env: String,
    reason: Option<String>,
) -> Result<DeployView, AppError> {
    use berth_core::deploy::DeployRequest;
    super::call::run(|c| async move {
        let req = DeployRequest {
            kind: "redeploy".into(),
            reason: reason.unwrap_or_default(),
            ..Default::default()
        };
        queue(c, &project, &env, req).await
    })
    .await
}

/// "Replace now": one service's containers replaced whatever its update strategy (the only
/// way a `manual` service is); maintainers. Goes to the deploy's page.
#[server]
pub async fn replace_service(
    project: String,
    env: String,
    name: String,
    reason: Option<String>,
) -> Result<DeployView, AppError> {
    use berth_core::deploy::DeployRequest;
    super::call::run(|c| async move {
        let req = DeployRequest {
            kind: "replace".into(),
            reason: reason.unwrap_or_default(),
            services: vec![name],
            ..Default::default()
        };
        queue(c, &project, &env, req).await
    })
    .await
}

/// `replicas[<service>]` per service; services left empty keep their replicas.
#[server]
pub async fn scale(
    project: String,
    env: String,
    replicas: Option<BTreeMap<String, String>>,
    reason: Option<String>,
) -> Result<DeployView, AppError> {
    use berth_core::deploy::DeployRequest;
    super::call::run(|c| async move {
        let mut scale = BTreeMap::new();
        for (service, n) in replicas.unwrap_or_default() {
            if n.trim().is_empty() {
                continue;
            }
            let n = n.trim().parse::<u32>().map_err(|_| {
                AppError::invalid("scale", format!("{service}: a number of replicas"))
            })?;
            scale.insert(service, n);
        }
        let req = DeployRequest {
            kind: "scale".into(),
            reason: reason.unwrap_or_default(),
            scale,
            ..Default::default()
        };
        queue(c, &project, &env, req).await
    })
    .await
}

#[server]
pub async fn cancel_deploy(id: i64) -> Result<DeployView, AppError> {
    super::call::run(|c| async move { Ok(berth_core::deploy::cancel(&c.state, &c.ctx, id).await?) })
        .await
}

#[server]
pub async fn get_deploy_settings(project: String, env: String) -> Result<DeploySettings, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::deploy::settings(&c.state, &c.ctx, &project, &env).await?)
    })
    .await
}

#[cfg(feature = "ssr")]
fn number<T: std::str::FromStr>(field: &str, raw: &str) -> Result<T, AppError> {
    raw.trim()
        .parse()
        .map_err(|_| AppError::invalid(field, "must be a whole number"))
}

#[server]
pub async fn save_deploy_settings(
    project: String,
    env: String,
    pull_policy: String,
    pull_timeout_secs: String,
    ready_timeout_secs: String,
    gate_timeout_secs: String,
    gate_interval_secs: String,
    drain_secs: String,
    stop_grace_secs: String,
    job_timeout_secs: String,
    keep_releases: String,
    trigger: Option<String>,
    workflow: Option<String>,
) -> Result<DeploySettings, AppError> {
    super::call::run(|c| async move {
        let s = DeploySettings {
            pull_policy: pull_policy.trim().to_string(),
            pull_timeout_secs: number("pull_timeout_secs", &pull_timeout_secs)?,
            ready_timeout_secs: number("ready_timeout_secs", &ready_timeout_secs)?,
            gate_timeout_secs: number("gate_timeout_secs", &gate_timeout_secs)?,
            gate_interval_secs: number("gate_interval_secs", &gate_interval_secs)?,
            drain_secs: number("drain_secs", &drain_secs)?,
            stop_grace_secs: number("stop_grace_secs", &stop_grace_secs)?,
            job_timeout_secs: number("job_timeout_secs", &job_timeout_secs)?,
            keep_releases: number("keep_releases", &keep_releases)?,
            trigger: trigger.unwrap_or_else(|| "push".into()).trim().to_string(),
            workflow: workflow.unwrap_or_default().trim().to_string(),
        };
        Ok(berth_core::deploy::set_settings(&c.state, &c.ctx, &project, &env, s).await?)
    })
    .await
}

/// How deploys drive the environment's nginx; the other proxy settings stay as they are.
#[server]
pub async fn save_proxy_manager(
    project: String,
    env: String,
    mode: String,
    config_path: Option<String>,
    test_command: Option<String>,
    reload_command: Option<String>,
    container: Option<String>,
) -> Result<EnvironmentView, AppError> {
    use berth_core::environments::{get, update, EnvironmentInput};
    fn argv(field: &str, text: Option<String>) -> Result<Vec<String>, AppError> {
        stack::compose::shell_split(text.as_deref().unwrap_or_default())
            .map_err(|m| AppError::invalid(field, m))
    }
    super::call::run(|c| async move {
        let mode = mode.trim().to_string();
        if !matches!(mode.as_str(), "" | "host" | "container") {
            return Err(AppError::invalid("mode", "none, host or container"));
        }
        let current = get(&c.state, &c.ctx, &project, &env).await?;
        let mut proxy = current.proxy.clone();
        proxy.manager = stack::model::ProxyManager {
            mode,
            config_path: config_path.unwrap_or_default().trim().to_string(),
            test_command: argv("test_command", test_command)?,
            reload_command: argv("reload_command", reload_command)?,
            container: container.unwrap_or_default().trim().to_string(),
        };
        let input = EnvironmentInput {
            name: current.name,
            slug: current.slug,
            protected: current.protected,
            branch: current.branch,
            docker_host: current.docker_host,
            proxy,
        };
        Ok(update(&c.state, &c.ctx, &project, &env, input).await?)
    })
    .await
}

#[server]
pub async fn get_watchdog(project: String, env: String) -> Result<WatchdogView, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::deploy::watchdog(&c.state, &c.ctx, &project, &env).await?)
    })
    .await
}

#[server]
pub async fn save_watchdog(
    project: String,
    env: String,
    enabled: Option<String>,
    interval_secs: String,
    failure_threshold: String,
    webhook_url: Option<String>,
) -> Result<WatchdogView, AppError> {
    use super::environments::flag;
    super::call::run(|c| async move {
        let interval = number("interval_secs", &interval_secs)?;
        let threshold = number("failure_threshold", &failure_threshold)?;
        let url = webhook_url.unwrap_or_default();
        Ok(berth_core::deploy::set_watchdog(
            &c.state,
            &c.ctx,
            &project,
            &env,
            flag(enabled.as_deref()),
            interval,
            threshold,
            &url,
        )
        .await?)
    })
    .await
}

/// The environment's engine and containers, with the server's clock (for uptimes that
/// read the same on the server and in the hydrated page).
#[server]
pub async fn get_runtime(project: String, env: String) -> Result<(RuntimeView, i64), AppError> {
    super::call::run(|c| async move {
        let r = berth_core::deploy::containers::runtime(&c.state, &c.ctx, &project, &env).await?;
        Ok((r, berth_core::now_ms()))
    })
    .await
}

/// The last `tail` lines of a container's output (secret values masked), as far as they
/// arrive within a few seconds.
#[server]
pub async fn container_logs(
    project: String,
    env: String,
    container: String,
    tail: usize,
) -> Result<Vec<String>, AppError> {
    use futures_util::StreamExt;
    super::call::run(|c| async move {
        let stream = berth_core::deploy::containers::logs(
            &c.state,
            &c.ctx,
            &project,
            &env,
            &container,
            tail.clamp(1, 2_000),
            false,
        )
        .await?;
        let deadline = tokio::time::sleep(std::time::Duration::from_secs(5));
        Ok(stream.take_until(deadline).collect().await)
    })
    .await
}

/// `op`: `restart` or `stop`, the name and value of the button pressed (not `action`,
/// which would shadow the form's own `action` in the DOM).
#[server]
pub async fn container_action(
    project: String,
    env: String,
    container: String,
    op: String,
) -> Result<(), AppError> {
    super::call::run(|c| async move {
        berth_core::deploy::containers::act(&c.state, &c.ctx, &project, &env, &container, &op)
            .await?;
        Ok(())
    })
    .await
}
