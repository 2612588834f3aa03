//! Taking an environment's runtime down before it is deleted: its containers, its network
//! and its part of the nginx configuration go with it, so nothing is left running that no
//! one sees, and nothing is adopted by a later environment of the same name.
use super::super::error::{ServiceError, ServiceResult};
use super::super::AppState;
use super::connect::{connect, proxy_for};
use super::{plan, rollout, store};
use std::time::Duration;

/// Removes what runs for the environment; returns how many containers were removed.
/// Refused while a deploy of it is queued or running, and when something was deployed but
/// the engine cannot be reached (deleting then would leave it running unseen).
pub async fn environment(state: &AppState, env_id: i64) -> ServiceResult<usize> {
    let env = plan::env_info(&state.db, env_id).await?;
    let busy: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deploys WHERE environment_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(env_id)
    .fetch_one(&state.db.pool)
    .await?;
    if busy > 0 {
        return Err(ServiceError::Conflict(format!(
            "a deploy of `{}` is queued or running: cancel it or let it end first",
            env.slug
        )));
    }
    let deployed = store::current_release_id(&state.db, env_id)
        .await?
        .is_some();
    let unreachable = |e: String| {
        ServiceError::Conflict(format!(
            "the Docker engine of `{}` cannot be reached to remove its containers ({e}); \
             fix the connection, or scale its services to zero, before deleting it",
            env.slug
        ))
    };
    let engine = match connect(state, &env).await {
        Ok(engine) => engine,
        Err(_) if !deployed => return Ok(0),
        Err(e) => return Err(unreachable(e)),
    };
    let containers = match rollout::env_containers(&engine, &env).await {
        Ok(c) => c,
        Err(_) if !deployed => return Ok(0),
        Err(e) => return Err(unreachable(e.to_string())),
    };
    // The proxy stops routing to them first.
    let (plan, _) = plan::capture(&state.db, &env).await?;
    if let Some(proxy) = proxy_for(&plan, &engine) {
        if deployed || !containers.is_empty() {
            proxy.apply("").await.map_err(|e| {
                ServiceError::Conflict(format!("could not remove the nginx configuration: {e}"))
            })?;
        }
    }
    for c in &containers {
        engine
            .stop_remove(&c.id, Duration::from_secs(10))
            .await
            .map_err(|e| ServiceError::Conflict(format!("could not remove {}: {e}", c.name)))?;
    }
    let _ = engine.remove_network(&rollout::network_name(&env)).await;
    Ok(containers.len())
}
