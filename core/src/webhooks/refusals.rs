//! Refusals no secret signed (missing or wrong signature, no secret set, body too large), kept
//! compactly: a counter per project, hour and reason; the first [`SAMPLE`] of each hour kept as
//! deliveries with a [`EXCERPT`]-byte payload excerpt; one audit event per project and hour.
use super::super::audit::{self, NewEvent, Outcome};
use super::super::context::Ctx;
use super::super::db::Db;
use super::super::error::ServiceResult;
use super::super::AppState;
use super::store::{self, NewDelivery};
use super::HookProject;
use berth_model::RefusalCount;
use serde_json::{json, Map, Value};
use sqlx::Row;

/// The counting window.
pub const WINDOW_MS: i64 = 3600 * 1000;
/// Refusals per project and window kept as deliveries; the rest are only counted.
pub const SAMPLE: i64 = 20;
/// How much of a sampled refusal's body is kept.
pub const EXCERPT: usize = 4096;
/// Counters are kept this long.
const KEEP_MS: i64 = 30 * 24 * 3600 * 1000;

fn clip_bytes(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
    true
}

/// Counts a refusal (`reason` is its code), keeps it if it is among the first of its window,
/// and audits the first of each window with the totals of the window before.
pub(crate) async fn record(
    state: &AppState,
    ctx: &Ctx,
    project: &HookProject,
    mut d: NewDelivery,
    reason: &str,
) -> ServiceResult<()> {
    let window = d.received_at - d.received_at.rem_euclid(WINDOW_MS);
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO webhook_refusals (project_id, window_start, reason, refusals, last_at) \
         VALUES ($1, $2, $3, 1, $4) ON CONFLICT (project_id, window_start, reason) \
         DO UPDATE SET refusals = webhook_refusals.refusals + 1, last_at = $4",
    )
    .bind(project.id)
    .bind(window)
    .bind(reason)
    .bind(d.received_at)
    .execute(&mut *tx)
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(refusals), 0) AS BIGINT) FROM webhook_refusals \
         WHERE project_id = $1 AND window_start = $2",
    )
    .bind(project.id)
    .bind(window)
    .fetch_one(&mut *tx)
    .await?;
    if total <= SAMPLE {
        d.payload_truncated |= clip_bytes(&mut d.payload, EXCERPT);
        store::insert(&mut tx, &d).await?;
    }
    if total == 1 {
        let rows = sqlx::query(
            "SELECT window_start, reason, refusals FROM webhook_refusals WHERE project_id = $1 \
             AND window_start = (SELECT MAX(window_start) FROM webhook_refusals \
             WHERE project_id = $1 AND window_start < $2)",
        )
        .bind(project.id)
        .bind(window)
        .fetch_all(&mut *tx)
        .await?;
        let mut previous = Map::new();
        let mut previous_start = None;
        for r in &rows {
            previous_start = Some(r.try_get::<i64, _>(0)?);
            previous.insert(r.try_get(1)?, Value::from(r.try_get::<i64, _>(2)?));
        }
        audit::append(
            &mut tx,
            ctx,
            NewEvent::new("webhook.refused", format!("project:{}/webhook", project.slug))
                .project(project.id)
                .outcome(Outcome::Denied)
                .summary(json!({
                    "window_start": window,
                    "first": { "github_delivery": d.delivery, "event": d.event,
                        "status": d.status, "reason": d.reason },
                    "note": "further refusals in this hour are counted on the webhook page, not audited one by one",
                    "previous_window": { "window_start": previous_start, "refusals": previous },
                })),
        )
        .await?;
        sqlx::query("DELETE FROM webhook_refusals WHERE project_id = $1 AND window_start < $2")
            .bind(project.id)
            .bind(window - KEEP_MS)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The counters of the windows since `since`, newest first.
pub async fn counts(db: &Db, project_id: i64, since: i64) -> ServiceResult<Vec<RefusalCount>> {
    let rows = sqlx::query(
        "SELECT window_start, reason, refusals, last_at FROM webhook_refusals \
         WHERE project_id = $1 AND window_start >= $2 ORDER BY window_start DESC, reason LIMIT 200",
    )
    .bind(project_id)
    .bind(since)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RefusalCount {
                window_start: r.try_get(0)?,
                reason: r.try_get(1)?,
                refusals: r.try_get(2)?,
                last_at: r.try_get(3)?,
            })
        })
        .collect()
}
