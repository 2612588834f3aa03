//! Notifications: a generic JSON webhook per environment (the watchdog's channel) told about
//! finished deploys and watchdog alerts. Delivery is best effort with a short timeout; the
//! audit log is the record.
use super::super::AppState;
use super::plan::EnvInfo;
use serde_json::{json, Value};
use std::time::Duration;

async fn channel(state: &AppState, env_id: i64) -> Option<String> {
    sqlx::query_scalar::<_, String>("SELECT webhook_url FROM watchdogs WHERE environment_id = $1")
        .bind(env_id)
        .fetch_optional(&state.db.pool)
        .await
        .ok()
        .flatten()
        .filter(|u| !u.is_empty())
}

/// Posts `payload` to the environment's webhook, if it has one. Returns whether it was
/// delivered (2xx).
pub async fn send(state: &AppState, env: &EnvInfo, payload: Value) -> bool {
    let Some(url) = channel(state, env.id).await else {
        return false;
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .unwrap_or_default();
    match client.post(&url).json(&payload).send().await {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            tracing::warn!(status = r.status().as_u16(), env = %env.slug, "notification webhook refused");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, env = %env.slug, "notification webhook unreachable");
            false
        }
    }
}

pub async fn deploy_finished(
    state: &AppState,
    env: &EnvInfo,
    id: i64,
    kind: &str,
    status: &str,
    cause: &str,
) {
    send(
        state,
        env,
        json!({
            "source": "berth",
            "event": "deploy.finished",
            "project": env.project,
            "environment": env.slug,
            "deploy": id,
            "kind": kind,
            "status": status,
            "cause": cause,
            "at": chrono::Utc::now().to_rfc3339(),
        }),
    )
    .await;
}
