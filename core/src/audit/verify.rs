//! Walking the chain: names the first event that was altered, inserted or deleted.
use super::{event_hash, StoredEvent, GENESIS};
use crate::db::Db;
use crate::error::ServiceResult;
use berth_model::VerifyReport;
use sqlx::Row;

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
        crate::db::Dialect::Sqlite => format!(
            "SELECT COALESCE(json_group_array(json_array({cols})), '[]') FROM \
             (SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2)"
        ),
        crate::db::Dialect::Postgres => format!(
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
        .map_err(|e| crate::error::ServiceError::Internal(format!("audit chunk: {e}")))?;
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
        walk = match checked.map_err(|e| crate::error::ServiceError::Internal(e.to_string()))? {
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
