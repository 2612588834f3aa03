//! Receiving a delivery: the project, the body size, the secret and the signature (checked
//! before anything is parsed), the content type, the JSON, then the delivery id (a repeat is a
//! duplicate) and what it asks for — all recorded, refusals audited.
use super::super::audit::{self, NewEvent, Outcome};
use super::super::context::{Actor, Ctx, RequestMeta};
use super::super::error::{ServiceError, ServiceResult};
use super::super::{now_ms, AppState};
use super::github::{self, Ask, Signature};
use super::store::{self, NewDelivery};
use super::{act, clip, project_by_slug, targets, HookProject, SECRET_NAME};
use crate::model::DeliveryHeader;
use serde_json::{json, Value};
use sqlx::Row;
use std::time::Instant;

/// How much of a refused body is kept (a signed one is kept whole).
const REFUSED_PAYLOAD_KEEP: usize = 64 * 1024;

/// A delivery as the HTTP adapter read it.
pub struct Incoming {
    pub project: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// `None`: the body was over [`github::MAX_BODY`].
    pub body: Option<Vec<u8>>,
    pub meta: RequestMeta,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer GitHub.
#[derive(Debug)]
pub struct Receipt {
    pub status: u16,
    pub body: Value,
}

impl Receipt {
    fn error(status: u16, code: &str, message: &str) -> Receipt {
        Receipt {
            status,
            body: json!({ "error": { "code": code, "message": message } }),
        }
    }
    fn of(id: i64, d: &NewDelivery) -> Receipt {
        Receipt {
            status: d.status,
            body: json!({ "delivery": id, "outcome": d.outcome, "reason": d.reason, "deploys": d.deploys }),
        }
    }
}

/// Handles one delivery; never fails (errors become a 500 the sender may retry).
pub async fn receive(state: &AppState, inc: Incoming) -> Receipt {
    let start = Instant::now();
    match receive_checked(state, &inc, start).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(project = %inc.project, error = %e, "webhook delivery not handled");
            Receipt::error(
                500,
                "internal",
                "Berth could not handle this delivery; redeliver it from GitHub",
            )
        }
    }
}

fn kept_headers(inc: &Incoming) -> Vec<DeliveryHeader> {
    inc.headers
        .iter()
        .filter(|(n, _)| {
            n.starts_with("x-github-")
                || n.starts_with("x-hub-signature")
                || matches!(n.as_str(), "user-agent" | "content-type" | "content-length")
        })
        .map(|(n, v)| DeliveryHeader {
            name: n.clone(),
            value: v.chars().take(500).collect(),
        })
        .collect()
}

