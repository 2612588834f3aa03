//! The tamper-evident audit log: an append-only hash chain.
//!
//! Each event's `hash` is SHA-256 over the previous event's hash and a canonical,
//! length-prefixed encoding of every stored field, so changing, inserting or removing a row
//! breaks the chain at that row. `audit_head` holds the tip, so removing the newest events is
//! caught too.
use super::context::Ctx;
use super::db::{Db, Tx};
use super::error::ServiceResult;
use sha2::{Digest, Sha256};
use sqlx::Row;

mod query;
mod verify;

pub use query::{list, Visibility};
pub use verify::verify;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event about to be appended.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub action: String,
    pub target: String,
    pub project_id: Option<i64>,
    /// JSON: what changed. Never a secret value.
    pub summary: serde_json::Value,
    pub result: Outcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

impl NewEvent {
    pub fn new(action: &str, target: impl Into<String>) -> Self {
        NewEvent {
            action: action.into(),
            target: target.into(),
            project_id: None,
            summary: serde_json::Value::Object(Default::default()),
            result: Outcome::Success,
        }
    }
    pub fn project(mut self, id: i64) -> Self {
        self.project_id = Some(id);
        self
    }
    pub fn summary(mut self, v: serde_json::Value) -> Self {
        self.summary = v;
        self
    }
    pub fn outcome(mut self, o: Outcome) -> Self {
        self.result = o;
        self
    }
}

/// One stored row, in chain order.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub seq: i64,
    pub ts: i64,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub client_addr: String,
    pub user_agent: String,
    pub action: String,
    pub target: String,
    pub project_id: Option<i64>,
    pub summary: String,
    pub result: String,
    pub prev_hash: String,
    pub hash: String,
}

fn put(h: &mut Sha256, field: &[u8]) {
    h.update((field.len() as u64).to_be_bytes());
    h.update(field);
}

fn put_opt(h: &mut Sha256, v: Option<i64>) {
    match v {
        Some(v) => put(h, v.to_string().as_bytes()),
        None => h.update(u64::MAX.to_be_bytes()),
    }
}

/// The canonical hash of an event given its predecessor's hash.
pub fn event_hash(e: &StoredEvent) -> String {
    let mut h = Sha256::new();
    h.update(b"berth-audit-v1");
    put(&mut h, e.prev_hash.as_bytes());
    put(&mut h, e.seq.to_string().as_bytes());
    put(&mut h, e.ts.to_string().as_bytes());
    put(&mut h, e.actor_kind.as_bytes());
    put_opt(&mut h, e.actor_id);
    put(&mut h, e.actor_name.as_bytes());
    put(&mut h, e.client_addr.as_bytes());
    put(&mut h, e.user_agent.as_bytes());
    put(&mut h, e.action.as_bytes());
    put(&mut h, e.target.as_bytes());
    put_opt(&mut h, e.project_id);
    put(&mut h, e.summary.as_bytes());
    put(&mut h, e.result.as_bytes());
    hex::encode(h.finalize())
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Appends an event inside the caller's write transaction (see `Db::begin_write`).
pub async fn append(tx: &mut Tx, ctx: &Ctx, ev: NewEvent) -> ServiceResult<i64> {
    // Every mutation is audited here: when it commits, what the request's memo remembers may
    // have changed.
    tx.forget_on_commit(&ctx.memo);
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    let prev_seq: i64 = row.try_get(0)?;
    let prev_hash: String = row.try_get(1)?;
    let mut e = StoredEvent {
        seq: prev_seq + 1,
        ts: super::now_ms(),
        actor_kind: ctx.actor.kind().to_string(),
        actor_id: ctx.actor.user().map(|u| u.id),
        actor_name: clip(&ctx.actor.name(), 200),
        client_addr: clip(&ctx.meta.client_addr, 100),
        user_agent: clip(&ctx.meta.user_agent, 300),
        action: ev.action,
        target: clip(&ev.target, 300),
        project_id: ev.project_id,
        summary: ev.summary.to_string(),
        result: ev.result.as_str().to_string(),
        prev_hash,
        hash: String::new(),
    };
    e.hash = event_hash(&e);
    insert_raw(tx, &e).await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(e.seq)
        .bind(&e.hash)
        .execute(&mut **tx)
        .await?;
    Ok(e.seq)
}

/// Writes a row exactly as given (also used by benchmarks to build long chains fast).
pub async fn insert_raw(tx: &mut Tx, e: &StoredEvent) -> ServiceResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (seq, ts, actor_kind, actor_id, actor_name, client_addr, \
         user_agent, action, target, project_id, summary, result, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(e.seq)
    .bind(e.ts)
    .bind(&e.actor_kind)
    .bind(e.actor_id)
    .bind(&e.actor_name)
    .bind(&e.client_addr)
    .bind(&e.user_agent)
    .bind(&e.action)
    .bind(&e.target)
    .bind(e.project_id)
    .bind(&e.summary)
    .bind(&e.result)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records an event in a transaction of its own (refusals, failed logins, logouts).
pub async fn record(db: &Db, ctx: &Ctx, ev: NewEvent) -> ServiceResult<i64> {
    let mut tx = db.begin_write().await?;
    let seq = append(&mut tx, ctx, ev).await?;
    tx.commit().await?;
    Ok(seq)
}

pub(crate) const COLUMNS: &str =
    "e.seq, e.ts, e.actor_kind, e.actor_id, e.actor_name, e.client_addr, \
    e.user_agent, e.action, e.target, e.project_id, e.summary, e.result, e.prev_hash, e.hash";

pub(crate) fn stored(row: &sqlx::any::AnyRow) -> Result<StoredEvent, sqlx::Error> {
    Ok(StoredEvent {
        seq: row.try_get(0)?,
        ts: row.try_get(1)?,
        actor_kind: row.try_get(2)?,
        actor_id: row.try_get(3)?,
        actor_name: row.try_get(4)?,
        client_addr: row.try_get(5)?,
        user_agent: row.try_get(6)?,
        action: row.try_get(7)?,
        target: row.try_get(8)?,
        project_id: row.try_get(9)?,
        summary: row.try_get(10)?,
        result: row.try_get(11)?,
        prev_hash: row.try_get(12)?,
        hash: row.try_get(13)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoredEvent {
        StoredEvent {
            seq: 1,
            ts: 5,
            actor_kind: "user".into(),
            actor_id: Some(1),
            actor_name: "alice".into(),
            client_addr: "127.0.0.1".into(),
            user_agent: "test".into(),
            action: "user.create".into(),
            target: "user:bob".into(),
            project_id: None,
            summary: "{}".into(),
            result: "success".into(),
            prev_hash: GENESIS.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = event_hash(&sample());
        let mut e = sample();
        e.actor_name = "mallory".into();
        assert_ne!(event_hash(&e), base);
        let mut e = sample();
        e.project_id = Some(0);
        assert_ne!(event_hash(&e), base);
        let mut e = sample();
        e.prev_hash = "1".repeat(64);
        assert_ne!(event_hash(&e), base);
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let mut a = sample();
        a.action = "ab".into();
        a.target = "c".into();
        let mut b = sample();
        b.action = "a".into();
        b.target = "bc".into();
        assert_ne!(event_hash(&a), event_hash(&b));
    }
}
