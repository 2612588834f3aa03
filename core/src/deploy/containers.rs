//! The containers view of an environment: what runs, its state, health, release, uptime,
//! CPU and memory; logs (tail and follow, secret values masked); restart and stop (audited).
use super::super::audit::{self, NewEvent};
use super::super::authz::authorize;
use super::super::context::Ctx;
use super::super::environments;
use super::super::error::{ServiceError, ServiceResult};
use super::super::AppState;
use super::plan;
use super::rollout::{LABEL_RELEASE, LABEL_REPLICA, LABEL_SERVICE};
use super::store;
use berth_model::{ContainerView, RuntimeView};
use engine::{ContainerInfo, Engine};
use futures_util::stream::{BoxStream, StreamExt};
use serde_json::json;
use stack::interpolate::Redactor;
use std::time::Duration;

async fn engine_for(state: &AppState, env_id: i64) -> ServiceResult<(plan::EnvInfo, Engine)> {
    let env = plan::env_info(&state.db, env_id).await?;
    let engine = super::connect::connect(state, &env)
        .await
        .map_err(ServiceError::Conflict)?;
    Ok((env, engine))
}

fn view(c: &ContainerInfo) -> ContainerView {
    ContainerView {
        id: c.id.clone(),
        name: c.name.trim_start_matches('/').to_string(),
        service: c.labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
        release: c.labels.get(LABEL_RELEASE).and_then(|v| v.parse().ok()),
        replica: c.labels.get(LABEL_REPLICA).and_then(|v| v.parse().ok()),
        image: c.image.clone(),
        state: c.state.clone(),
        health: c.health.clone().unwrap_or_default(),
        started_at: c.started_at,
        cpu_percent: None,
        memory_bytes: None,
        memory_limit: None,
        address: c.http_addr.map(|a| a.to_string()),
    }
}

/// The environment's engine, current release and containers (with one-shot stats).
pub async fn runtime(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<RuntimeView> {
    let e = environments::resolve(state, ctx, project, env).await?;
    let current = match store::current_release_id(&state.db, e.id).await? {
        Some(id) => Some(store::release(&state.db, id).await?.number),
        None => None,
    };
    let (info, engine) = match engine_for(state, e.id).await {
        Ok(v) => v,
        Err(err) => {
            return Ok(RuntimeView {
                engine: err.to_string(),
                engine_ok: false,
                current_release: current,
                containers: Vec::new(),
            })
        }
    };
    let version = match engine.ping().await {
        Ok(v) => v,
        Err(err) => {
            return Ok(RuntimeView {
                engine: err.to_string(),
                engine_ok: false,
                current_release: current,
                containers: Vec::new(),
            })
        }
    };
    let list = super::rollout::env_containers(&engine, &info)
        .await
        .map_err(|e| ServiceError::Conflict(e.to_string()))?;
    let stats = futures_util::future::join_all(list.iter().map(|c| {
        let engine = engine.clone();
        let running = c.state == "running";
        let id = c.id.clone();
        async move {
            if !running {
                return None;
            }
            tokio::time::timeout(Duration::from_secs(4), engine.stats(&id))
                .await
                .ok()
                .and_then(Result::ok)
        }
    }))
    .await;
    let mut containers: Vec<ContainerView> = list
        .iter()
        .zip(stats)
        .map(|(c, s)| {
            let mut v = view(c);
            if let Some(s) = s {
                v.cpu_percent = Some(s.cpu_percent);
                v.memory_bytes = Some(s.memory_bytes);
                v.memory_limit = Some(s.memory_limit);
            }
            v
        })
        .collect();
    containers
        .sort_by(|a, b| (&a.service, a.replica, &a.name).cmp(&(&b.service, b.replica, &b.name)));
    Ok(RuntimeView {
        engine: format!("Docker {version}"),
        engine_ok: true,
        current_release: current,
        containers,
    })
}

/// Finds one of the environment's containers by id (or name); anything else is not found.
async fn owned(engine: &Engine, env: &plan::EnvInfo, id: &str) -> ServiceResult<ContainerInfo> {
    let c = engine
        .inspect(id)
        .await
        .map_err(|e| ServiceError::Conflict(e.to_string()))?
        .ok_or_else(|| ServiceError::NotFound("container".into()))?;
    if !super::rollout::belongs(env, &c) {
        return Err(ServiceError::NotFound("container".into()));
    }
    Ok(c)
}

/// Masks the environment's secret values in container output: today's, and the earlier
/// ones the running containers may have been started with.
pub(crate) async fn redactor(state: &AppState, env: &plan::EnvInfo) -> ServiceResult<Redactor> {
    let (p, _) = plan::capture(&state.db, env).await?;
    let secrets = plan::open_secrets(&state.db, &state.secrets, env, &p).await?;
    let mut r = plan::redactor(&secrets);
    r.extend(&super::log::earlier_secrets(state, env).await?);
    Ok(r)
}

/// A container's logs: the last `tail` lines, then (with `follow`) new lines as they come.
pub async fn logs(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    container: &str,
    tail: usize,
    follow: bool,
) -> ServiceResult<BoxStream<'static, String>> {
    let e = environments::resolve(state, ctx, project, env).await?;
    let (info, engine) = engine_for(state, e.id).await?;
    let c = owned(&engine, &info, container).await?;
    let r = redactor(state, &info).await?;
    let stream = engine
        .logs(&c.id, tail.min(10_000), follow)
        .map(move |l| match l {
            Ok(line) => r.redact(&line.text),
            Err(e) => format!("[log stream ended: {e}]"),
        })
        .boxed();
    Ok(stream)
}

/// Restarts (`restart`) or stops (`stop`) one container; audited.
pub async fn act(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    container: &str,
    action: &str,
) -> ServiceResult<()> {
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(
        &state.db,
        ctx,
        super::deploy_action(e.protected),
        Some(&e.project),
    )
    .await?;
    let (info, engine) = engine_for(state, e.id).await?;
    let c = owned(&engine, &info, container).await?;
    let grace = Duration::from_secs(u64::from(
        store::settings(&state.db, e.id).await?.stop_grace_secs,
    ));
    let r = match action {
        "restart" => engine.restart(&c.id, grace).await,
        "stop" => engine.stop(&c.id, grace).await,
        other => {
            return Err(ServiceError::invalid(
                "action",
                format!("unknown action `{other}`"),
            ))
        }
    };
    r.map_err(|err| ServiceError::Conflict(err.to_string()))?;
    audit::record(
        &state.db,
        ctx,
        NewEvent::new(
            &format!("container.{action}"),
            format!(
                "project:{}/env:{}/container:{}",
                info.project,
                info.slug,
                c.name.trim_start_matches('/')
            ),
        )
        .project(info.project_id)
        .summary(json!({
            "service": c.labels.get(LABEL_SERVICE),
            "release": c.labels.get(LABEL_RELEASE),
        })),
    )
    .await?;
    Ok(())
}
