//! Rows of the webhook: deliveries and the delivery ids already handled. No authorization here.
use super::super::db::{Db, Tx};
use super::super::error::ServiceResult;
use berth_model::{DeliveryDeploy, DeliveryHeader, DeliveryView};
use sqlx::Row;

/// Deliveries kept per project (older ones are pruned).
pub const KEEP: i64 = 1000;
/// Delivery ids are remembered this long (GitHub redelivers within three days).
pub const SEEN_FOR_MS: i64 = 30 * 24 * 3600 * 1000;

/// A delivery to record.
#[derive(Clone, Debug, Default)]
pub struct NewDelivery {
    pub project_id: i64,
    pub delivery: String,
    pub event: String,
    pub repository: String,
    pub git_ref: String,
    pub signature: String,
    pub outcome: String,
    pub reason: String,
    pub status: u16,
    pub deploys: Vec<DeliveryDeploy>,
    pub headers: Vec<DeliveryHeader>,
    pub payload: String,
    pub payload_truncated: bool,
    pub replay_of: Option<i64>,
    pub actor: String,
    pub received_at: i64,
    pub duration_us: i64,
}

/// Remembers a delivery id; false when it was already handled.
pub async fn remember(
    tx: &mut Tx,
    project_id: i64,
    delivery: &str,
    now: i64,
) -> ServiceResult<bool> {
    let r = sqlx::query(
        "INSERT INTO webhook_seen (project_id, delivery, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (project_id, delivery) DO NOTHING",
    )
    .bind(project_id)
    .bind(delivery)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The first delivery recorded with this id that was handled (not a duplicate or refusal).
pub async fn first_handled(
    tx: &mut Tx,
    project_id: i64,
    delivery: &str,
) -> ServiceResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(id) FROM webhook_deliveries WHERE project_id = $1 AND delivery = $2 \
         AND replay_of IS NULL AND outcome NOT IN ('duplicate', 'refused')",
    )
    .bind(project_id)
    .bind(delivery)
    .fetch_one(&mut **tx)
    .await?)
}

pub async fn insert(tx: &mut Tx, d: &NewDelivery) -> ServiceResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (project_id, delivery, event, repository, git_ref, signature, outcome, reason, \
         status, deploys, headers, payload, payload_truncated, replay_of, actor, received_at, duration_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(d.project_id)
    .bind(&d.delivery)
    .bind(&d.event)
    .bind(&d.repository)
    .bind(&d.git_ref)
    .bind(&d.signature)
    .bind(&d.outcome)
    .bind(&d.reason)
    .bind(i64::from(d.status))
    .bind(serde_json::to_string(&d.deploys).unwrap_or_else(|_| "[]".into()))
    .bind(serde_json::to_string(&d.headers).unwrap_or_else(|_| "[]".into()))
    .bind(&d.payload)
    .bind(i64::from(d.payload_truncated))
    .bind(d.replay_of)
    .bind(&d.actor)
    .bind(d.received_at)
    .bind(d.duration_us)
    .fetch_one(&mut **tx)
    .await?;
    if id % 100 == 0 {
        prune(tx, d.project_id, d.received_at).await?;
    }
    Ok(id)
}

async fn prune(tx: &mut Tx, project_id: i64, now: i64) -> ServiceResult<()> {
    let oldest_kept: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM webhook_deliveries WHERE project_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2",
    )
    .bind(project_id)
    .bind(KEEP - 1)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = oldest_kept {
        sqlx::query("DELETE FROM webhook_deliveries WHERE project_id = $1 AND id < $2")
            .bind(project_id)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("DELETE FROM webhook_seen WHERE project_id = $1 AND received_at < $2")
        .bind(project_id)
        .bind(now - SEEN_FOR_MS)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

const COLS: &str =
    "id, delivery, event, repository, git_ref, signature, outcome, reason, status, deploys, \
    replay_of, actor, received_at, duration_us";

fn view(r: &sqlx::any::AnyRow) -> ServiceResult<DeliveryView> {
    Ok(DeliveryView {
        id: r.try_get(0)?,
        delivery: r.try_get(1)?,
        event: r.try_get(2)?,
        repository: r.try_get(3)?,
        git_ref: r.try_get(4)?,
        signature: r.try_get(5)?,
        outcome: r.try_get(6)?,
        reason: r.try_get(7)?,
        status: r.try_get(8)?,
        deploys: serde_json::from_str(&r.try_get::<String, _>(9)?).unwrap_or_default(),
        replay_of: r.try_get(10)?,
        actor: r.try_get(11)?,
        received_at: r.try_get(12)?,
        duration_us: r.try_get(13)?,
    })
}

/// Newest first; `before` pages back; `outcome` filters.
pub async fn list(
    db: &Db,
    project_id: i64,
    before: Option<i64>,
    outcome: Option<&str>,
    limit: i64,
) -> ServiceResult<Vec<DeliveryView>> {
    let sql = format!(
        "SELECT {COLS} FROM webhook_deliveries WHERE project_id = $1 AND id < $2 \
         AND ($3 = '' OR outcome = $3) ORDER BY id DESC LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(project_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(outcome.unwrap_or_default())
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(view).collect()
}

/// A delivery with its stored headers and raw payload.
pub struct Stored {
    pub view: DeliveryView,
    pub headers: Vec<DeliveryHeader>,
    pub payload: String,
    pub payload_truncated: bool,
}

pub async fn get(db: &Db, project_id: i64, id: i64) -> ServiceResult<Option<Stored>> {
    let sql = format!(
        "SELECT {COLS}, headers, payload, payload_truncated FROM webhook_deliveries WHERE project_id = $1 AND id = $2"
    );
    let Some(r) = sqlx::query(&sql)
        .bind(project_id)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Stored {
        view: view(&r)?,
        headers: serde_json::from_str(&r.try_get::<String, _>(14)?).unwrap_or_default(),
        payload: r.try_get(15)?,
        payload_truncated: r.try_get::<i64, _>(16)? != 0,
    }))
}

/// The replays of a delivery, newest first.
pub async fn replays(db: &Db, project_id: i64, id: i64) -> ServiceResult<Vec<DeliveryView>> {
    let sql = format!(
        "SELECT {COLS} FROM webhook_deliveries WHERE project_id = $1 AND replay_of = $2 ORDER BY id DESC LIMIT 50"
    );
    let rows = sqlx::query(&sql)
        .bind(project_id)
        .bind(id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(view).collect()
}
