//! The tamper-evident audit log: an append-only hash chain.
//!
//! Each event's `hash` is SHA-256 over the previous event's hash and a canonical,
//! length-prefixed encoding of every stored field, so changing, inserting or removing a row
//! breaks the chain at that row. `audit_head` holds the tip, so removing the newest events is
//! caught too.
use super::context::Ctx;
use super::db::{Db, Tx};
use super::error::ServiceResult;
use crate::model::{AuditEventView, AuditFilter, AuditPage, VerifyReport};
use sha2::{Digest, Sha256};
use sqlx::Row;

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

const COLUMNS: &str = "e.seq, e.ts, e.actor_kind, e.actor_id, e.actor_name, e.client_addr, \
    e.user_agent, e.action, e.target, e.project_id, e.summary, e.result, e.prev_hash, e.hash";

fn stored(row: &sqlx::any::AnyRow) -> Result<StoredEvent, sqlx::Error> {
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

/// Where a chain walk stands between chunks.
struct Walk {
    expected_seq: i64,
    prev_hash: String,
    checked: i64,
}

fn broken(seq: i64, checked: i64, problem: String) -> VerifyReport {
    VerifyReport {
        ok: false,
        events_checked: checked,
        first_bad_seq: Some(seq),
        problem: Some(problem),
    }
}

/// Checks one chunk in order; returns the walk after it, or the report of the first break.
fn check_chunk(chunk: &[StoredEvent], mut w: Walk) -> Result<Walk, VerifyReport> {
    for e in chunk {
        w.checked += 1;
        if e.seq != w.expected_seq {
            let problem = if e.seq > w.expected_seq {
                format!(
                    "event {} is missing (deleted); next stored is {}",
                    w.expected_seq, e.seq
                )
            } else {
                format!("event {} is out of order", e.seq)
            };
            return Err(broken(w.expected_seq, w.checked, problem));
        }
        if e.prev_hash != w.prev_hash {
            return Err(broken(
                e.seq,
                w.checked,
                format!(
                    "event {} does not link to the event before it (inserted or replaced)",
                    e.seq
                ),
            ));
        }
        if event_hash(e) != e.hash {
            return Err(broken(
                e.seq,
                w.checked,
                format!(
                    "event {} was altered: its content does not match its hash",
                    e.seq
                ),
            ));
        }
        w.prev_hash.clone_from(&e.hash);
        w.expected_seq += 1;
    }
    Ok(w)
}

const VERIFY_CHUNK: i64 = 20_000;

type Wire = (
    i64,
    i64,
    String,
    Option<i64>,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    String,
    String,
    String,
    String,
);

/// One chunk of the chain after `after`, in sequence order. The database packs the chunk
/// into one JSON array, which is far cheaper than a million rows through the driver.
async fn fetch_chunk(db: &Db, after: i64) -> ServiceResult<Vec<StoredEvent>> {
    let cols = "seq, ts, actor_kind, actor_id, actor_name, client_addr, user_agent, action, \
                target, project_id, summary, result, prev_hash, hash";
    let sql = match db.dialect {
        super::db::Dialect::Sqlite => format!(
            "SELECT COALESCE(json_group_array(json_array({cols})), '[]') FROM \
             (SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2)"
        ),
        super::db::Dialect::Postgres => format!(
            "SELECT COALESCE(json_agg(json_build_array({cols}) ORDER BY seq), '[]'::json)::text FROM \
             (SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2) t"
        ),
    };
    let packed: String = sqlx::query_scalar(&sql)
        .bind(after)
        .bind(VERIFY_CHUNK)
        .fetch_one(&db.pool)
        .await?;
    let rows: Vec<Wire> = serde_json::from_str(&packed)
        .map_err(|e| super::error::ServiceError::Internal(format!("audit chunk: {e}")))?;
    let mut events: Vec<StoredEvent> = rows
        .into_iter()
        .map(|r| StoredEvent {
            seq: r.0,
            ts: r.1,
            actor_kind: r.2,
            actor_id: r.3,
            actor_name: r.4,
            client_addr: r.5,
            user_agent: r.6,
            action: r.7,
            target: r.8,
            project_id: r.9,
            summary: r.10,
            result: r.11,
            prev_hash: r.12,
            hash: r.13,
        })
        .collect();
    // `seq` is the primary key: sorting is the same order the query asked for.
    events.sort_unstable_by_key(|e| e.seq);
    Ok(events)
}

/// Walks the whole chain and names the first event that does not fit. Reads in chunks by
/// sequence number (short read transactions) and hashes one chunk while reading the next.
pub async fn verify(db: &Db) -> ServiceResult<VerifyReport> {
    let mut walk = Walk {
        expected_seq: 1,
        prev_hash: GENESIS.to_string(),
        checked: 0,
    };
    // The first stored seq may be above 0 if early events were deleted: start from 0 so the
    // gap is reported.
    let mut chunk = fetch_chunk(db, 0).await?;
    while !chunk.is_empty() {
        let after = chunk.last().map_or(0, |e| e.seq);
        let full = chunk.len() as i64 == VERIFY_CHUNK;
        let checking = tokio::task::spawn_blocking(move || check_chunk(&chunk, walk));
        let (next, checked) = tokio::join!(
            async {
                if full {
                    fetch_chunk(db, after).await
                } else {
                    Ok(Vec::new())
                }
            },
            checking
        );
        walk = match checked.map_err(|e| super::error::ServiceError::Internal(e.to_string()))? {
            Ok(w) => w,
            Err(report) => return Ok(report),
        };
        chunk = next?;
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&db.pool)
        .await?;
    let head_seq: i64 = head.try_get(0)?;
    let head_hash: String = head.try_get(1)?;
    let last = walk.expected_seq - 1;
    if head_seq != last || head_hash != walk.prev_hash {
        let problem = if head_seq > last {
            format!(
                "events {} to {head_seq} are missing (deleted from the end)",
                last + 1
            )
        } else {
            format!("the chain ends at {last} but its recorded tip is {head_seq}")
        };
        return Ok(broken(last + 1, walk.checked, problem));
    }
    Ok(VerifyReport {
        ok: true,
        events_checked: walk.checked,
        first_bad_seq: None,
        problem: None,
    })
}

fn parse_time(field: &str, raw: &str) -> ServiceResult<i64> {
    let s = raw.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M") {
        return Ok(t.and_utc().timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis());
    }
    Err(super::error::ServiceError::invalid(
        field,
        "use a date (2026-01-31), an RFC 3339 time, or Unix milliseconds",
    ))
}

