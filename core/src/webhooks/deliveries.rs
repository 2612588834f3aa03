//! What people do with the webhook: read deliveries, replay one, see the set-up to paste into
//! GitHub, choose the repository, and set or rotate the secret.
use super::super::audit::{self, NewEvent};
use super::super::authz::{authorize, Action};
use super::super::context::Ctx;
use super::super::error::{ServiceError, ServiceResult};
use super::super::variables::{self, Scope};
use super::super::{now_ms, projects, AppState};
use super::github::{self, Ask};
use super::store::{self, NewDelivery};
use super::{act, project_by_slug, targets, Handling, SECRET_NAME};
use berth_model::{DeliveryDetail, DeliveryPage, DeliveryView, WebhookTarget, WebhookView};
use serde_json::{json, Value};
use sqlx::Row;
use std::time::Instant;

/// Newest first, `limit` (1–200, default 50) at a time; `outcome` filters.
pub async fn list(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    before: Option<i64>,
    outcome: Option<&str>,
    limit: Option<i64>,
) -> ServiceResult<DeliveryPage> {
    let p = projects::resolve(state, ctx, project).await?;
    let limit = limit.unwrap_or(50).clamp(1, 200);
    let outcome = outcome.map(str::trim).filter(|o| !o.is_empty());
    let deliveries = store::list(&state.db, p.id, before, outcome, limit).await?;
    let next_before = (deliveries.len() as i64 == limit)
        .then(|| deliveries.last().map(|d| d.id))
        .flatten();
    let since = now_ms() - 24 * 3600 * 1000;
    Ok(DeliveryPage {
        deliveries,
        next_before,
        refusals: super::refusals::counts(&state.db, p.id, since - super::refusals::WINDOW_MS)
            .await?,
    })
}

fn replayable(d: &DeliveryView, truncated: bool) -> bool {
    matches!(d.signature.as_str(), "valid" | "replay")
        && matches!(d.event.as_str(), "ping" | "push" | "workflow_run")
        && d.outcome != "refused"
        && !truncated
}

pub async fn get(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    id: i64,
) -> ServiceResult<DeliveryDetail> {
    let p = projects::resolve(state, ctx, project).await?;
    let s = store::get(&state.db, p.id, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("delivery".into()))?;
    let payload = serde_json::from_str::<Value>(&s.payload)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(s.payload);
    Ok(DeliveryDetail {
        replays: store::replays(&state.db, p.id, id).await?,
        replayable: replayable(&s.view, s.payload_truncated),
        delivery: s.view,
        headers: s.headers,
        payload,
        payload_truncated: s.payload_truncated,
    })
}

/// Handles a stored delivery again, as the caller (maintainers; deploys are theirs).
pub async fn replay(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    id: i64,
) -> ServiceResult<DeliveryView> {
    let start = Instant::now();
    let p = projects::resolve(state, ctx, project).await?;
    authorize(&state.db, ctx, Action::DeployProtected, Some(&p)).await?;
    let s = store::get(&state.db, p.id, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("delivery".into()))?;
    if !replayable(&s.view, s.payload_truncated) {
        return Err(ServiceError::invalid(
            "delivery",
            "only signed ping, push and workflow_run deliveries that were not refused can be replayed",
        ));
    }
    let payload: Value = serde_json::from_str(&s.payload)
        .map_err(|_| ServiceError::invalid("delivery", "its payload is not JSON"))?;
    let hook = project_by_slug(state, &p.slug)
        .await?
        .ok_or_else(|| ServiceError::NotFound("project".into()))?;
    let ask = github::interpret(&s.view.event, &payload);
    let targets = targets(state, p.id).await?;
    let mut d = NewDelivery {
        project_id: p.id,
        delivery: s.view.delivery.clone(),
        event: s.view.event.clone(),
        repository: s.view.repository.clone(),
        git_ref: s.view.git_ref.clone(),
        signature: "replay".into(),
        headers: s.headers,
        payload: s.payload,
        replay_of: Some(id),
        actor: ctx.actor.name(),
        received_at: now_ms(),
        ..Default::default()
    };
    let prefix = format!("replay of delivery #{id}: ");
    let mut tx = state.db.begin_write().await?;
    let handling = Handling {
        project: &hook,
        ask: &ask,
        payload: &payload,
        targets: &targets,
        reason_prefix: &prefix,
    };
    act(state, &mut tx, ctx, &handling, &mut d).await?;
    if matches!(ask, Ask::Skip(_)) || d.outcome == "skipped" {
        d.reason = format!("{prefix}{}", d.reason);
    }
    d.duration_us = start.elapsed().as_micros() as i64;
    let new_id = store::insert(&mut tx, &d).await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(
            "webhook.replay",
            format!("project:{}/webhook/delivery:{id}", p.slug),
        )
        .project(p.id)
        .summary(
            json!({ "delivery": id, "replay": new_id, "outcome": d.outcome, "deploys": d.deploys }),
        ),
    )
    .await?;
    tx.commit().await?;
    if !d.deploys.is_empty() {
        state.deploys.wake();
    }
    store::list(&state.db, p.id, Some(new_id + 1), None, 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ServiceError::NotFound("delivery".into()))
}

