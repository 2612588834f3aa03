//! The deploy engine: releases, deploys through a durable queue, rolling updates on the
//! environment's Docker engine behind nginx, health gates, rollbacks, the watchdog and the
//! containers view. Adapters (server functions, REST, webhook, CLI) call the functions here.
pub mod connect;
pub mod containers;
pub mod fingerprint;
pub mod gate;
pub mod log;
pub mod notify;
pub mod pipeline;
pub mod plan;
pub mod probe;
pub mod release;
pub mod rollout;
pub mod runner;
pub mod settings;
pub mod store;
pub mod teardown;
pub mod watchdog;

use super::audit::{self, NewEvent};
use super::authz::{authorize, Action};
use super::context::Ctx;
use super::environments::{self, EnvRef};
use super::error::{ServiceError, ServiceResult};
use super::{now_ms, projects, AppState};
use berth_model::{DeployDetail, DeployLogLine, DeployView, ReleaseView};
use serde_json::json;
use std::collections::BTreeMap;

pub use runner::Hub;
pub use settings::{set_settings, set_watchdog, settings, watchdog};

/// What may be asked of the engine.
pub const KINDS: [&str; 6] = [
    "deploy", "rollback", "redeploy", "scale", "restart", "replace",
];

/// Deployer for unprotected environments, maintainer for protected ones.
pub fn deploy_action(protected: bool) -> Action {
    if protected {
        Action::DeployProtected
    } else {
        Action::DeployUnprotected
    }
}

/// A request for a deploy (or rollback, redeploy, scale, restart).
#[derive(Clone, Debug, Default)]
pub struct DeployRequest {
    pub kind: String,
    pub reason: String,
    pub git_sha: String,
    /// The branch the commit was pushed to (`${GIT_BRANCH}`); empty: the environment's branch.
    pub git_branch: String,
    /// `rollback`: the release number to go back to.
    pub release: Option<i64>,
    /// `scale`: service → replicas.
    pub scale: BTreeMap<String, u32>,
    /// `restart`: services (empty: all).
    pub services: Vec<String>,
    /// `manual`, `api`, `webhook`, `cli`.
    pub trigger: String,
    /// A newer deploy replaces deploys of the same environment still waiting in the queue.
    pub supersede: bool,
}

fn check_request(req: &DeployRequest) -> ServiceResult<()> {
    if !KINDS.contains(&req.kind.as_str()) {
        return Err(ServiceError::invalid(
            "kind",
            format!("one of {}", KINDS.join(", ")),
        ));
    }
    if req.reason.chars().count() > 500 {
        return Err(ServiceError::invalid("reason", "at most 500 characters"));
    }
    let sha = req.git_sha.trim();
    if sha.len() > 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ServiceError::invalid(
            "git_sha",
            "a hexadecimal commit id (at most 64 characters)",
        ));
    }
    if req.git_branch.len() > 200
        || req
            .git_branch
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ServiceError::invalid(
            "git_branch",
            "a branch name (at most 200 characters, no spaces)",
        ));
    }
    if req.kind == "replace" && req.services.len() != 1 {
        return Err(ServiceError::invalid(
            "services",
            "replace takes exactly one service (a manual service's \"replace now\")",
        ));
    }
    if req.kind == "rollback" && req.release.is_none() {
        return Err(ServiceError::invalid(
            "release",
            "which release to roll back to",
        ));
    }
    if req.kind == "scale" {
        if req.scale.is_empty() {
            return Err(ServiceError::invalid(
                "scale",
                "at least one service and its replicas",
            ));
        }
        if let Some((s, n)) = req.scale.iter().find(|(_, n)| **n > 50) {
            return Err(ServiceError::invalid(
                "scale",
                format!("{s}: at most 50 replicas (asked {n})"),
            ));
        }
    }
    Ok(())
}

async fn env_for_deploy(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<EnvRef> {
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, deploy_action(e.protected), Some(&e.project)).await?;
    Ok(e)
}

/// Queues a deploy; the runner picks it up when the environment is free.
pub async fn request(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    req: DeployRequest,
) -> ServiceResult<DeployView> {
    let e = env_for_deploy(state, ctx, project, env).await?;
    if req.kind == "replace" {
        authorize(&state.db, ctx, Action::EditConfig, Some(&e.project)).await?;
    }
    let mut tx = state.db.begin_write().await?;
    let id = enqueue(state, &mut tx, ctx, &e, req).await?;
    tx.commit().await?;
    state.deploys.wake();
    store::deploy_view_by_id(&state.db, id).await
}

