//! Receiving a delivery: the body size, the project, the secret and the signature (checked
//! before anything is parsed), the content type, the JSON, then the delivery id (a repeat is a
//! duplicate) and what it asks for. A caller without a valid signature learns nothing: an
//! unknown project, no secret, a missing or a wrong signature get the same 401; their
//! refusals are counted compactly (see [`super::refusals`]) and limited per source address
//! (see [`Shield`]). Signed deliveries are recorded whole, signed refusals audited.
use super::super::audit::{self, NewEvent, Outcome};
use super::super::context::{Actor, Ctx, RequestMeta};
use super::super::error::{ServiceError, ServiceResult};
use super::super::{now_ms, AppState};
use super::github::{self, Ask, Signature};
use super::refusals;
use super::shield::Shield;
use super::store::{self, NewDelivery};
use super::{act, clip, project_by_slug, targets, Handling, HookProject, SECRET_NAME};
use berth_model::DeliveryHeader;
use serde_json::{json, Value};
use sqlx::Row;
use std::time::Instant;

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
    pub fn error(status: u16, code: &str, message: &str) -> Receipt {
        Receipt {
            status,
            body: json!({ "error": { "code": code, "message": message } }),
        }
    }
    /// What a caller without a valid signature is told, whatever the reason.
    pub fn unauthorized() -> Receipt {
        Receipt::error(401, "unauthorized", "signature could not be verified")
    }
    fn rate_limited() -> Receipt {
        Receipt::error(
            429,
            "rate_limited",
            "too many refused deliveries from this address: try again in a minute",
        )
    }
    fn too_large() -> Receipt {
        Receipt::error(
            413,
            "payload_too_large",
            "the body is over 25 MB (GitHub never sends more)",
        )
    }
    fn of(id: i64, d: &NewDelivery) -> Receipt {
        Receipt {
            status: d.status,
            body: json!({ "delivery": id, "outcome": d.outcome, "reason": d.reason, "deploys": d.deploys }),
        }
    }
}

/// The answer before the body is read, when there is one: an address that used up its
/// refusals and sends no signature is answered 429 without touching the database.
pub fn before_body(shield: &Shield, meta: &RequestMeta, signed: bool) -> Option<Receipt> {
    (!signed && shield.limited(&meta.client_addr)).then(Receipt::rate_limited)
}

/// Handles one delivery; never fails (errors become a 500 the sender may retry).
pub async fn receive(state: &AppState, shield: &Shield, inc: Incoming) -> Receipt {
    let start = Instant::now();
    match receive_checked(state, shield, &inc, start).await {
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

fn new_delivery(inc: &Incoming, project_id: i64) -> NewDelivery {
    NewDelivery {
        project_id,
        delivery: clip(inc.header("x-github-delivery").unwrap_or_default(), 100),
        event: clip(inc.header("x-github-event").unwrap_or_default(), 100),
        headers: kept_headers(inc),
        signature: "unchecked".into(),
        received_at: now_ms(),
        ..Default::default()
    }
}

/// A refusal of a caller that proved nothing: what it is told, and what maintainers see.
struct Unverified {
    answer: Receipt,
    code: &'static str,
    signature: &'static str,
    why: String,
}

async fn receive_checked(
    state: &AppState,
    shield: &Shield,
    inc: &Incoming,
    start: Instant,
) -> ServiceResult<Receipt> {
    let project = project_by_slug(state, &inc.project).await?;
    let Some(body) = inc.body.as_deref() else {
        let u = Unverified {
            answer: Receipt::too_large(),
            code: "payload_too_large",
            signature: "unchecked",
            why: "the body is over 25 MB (GitHub never sends more)".into(),
        };
        return unverified(state, shield, inc, project.as_ref(), start, u).await;
    };
    let Some(project) = project else {
        tracing::warn!(project = %clip(&inc.project, 100), "webhook for an unknown project refused");
        let u = Unverified {
            answer: Receipt::unauthorized(),
            code: "unknown_project",
            signature: "unchecked",
            why: String::new(),
        };
        return unverified(state, shield, inc, None, start, u).await;
    };
    let mut d = new_delivery(inc, project.id);
    let refusal = match secret(state, &project).await? {
        Err(why) => Some(("no_secret", "no_secret", why)),
        Ok(secret) => {
            match github::verify(secret.as_bytes(), body, inc.header("x-hub-signature-256")) {
                Signature::Valid => None,
                Signature::Missing => Some((
                    "signature_missing",
                    "missing",
                    "no X-Hub-Signature-256 header: set the secret in GitHub's webhook settings"
                        .to_string(),
                )),
                Signature::Invalid(why) => Some((
                    "signature_invalid",
                    "invalid",
                    format!("X-Hub-Signature-256 {why}"),
                )),
            }
        }
    };
    if let Some((code, signature, why)) = refusal {
        let u = Unverified {
            answer: Receipt::unauthorized(),
            code,
            signature,
            why,
        };
        return unverified(state, shield, inc, Some(&project), start, u).await;
    }
    d.signature = "valid".into();
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
    let ctx = Ctx::new(Actor::Webhook(actor, project.id), inc.meta.clone());
    let handling = Handling {
        project: &project,
        ask: &ask,
        payload: &payload,
        targets: &targets,
        reason_prefix: "",
    };
    match act(state, &mut tx, &ctx, &handling, &mut d).await {
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

/// Answers a caller that proved nothing: 429 once its address used up its refusals (nothing
/// recorded), else the refusal is counted (for a known project) and answered.
async fn unverified(
    state: &AppState,
    shield: &Shield,
    inc: &Incoming,
    project: Option<&HookProject>,
    start: Instant,
    u: Unverified,
) -> ServiceResult<Receipt> {
    let addr = inc.meta.client_addr.as_str();
    if !shield.take(addr) {
        return Ok(Receipt::rate_limited());
    }
    if let Some(project) = project {
        let mut d = new_delivery(inc, project.id);
        if let Some(body) = inc.body.as_deref() {
            d.payload = String::from_utf8_lossy(&body[..body.len().min(refusals::EXCERPT)]).into();
            d.payload_truncated = body.len() > refusals::EXCERPT;
        }
        d.signature = u.signature.into();
        d.outcome = "refused".into();
        d.status = u.answer.status;
        d.reason = u.why;
        d.duration_us = start.elapsed().as_micros() as i64;
        let ctx = Ctx::new(Actor::Webhook("github".into(), 0), inc.meta.clone());
        refusals::record(state, &ctx, project, d, u.code).await?;
    }
    Ok(u.answer)
}

/// Records a refused signed delivery and audits the refusal.
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
    let ctx = Ctx::new(Actor::Webhook("github".into(), 0), inc.meta.clone());
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
