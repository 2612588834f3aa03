//! GitHub webhooks: `POST /api/hooks/github/{project}`. The signature is checked (HMAC-SHA256
//! with the project's secret `GITHUB_WEBHOOK_SECRET`) before anything is parsed; a push or a
//! successful workflow run queues a deploy of every environment whose deploy branch it names;
//! every delivery is recorded with why it deployed, was skipped or was refused.
pub mod deliveries;
pub mod github;
pub mod store;

use super::audit::{self, NewEvent, Outcome};
use super::authz::ProjectRef;
use super::context::{Actor, Ctx, RequestMeta};
use super::deploy::{self, DeployRequest};
use super::environments::EnvRef;
use super::error::{ServiceError, ServiceResult};
use super::{now_ms, AppState};
use crate::model::{DeliveryDeploy, DeliveryHeader};
use github::{Ask, Signature, Target};
use serde_json::{json, Value};
use sqlx::Row;
use stack::model::DeploySettings;
use std::time::Instant;
use store::NewDelivery;

/// The project secret that signs deliveries.
pub const SECRET_NAME: &str = "GITHUB_WEBHOOK_SECRET";
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

/// The project a delivery is addressed to.
#[derive(Clone, Debug)]
pub(crate) struct HookProject {
    pub id: i64,
    pub slug: String,
    pub repository: String,
}

pub(crate) async fn project_by_slug(
    state: &AppState,
    slug: &str,
) -> ServiceResult<Option<HookProject>> {
    let row = sqlx::query("SELECT id, slug, repository FROM projects WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&state.db.pool)
        .await?;
    row.map(|r| {
        Ok(HookProject {
            id: r.try_get(0)?,
            slug: r.try_get(1)?,
            repository: r.try_get(2)?,
        })
    })
    .transpose()
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

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
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
        actor: Actor::Webhook(actor),
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
    let aad = super::secrets::aad(&p.slug, None, SECRET_NAME);
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
        actor: Actor::Webhook("github".into()),
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

/// The project's environments with their deploy branch and webhook trigger.
pub(crate) async fn targets(state: &AppState, project_id: i64) -> ServiceResult<Vec<Target>> {
    let rows = sqlx::query(
        "SELECT e.id, e.slug, e.protected, e.branch, r.settings FROM environments e \
         LEFT JOIN environment_runtime r ON r.environment_id = e.id WHERE e.project_id = $1 ORDER BY e.id",
    )
    .bind(project_id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let settings: DeploySettings = r
                .try_get::<Option<String>, _>(4)?
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default();
            Ok(Target {
                id: r.try_get(0)?,
                slug: r.try_get(1)?,
                protected: r.try_get::<i64, _>(2)? != 0,
                branch: r.try_get(3)?,
                trigger: settings.trigger,
                workflow: settings.workflow,
            })
        })
        .collect()
}

/// Does what a delivery asks inside `tx`: fills in the outcome, reason, status and deploys.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn act(
    state: &AppState,
    tx: &mut super::db::Tx,
    ctx: &Ctx,
    project: &HookProject,
    ask: &Ask,
    payload: &Value,
    targets: &[Target],
    d: &mut NewDelivery,
    reason_prefix: &str,
) -> ServiceResult<()> {
    d.status = 200;
    let other_repo = |repo: &str| {
        !project.repository.is_empty() && !project.repository.eq_ignore_ascii_case(repo)
    };
    match ask {
        Ask::Ping => {
            d.outcome = "connected".into();
            let events: Vec<&str> = payload["hook"]["events"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut reason = format!("GitHub connected (events: {})", events.join(", "));
            if !events.is_empty()
                && !events.contains(&"*")
                && !github::EVENTS.iter().any(|e| events.contains(e))
            {
                reason.push_str("; tick push (or workflow_run) so that Berth can deploy");
            }
            if other_repo(&d.repository) && !d.repository.is_empty() {
                reason.push_str(&format!(
                    "; but it comes from `{}`, not `{}`",
                    d.repository, project.repository
                ));
            }
            d.reason = reason;
        }
        Ask::Skip(why) => {
            d.outcome = "skipped".into();
            d.reason = why.clone();
        }
        Ask::Deploy(t) if other_repo(&t.repository) => {
            d.outcome = "skipped".into();
            d.reason = format!(
                "repository `{}` is not this project's (`{}`)",
                t.repository, project.repository
            );
        }
        Ask::Deploy(t) => {
            let (chosen, notes) = github::choose(t, targets);
            if chosen.is_empty() {
                d.outcome = "skipped".into();
                d.reason = notes.join("; ");
                return Ok(());
            }
            let what = if t.kind == "push" {
                format!("push to {} by {}", t.branch, t.actor)
            } else {
                format!("{} succeeded on {} ({})", t.workflow, t.branch, t.actor)
            };
            let reason = clip(
                &format!(
                    "{reason_prefix}{}{what}",
                    if t.message.is_empty() {
                        String::new()
                    } else {
                        format!("{} — ", clip(&t.message, 300))
                    }
                ),
                500,
            );
            for e in chosen {
                let env = EnvRef {
                    id: e.id,
                    slug: e.slug.clone(),
                    protected: e.protected,
                    project: ProjectRef {
                        id: project.id,
                        slug: project.slug.clone(),
                    },
                };
                let req = DeployRequest {
                    kind: "deploy".into(),
                    reason: reason.clone(),
                    git_sha: t.sha.clone(),
                    git_branch: t.branch.clone(),
                    trigger: "webhook".into(),
                    supersede: true,
                    ..Default::default()
                };
                let id = deploy::enqueue(state, tx, ctx, &env, req).await?;
                d.deploys.push(DeliveryDeploy {
                    environment: e.slug.clone(),
                    deploy: id,
                });
            }
            d.outcome = "deployed".into();
            d.status = 202;
            let list: Vec<String> = d
                .deploys
                .iter()
                .map(|x| format!("{} (#{})", x.environment, x.deploy))
                .collect();
            let mut reason = format!("{what} at {}: deploying {}", &t.sha[..7], list.join(", "));
            for n in notes {
                reason.push_str("; ");
                reason.push_str(&n);
            }
            d.reason = reason;
        }
    }
    Ok(())
}