/// Checks a deploy request and queues it inside the caller's transaction (authorized and
/// audited here); the caller commits and then wakes the runner. Returns the deploy id.
pub async fn enqueue(
    state: &AppState,
    tx: &mut super::db::Tx,
    ctx: &Ctx,
    e: &EnvRef,
    mut req: DeployRequest,
) -> ServiceResult<i64> {
    authorize(&state.db, ctx, deploy_action(e.protected), Some(&e.project)).await?;
    if req.kind == "replace" {
        // Replacing a service its operators keep out of deploys (a database, typically)
        // is a maintainer's decision ([`request`] authorizes and audits a denial before
        // the transaction; this is the check for every other way in).
        if !super::authz::may(&state.db, ctx, Action::EditConfig, Some(&e.project)).await? {
            return Err(ServiceError::Forbidden);
        }
        let known: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM services WHERE environment_id = $1 AND name = $2")
                .bind(e.id)
                .bind(req.services.first().map(String::as_str).unwrap_or(""))
                .fetch_optional(&mut **tx)
                .await?;
        if known.is_none() {
            return Err(ServiceError::NotFound("service".into()));
        }
    }
    req.git_sha = req.git_sha.trim().to_ascii_lowercase();
    req.git_branch = req.git_branch.trim().to_string();
    req.reason = req.reason.trim().to_string();
    if req.trigger.is_empty() {
        req.trigger = "manual".into();
    }
    check_request(&req)?;
    let target = match req.release {
        Some(n) if req.kind == "rollback" => {
            let id = store::release_id_by_number(&state.db, e.id, n).await?;
            let settings = store::settings(&state.db, e.id).await?;
            let kept =
                store::kept_release_ids(&state.db, e.id, i64::from(settings.keep_releases.max(1)))
                    .await?;
            if !kept.contains(&id) {
                return Err(ServiceError::invalid(
                    "release",
                    format!("release {n} is older than the kept releases; its images may be gone"),
                ));
            }
            Some(id)
        }
        _ => None,
    };
    if matches!(
        req.kind.as_str(),
        "redeploy" | "scale" | "restart" | "replace"
    ) && store::current_release_id(&state.db, e.id).await?.is_none()
    {
        return Err(ServiceError::Conflict(
            "nothing is deployed in this environment yet".into(),
        ));
    }
    let params = store::Params {
        reason: req.reason.clone(),
        git_sha: req.git_sha.clone(),
        git_branch: req.git_branch.clone(),
        scale: req.scale.clone(),
        services: req.services.clone(),
    };
    if req.kind == "scale" {
        scale_config(tx, ctx, e.id, &req.scale).await?;
    }
    let id = store::insert_deploy(
        tx,
        e.id,
        &req.kind,
        &params,
        target,
        &ctx.actor.name(),
        ctx.actor.kind(),
        &req.trigger,
    )
    .await?;
    let superseded: Vec<i64> = if req.supersede && req.kind == "deploy" {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM deploys WHERE environment_id = $1 AND status = 'queued' AND kind IN ('deploy', 'redeploy') AND id < $2",
        )
        .bind(e.id)
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
        for old in &ids {
            sqlx::query(
                "UPDATE deploys SET status = 'superseded', finished_at = $1, cause = $2 WHERE id = $3 AND status = 'queued'",
            )
            .bind(now_ms())
            .bind(format!("superseded by deploy #{id}"))
            .bind(old)
            .execute(&mut **tx)
            .await?;
        }
        ids
    } else {
        Vec::new()
    };
    audit::append(
        tx,
        ctx,
        NewEvent::new(
            &format!("deploy.request.{}", req.kind),
            format!("project:{}/env:{}/deploy:{id}", e.project.slug, e.slug),
        )
        .project(e.project.id)
        .summary(json!({
            "deploy": id,
            "reason": req.reason,
            "git_sha": req.git_sha,
            "git_branch": req.git_branch,
            "release": req.release,
            "scale": req.scale,
            "services": req.services,
            "trigger": req.trigger,
            "superseded": superseded,
        })),
    )
    .await?;
    Ok(id)
}

/// Scaling changes the configured replicas too, so the next deploy keeps them.
async fn scale_config(
    tx: &mut super::db::Tx,
    ctx: &Ctx,
    env_id: i64,
    scale: &BTreeMap<String, u32>,
) -> ServiceResult<()> {
    for (name, n) in scale {
        let spec: Option<String> =
            sqlx::query_scalar("SELECT spec FROM services WHERE environment_id = $1 AND name = $2")
                .bind(env_id)
                .bind(name)
                .fetch_optional(&mut **tx)
                .await?;
        let Some(spec) = spec else {
            return Err(ServiceError::invalid(
                "scale",
                format!("no service `{name}` in this environment"),
            ));
        };
        let mut spec: stack::model::ServiceSpec =
            serde_json::from_str(&spec).map_err(|e| ServiceError::Internal(e.to_string()))?;
        spec.replicas = *n;
        super::services::check_lifecycle(&spec).map_err(|e| match e {
            ServiceError::Invalid { message, .. } => {
                ServiceError::invalid("scale", format!("{name}: {message}"))
            }
            other => other,
        })?;
        super::services::upsert_in(tx, env_id, &spec).await?;
    }
    super::versions::record(tx, ctx, &[env_id], "scaled").await?;
    Ok(())
}