/// What to paste into GitHub, and how deliveries map to environments.
pub async fn settings(state: &AppState, ctx: &Ctx, project: &str) -> ServiceResult<WebhookView> {
    let p = projects::resolve(state, ctx, project).await?;
    let hook = project_by_slug(state, &p.slug)
        .await?
        .ok_or_else(|| ServiceError::NotFound("project".into()))?;
    let secret_updated_at: Option<i64> = sqlx::query(
        "SELECT updated_at FROM variables WHERE project_id = $1 AND environment_id = 0 AND name = $2 \
         AND is_secret = 1 AND sealed IS NOT NULL",
    )
    .bind(p.id)
    .bind(SECRET_NAME)
    .fetch_optional(&state.db.pool)
    .await?
    .map(|r| r.try_get(0))
    .transpose()?;
    let path = format!("/api/hooks/github/{}", p.slug);
    let url = match &state.settings.public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => path,
    };
    Ok(WebhookView {
        url,
        content_type: "application/json".into(),
        events: github::EVENTS.iter().map(|e| e.to_string()).collect(),
        repository: hook.repository,
        secret_set: secret_updated_at.is_some(),
        secret_updated_at,
        targets: targets(state, p.id)
            .await?
            .into_iter()
            .map(|t| WebhookTarget {
                environment: t.slug,
                branch: t.branch,
                trigger: t.trigger,
                workflow: t.workflow,
                protected: t.protected,
            })
            .collect(),
    })
}

/// `owner/name`, also from a pasted `https://github.com/owner/name(.git)` URL; empty clears.
pub fn check_repository(raw: &str) -> ServiceResult<String> {
    let mut r = raw.trim().trim_end_matches('/');
    for prefix in [
        "https://github.com/",
        "http://github.com/",
        "git@github.com:",
        "github.com/",
    ] {
        if let Some(rest) = r.strip_prefix(prefix) {
            r = rest;
        }
    }
    let r = r.strip_suffix(".git").unwrap_or(r);
    if r.is_empty() {
        return Ok(String::new());
    }
    let ok_part = |s: &str, max: usize| {
        !s.is_empty()
            && s.len() <= max
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    match r.split_once('/') {
        Some((owner, name)) if ok_part(owner, 39) && ok_part(name, 100) => Ok(r.to_string()),
        _ => Err(ServiceError::invalid(
            "repository",
            "`owner/name` of a GitHub repository (or empty for any)",
        )),
    }
}

/// Only deliveries from this repository deploy (maintainers; audited).
pub async fn set_repository(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    repository: &str,
) -> ServiceResult<WebhookView> {
    let p = projects::resolve(state, ctx, project).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&p)).await?;
    let repo = check_repository(repository)?;
    let mut tx = state.db.begin_write().await?;
    let before: String = sqlx::query_scalar("SELECT repository FROM projects WHERE id = $1")
        .bind(p.id)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("UPDATE projects SET repository = $1 WHERE id = $2")
        .bind(&repo)
        .bind(p.id)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("project.webhook", format!("project:{}/webhook", p.slug))
            .project(p.id)
            .summary(json!({ "repository": { "from": before, "to": repo } })),
    )
    .await?;
    tx.commit().await?;
    settings(state, ctx, project).await
}

/// Sets `GITHUB_WEBHOOK_SECRET` to a new random value and returns it, once, to paste into
/// GitHub (maintainers; the write is audited without the value).
pub async fn generate_secret(state: &AppState, ctx: &Ctx, project: &str) -> ServiceResult<String> {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let value = hex::encode(bytes);
    variables::set(
        state,
        ctx,
        Scope::Project(project),
        SECRET_NAME,
        Some(&value),
        true,
    )
    .await?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::check_repository;

    #[test]
    fn repositories_are_owner_and_name() {
        for (raw, want) in [
            ("octo/site", "octo/site"),
            (" https://github.com/octo/site.git ", "octo/site"),
            ("git@github.com:octo/site.git", "octo/site"),
            ("", ""),
        ] {
            assert_eq!(check_repository(raw).unwrap(), want, "{raw}");
        }
        for bad in ["octo", "octo/site/x", "octo/si te", "/site", "octo/"] {
            assert!(check_repository(bad).is_err(), "{bad}");
        }
    }
}