async fn receive_checked(
    state: &AppState,
    inc: &Incoming,
    start: Instant,
) -> ServiceResult<Receipt> {
    let Some(project) = project_by_slug(state, &inc.project).await? else {
        tracing::warn!(project = %clip(&inc.project, 100), "webhook for an unknown project refused");
        return Ok(Receipt::error(
            404,
            "not_found",
            "no such project: the payload URL is /api/hooks/github/<project slug>",
        ));
    };
    let mut d = NewDelivery {
        project_id: project.id,
        delivery: clip(inc.header("x-github-delivery").unwrap_or_default(), 100),
        event: clip(inc.header("x-github-event").unwrap_or_default(), 100),
        headers: kept_headers(inc),
        signature: "unchecked".into(),
        received_at: now_ms(),
        ..Default::default()
    };
    let Some(body) = inc.body.as_deref() else {
        let why = "the body is over 25 MB (GitHub never sends more)";
        return refuse(
            state,
            inc,
            &project,
            d,
            start,
            413,
            "payload_too_large",
            why,
        )
        .await;
    };
    d.payload = String::from_utf8_lossy(&body[..body.len().min(REFUSED_PAYLOAD_KEEP)]).into();
    d.payload_truncated = body.len() > REFUSED_PAYLOAD_KEEP;
    let secret = match secret(state, &project).await? {
        Ok(s) => s,
        Err(why) => {
            d.signature = "no_secret".into();
            return refuse(state, inc, &project, d, start, 401, "no_secret", &why).await;
        }
    };
    match github::verify(secret.as_bytes(), body, inc.header("x-hub-signature-256")) {
        Signature::Valid => d.signature = "valid".into(),
        Signature::Missing => {
            d.signature = "missing".into();
            let why = "no X-Hub-Signature-256 header: set the secret in GitHub's webhook settings";
            return refuse(
                state,
                inc,
                &project,
                d,
                start,
                401,
                "signature_missing",
                why,
            )
            .await;
        }
        Signature::Invalid(why) => {
            d.signature = "invalid".into();
            let why = format!("X-Hub-Signature-256 {why}");
            return refuse(
                state,
                inc,
                &project,
                d,
                start,
                401,
                "signature_invalid",
                &why,
            )
            .await;
        }
    }
    d.payload = String::from_utf8_lossy(body).into();
    d.payload_truncated = false;
    let content_type = inc.header("content-type").unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("application/json") {
        let why = format!(
            "content type `{}`: choose application/json in GitHub's webhook settings",
            clip(content_type, 100)
        );
        return refuse(
            state,
            inc,
            &project,
            d,
            start,
            415,
            "unsupported_media_type",
            &why,
        )
        .await;
    }
    if d.event.is_empty() {
        let why = "no X-GitHub-Event header";
        return refuse(state, inc, &project, d, start, 400, "bad_request", why).await;
    }
    let payload: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            let why = format!("the body is not valid JSON: {e}");
            return refuse(state, inc, &project, d, start, 400, "invalid_json", &why).await;
        }
    };
    let ask = github::interpret(&d.event, &payload);
    d.repository = clip(&github::repository(&payload), 200);
    d.git_ref = clip(&github::git_ref(&d.event, &payload), 300);
    let targets = targets(state, project.id).await?;
    let mut tx = state.db.begin_write().await?;
    if !d.delivery.is_empty()
        && !store::remember(&mut tx, project.id, &d.delivery, d.received_at).await?
    {
        let first = store::first_handled(&mut tx, project.id, &d.delivery).await?;
        d.outcome = "duplicate".into();
        d.status = 200;
        d.reason = format!(
            "delivery {} was already handled{}: nothing queued (replay it in Berth to run it again)",
            d.delivery,
            first.map(|i| format!(" as #{i}")).unwrap_or_default()
        );
        d.duration_us = start.elapsed().as_micros() as i64;
        let id = store::insert(&mut tx, &d).await?;
        tx.commit().await?;
        return Ok(Receipt::of(id, &d));
    }
    let actor = match &ask {
        Ask::Deploy(t) => format!("github:{}", clip(&t.actor, 100)),
        _ => "github".into(),
    };
    let ctx = Ctx {
        actor: Actor::Webhook(actor, project.id),
        meta: inc.meta.clone(),
    };
    match act(
        state, &mut tx, &ctx, &project, &ask, &payload, &targets, &mut d, "",
    )
    .await
    {
        Ok(()) => {
            d.duration_us = start.elapsed().as_micros() as i64;
            let id = store::insert(&mut tx, &d).await?;
            tx.commit().await?;
            if !d.deploys.is_empty() {
                state.deploys.wake();
            }
            Ok(Receipt::of(id, &d))
        }
        Err(e) => {
            // Nothing was queued and the delivery id is not remembered: a redelivery retries.
            drop(tx);
            let (status, code) = match &e {
                ServiceError::Invalid { .. } | ServiceError::Conflict(_) => (422, "invalid"),
                _ => (500, "internal"),
            };
            tracing::error!(project = %project.slug, error = %e, "webhook delivery failed");
            d.outcome = "failed".into();
            d.status = status;
            d.reason = match &e {
                ServiceError::Invalid { .. } | ServiceError::Conflict(_) => e.to_string(),
                _ => "Berth could not queue the deploys (see its log); redeliver it".into(),
            };
            d.duration_us = start.elapsed().as_micros() as i64;
            let mut tx = state.db.begin_write().await?;
            store::insert(&mut tx, &d).await?;
            tx.commit().await?;
            Ok(Receipt::error(status, code, &d.reason))
        }
    }
}

/// The project's webhook secret, or why there is none to check with.
async fn secret(state: &AppState, p: &HookProject) -> ServiceResult<Result<String, String>> {
    let row = sqlx::query(
        "SELECT is_secret, sealed FROM variables WHERE project_id = $1 AND environment_id = 0 AND name = $2",
    )
    .bind(p.id)
    .bind(SECRET_NAME)
    .fetch_optional(&state.db.pool)
    .await?;
    let missing = format!(
        "the project has no secret {SECRET_NAME}: set one on its Webhook page, and the same value in GitHub"
    );
    let Some(r) = row else {
        return Ok(Err(missing));
    };
    if r.try_get::<i64, _>(0)? == 0 {
        return Ok(Err(format!(
            "{SECRET_NAME} is a plain variable: it must be a secret"
        )));
    }
    let Some(sealed) = r.try_get::<Option<String>, _>(1)? else {
        return Ok(Err(missing));
    };
    let aad = super::super::secrets::aad(&p.slug, None, SECRET_NAME);
    Ok(Ok(state.secrets.open(&aad, &sealed)?))
}

/// Records a refused delivery and audits the refusal.
#[allow(clippy::too_many_arguments)]
async fn refuse(
    state: &AppState,
    inc: &Incoming,
    project: &HookProject,
    mut d: NewDelivery,
    start: Instant,
    status: u16,
    code: &str,
    why: &str,
) -> ServiceResult<Receipt> {
    d.outcome = "refused".into();
    d.status = status;
    d.reason = why.to_string();
    d.duration_us = start.elapsed().as_micros() as i64;
    let ctx = Ctx {
        actor: Actor::Webhook("github".into(), 0),
        meta: inc.meta.clone(),
    };
    let mut tx = state.db.begin_write().await?;
    let id = store::insert(&mut tx, &d).await?;
    audit::append(
        &mut tx,
        &ctx,
        NewEvent::new("webhook.refused", format!("project:{}/webhook", project.slug))
            .project(project.id)
            .outcome(Outcome::Denied)
            .summary(json!({ "delivery": id, "github_delivery": d.delivery, "event": d.event, "status": status, "reason": why })),
    )
    .await?;
    tx.commit().await?;
    Ok(Receipt::error(status, code, why))
}