/// Looks a deploy up for a caller who may read its project.
async fn owned_deploy(state: &AppState, ctx: &Ctx, id: i64) -> ServiceResult<(i64, EnvRef)> {
    let (_env_id, project, env) = store::deploy_owner(&state.db, id).await?;
    // A deploy of a project the caller may not read does not exist for them: the same
    // answer as an id that was never used.
    let e = environments::resolve(state, ctx, &project, &env)
        .await
        .map_err(|e| match e {
            ServiceError::NotFound(_) => ServiceError::NotFound("deploy".into()),
            other => other,
        })?;
    Ok((id, e))
}

/// Cancels a queued deploy at once, or asks a running one to stop (it rolls back what it
/// switched).
pub async fn cancel(state: &AppState, ctx: &Ctx, id: i64) -> ServiceResult<DeployView> {
    let (_, e) = owned_deploy(state, ctx, id).await?;
    authorize(&state.db, ctx, deploy_action(e.protected), Some(&e.project)).await?;
    let mut tx = state.db.begin_write().await?;
    let status: String = sqlx::query_scalar("SELECT status FROM deploys WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    match status.as_str() {
        "queued" => {
            sqlx::query("UPDATE deploys SET status = 'cancelled', finished_at = $1, cause = $2 WHERE id = $3")
                .bind(now_ms())
                .bind(format!("cancelled by {} while queued", ctx.actor.name()))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        "running" => {
            sqlx::query("UPDATE deploys SET cancel_requested = 1 WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        _ => {
            return Err(ServiceError::Conflict(format!(
                "deploy #{id} has already ended ({status})"
            )))
        }
    }
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(
            "deploy.cancel",
            format!("project:{}/env:{}/deploy:{id}", e.project.slug, e.slug),
        )
        .project(e.project.id)
        .summary(json!({ "deploy": id, "was": status })),
    )
    .await?;
    tx.commit().await?;
    state.deploys.cancel(id);
    store::deploy_view_by_id(&state.db, id).await
}

/// A deploy with its steps and its log lines after `after_seq` (at most `limit`).
pub async fn detail(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    after_seq: i64,
    limit: i64,
) -> ServiceResult<DeployDetail> {
    owned_deploy(state, ctx, id).await?;
    Ok(DeployDetail {
        deploy: store::deploy_view_by_id(&state.db, id).await?,
        steps: store::steps(&state.db, id).await?,
        log: store::log_lines(&state.db, id, after_seq, limit.clamp(1, 10_000)).await?,
    })
}

/// Log lines after `after_seq` and the deploy's state (what the live log polls).
pub async fn log_since(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    after_seq: i64,
) -> ServiceResult<(Vec<DeployLogLine>, DeployView)> {
    owned_deploy(state, ctx, id).await?;
    let lines = store::log_lines(&state.db, id, after_seq, 2_000).await?;
    Ok((lines, store::deploy_view_by_id(&state.db, id).await?))
}

pub async fn list(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    limit: i64,
    before: Option<i64>,
) -> ServiceResult<Vec<DeployView>> {
    let e = environments::resolve(state, ctx, project, env).await?;
    store::list_deploys(&state.db, e.id, limit.clamp(1, 500), before).await
}

/// Recent deploys of every environment of a project.
pub async fn list_project(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    limit: i64,
) -> ServiceResult<Vec<DeployView>> {
    let p = projects::resolve(state, ctx, project).await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT d.id FROM deploys d JOIN environments e ON e.id = d.environment_id WHERE e.project_id = $1 ORDER BY d.id DESC LIMIT $2",
    )
    .bind(p.id)
    .bind(limit.clamp(1, 500))
    .fetch_all(&state.db.pool)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(store::deploy_view_by_id(&state.db, id).await?);
    }
    Ok(out)
}

pub async fn releases(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<Vec<ReleaseView>> {
    let e = environments::resolve(state, ctx, project, env).await?;
    let runtime = ctx
        .memo
        .runtime(e.id, || store::runtime(&state.db, e.id))
        .await?;
    store::releases(&state.db, e.id, runtime, 100).await
}
