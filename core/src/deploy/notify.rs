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
    // A maintainer chose the address: checked where it is reached (after DNS, on redirects).
    let policy = state.metrics.outbound();
    if let Err(why) = reqwest::Url::parse(&url)
        .map_err(|_| "not a valid URL".to_string())
        .and_then(|u| crate::metrics::outbound::check_url(&u, policy))
    {
        tracing::warn!(error = %why, env = %env.slug, "notification webhook refused by the outbound rule");
        return false;
    }
    let client = crate::metrics::outbound::client(policy, Some(Duration::from_secs(5)));
    match client.post(&url).json(&payload).send().await {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            tracing::warn!(status = r.status().as_u16(), env = %env.slug, "notification webhook refused");
            false
        }
        Err(e) => {
            // Without the URL: its query may hold a token.
            tracing::warn!(error = %e.without_url(), env = %env.slug, "notification webhook unreachable");
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
