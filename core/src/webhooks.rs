//! GitHub webhooks: `POST /api/hooks/github/{project}`. The signature is checked (HMAC-SHA256
//! with the project's secret `GITHUB_WEBHOOK_SECRET`) before anything is parsed; a push or a
//! successful workflow run queues a deploy of every environment whose deploy branch it names;
//! every delivery is recorded with why it deployed, was skipped or was refused.
pub mod deliveries;
pub mod github;
mod receive;
pub mod refusals;
pub mod shield;
pub mod store;

pub use receive::{before_body, receive, Incoming, Receipt};
pub use shield::Shield;

use super::authz::ProjectRef;
use super::context::Ctx;
use super::deploy::{self, DeployRequest};
use super::environments::EnvRef;
use super::error::ServiceResult;
use super::AppState;
use berth_model::DeliveryDeploy;
use github::{Ask, Target};
use serde_json::Value;
use sqlx::Row;
use stack::model::DeploySettings;
use store::NewDelivery;

/// The project secret that signs deliveries.
pub const SECRET_NAME: &str = "GITHUB_WEBHOOK_SECRET";

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
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

/// What a delivery asks of a project, as [`act`] carries it out.
pub(crate) struct Handling<'a> {
    pub project: &'a HookProject,
    pub ask: &'a Ask,
    pub payload: &'a Value,
    /// The project's environments, with their deploy branch and trigger.
    pub targets: &'a [Target],
    /// Put before each deploy's reason (a replay says which delivery it replays).
    pub reason_prefix: &'a str,
}

/// Does what a delivery asks inside `tx`: fills in the outcome, reason, status and deploys.
pub(crate) async fn act(
    state: &AppState,
    tx: &mut super::db::Tx,
    ctx: &Ctx,
    h: &Handling<'_>,
    d: &mut NewDelivery,
) -> ServiceResult<()> {
    let Handling {
        project,
        ask,
        payload,
        targets,
        reason_prefix,
    } = *h;
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