/// Which projects' events the caller may read: `None` means all.
pub type Visibility = Option<Vec<i64>>;

/// One page of events, newest first, filtered.
pub async fn list(db: &Db, visible: &Visibility, f: &AuditFilter) -> ServiceResult<AuditPage> {
    let limit = f.limit.unwrap_or(50).clamp(1, 1000);
    let mut sql = format!(
        "SELECT {COLUMNS}, p.slug FROM audit_events e LEFT JOIN projects p ON p.id = e.project_id WHERE 1 = 1"
    );
    let mut binds: Vec<Bind> = Vec::new();
    let arg = |binds: &mut Vec<Bind>, b: Bind| {
        binds.push(b);
        format!("${}", binds.len())
    };
    if let Some(actor) = f.actor.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let p = arg(&mut binds, Bind::Text(format!("%{}%", escape_like(actor))));
        sql.push_str(&format!(" AND e.actor_name LIKE {p} ESCAPE '\\'"));
    }
    if let Some(action) = f.action.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let p = arg(&mut binds, Bind::Text(format!("{}%", escape_like(action))));
        sql.push_str(&format!(" AND e.action LIKE {p} ESCAPE '\\'"));
    }
    if let Some(target) = f.target.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let p = arg(&mut binds, Bind::Text(format!("%{}%", escape_like(target))));
        sql.push_str(&format!(" AND e.target LIKE {p} ESCAPE '\\'"));
    }
    if let Some(since) = f.since.as_deref().filter(|s| !s.trim().is_empty()) {
        let p = arg(&mut binds, Bind::Int(parse_time("since", since)?));
        sql.push_str(&format!(" AND e.ts >= {p}"));
    }
    if let Some(until) = f.until.as_deref().filter(|s| !s.trim().is_empty()) {
        let p = arg(&mut binds, Bind::Int(parse_time("until", until)?));
        sql.push_str(&format!(" AND e.ts <= {p}"));
    }
    if let Some(before) = f.before {
        let p = arg(&mut binds, Bind::Int(before));
        sql.push_str(&format!(" AND e.seq < {p}"));
    }
    if let Some(ids) = visible {
        if ids.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            let list = ids
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            sql.push_str(&format!(" AND e.project_id IN ({list})"));
        }
    }
    let p = arg(&mut binds, Bind::Int(limit + 1));
    sql.push_str(&format!(" ORDER BY e.seq DESC LIMIT {p}"));
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s),
            Bind::Int(i) => q.bind(i),
        };
    }
    let rows = q.fetch_all(&db.pool).await?;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows.iter().take(limit as usize) {
        let e = stored(row)?;
        let slug: Option<String> = row.try_get(14)?;
        events.push(AuditEventView {
            seq: e.seq,
            ts: e.ts,
            actor_kind: e.actor_kind,
            actor: e.actor_name,
            client_addr: e.client_addr,
            user_agent: e.user_agent,
            action: e.action,
            target: e.target,
            project: slug,
            summary: e.summary,
            result: e.result,
            hash: e.hash,
        });
    }
    let next_before = if rows.len() as i64 > limit {
        events.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(AuditPage {
        events,
        next_before,
    })
}

enum Bind {
    Text(String),
    Int(i64),
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
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
