//! Verifying a long audit chain, and where the time goes (hashing, reading).
use super::report::{runtime, Report};
use berth_core::audit::{self, StoredEvent, GENESIS};
use berth_core::Db;
use berth_server::config::Config;
use std::time::{Duration, Instant};

/// Rows per transaction when building the long audit chain.
const CHAIN_BATCH: usize = 50_000;

/// Builds a valid chain of `events` rows; returns the time spent in `event_hash`.
async fn build_chain(db: &Db, events: usize) -> Duration {
    let mut hashing = Duration::ZERO;
    let mut prev = GENESIS.to_string();
    let base_ts = 1_700_000_000_000i64;
    let mut seq = 0i64;
    while (seq as usize) < events {
        let mut tx = db.begin_write().await.expect("begin");
        let end = (seq as usize + CHAIN_BATCH).min(events) as i64;
        while seq < end {
            seq += 1;
            let i = seq;
            let mut e = StoredEvent {
                seq: i,
                ts: base_ts + i * 37,
                actor_kind: "user".into(),
                actor_id: Some(1 + i % 5),
                actor_name: format!("user-{}", i % 5),
                client_addr: "192.0.2.10".into(),
                user_agent: "Mozilla/5.0 (X11; Linux x86_64) berth-bench".into(),
                action: "project.update".into(),
                target: format!("project:bench-{}", i % 100),
                project_id: if i % 3 == 0 { None } else { Some(i % 100) },
                summary: format!(r#"{{"field":"name","from":"old","to":"new-{i}"}}"#),
                result: "success".into(),
                prev_hash: std::mem::take(&mut prev),
                hash: String::new(),
            };
            let t = Instant::now();
            e.hash = audit::event_hash(&e);
            hashing += t.elapsed();
            audit::insert_raw(&mut tx, &e).await.expect("insert_raw");
            prev = e.hash;
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&prev)
            .execute(&mut *tx)
            .await
            .expect("update head");
        tx.commit().await.expect("commit");
    }
    hashing
}

const READ_SQL: &str =
    "SELECT seq, ts, actor_kind, actor_id, actor_name, client_addr, user_agent, \
    action, target, project_id, summary, result, prev_hash, hash FROM audit_events ORDER BY seq";

/// Decodes all 14 columns of an audit row into owned values, as `verify` does; 1 if sane.
macro_rules! decode_row {
    ($row:expr) => {{
        let row = &$row;
        let ints: [i64; 2] = [row.try_get(0).expect("seq"), row.try_get(1).expect("ts")];
        let opts: [Option<i64>; 2] = [
            row.try_get(3).expect("actor_id"),
            row.try_get(9).expect("project_id"),
        ];
        let mut texts = Vec::with_capacity(10);
        for i in [2usize, 4, 5, 6, 7, 8, 10, 11, 12, 13] {
            let t: String = row.try_get(i).expect("text column");
            texts.push(t);
        }
        usize::from(ints[0] > 0 && opts.len() == 2 && texts.iter().all(|t| !t.is_empty()))
    }};
}

/// Reads and decodes every row the way `verify` does, without hashing: the database share.
async fn read_any(db: &Db) -> usize {
    use futures_util::TryStreamExt;
    use sqlx::Row;
    let mut rows = sqlx::query(READ_SQL).fetch(&db.pool);
    let mut n = 0usize;
    while let Some(row) = rows.try_next().await.expect("row") {
        n += decode_row!(row);
    }
    n
}

/// The same read through the native SQLite driver instead of `sqlx::Any`.
async fn read_native(path: &std::path::Path) -> usize {
    use futures_util::TryStreamExt;
    use sqlx::Row;
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .read_only(true),
        )
        .await
        .expect("native sqlite");
    let mut n = 0usize;
    {
        let mut rows = sqlx::query(READ_SQL).fetch(&pool);
        while let Some(row) = rows.try_next().await.expect("row") {
            n += decode_row!(row);
        }
    }
    pool.close().await;
    n
}

pub fn bench_verify(report: &mut Report, events: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::for_data_dir(dir.path().to_path_buf(), None);
    let rt = runtime();
    rt.block_on(async {
        let state = berth_server::build_state(&config).await.expect("state");
        let db = state.db.clone();
        let t = Instant::now();
        let hashing = build_chain(&db, events).await;
        let build = t.elapsed();
        report.add(
            &format!("audit chain build ({events} events, insert_raw)"),
            format!(
                "{:.1} s ({:.0} rows/s)",
                build.as_secs_f64(),
                events as f64 / build.as_secs_f64()
            ),
            "setup",
            None,
        );
        let size = std::fs::metadata(dir.path().join("berth.db"))
            .map(|m| m.len())
            .unwrap_or(0);
        report.add(
            "audit database file size",
            format!("{:.0} MiB", size as f64 / 1024.0 / 1024.0),
            "report",
            None,
        );
        let t = Instant::now();
        let check = audit::verify(&db).await.expect("verify");
        let took = t.elapsed();
        assert!(check.ok, "built chain does not verify: {check:?}");
        assert_eq!(check.events_checked as usize, events);
        let target = 5.0 * events as f64 / 1_000_000.0;
        report.add(
            &format!("audit verify, {events} events"),
            format!(
                "{:.2} s ({:.0} events/s)",
                took.as_secs_f64(),
                events as f64 / took.as_secs_f64()
            ),
            &format!("< {target:.1} s (5 s per 1M)"),
            Some(took.as_secs_f64() < target),
        );
        // Where the verify time goes.
        report.add(
            &format!("  of which hashing: event_hash x {events} (timed during build)"),
            format!("{:.2} s", hashing.as_secs_f64()),
            "diagnostic",
            None,
        );
        let t = Instant::now();
        assert_eq!(read_any(&db).await, events);
        report.add(
            "  of which reading: stream + decode via sqlx::Any, no hashing",
            format!("{:.2} s", t.elapsed().as_secs_f64()),
            "diagnostic",
            None,
        );
        let t = Instant::now();
        assert_eq!(read_native(&dir.path().join("berth.db")).await, events);
        report.add(
            "  same read via the native sqlx SQLite driver",
            format!("{:.2} s", t.elapsed().as_secs_f64()),
            "diagnostic",
            None,
        );
        state.db.pool.close().await;
    });
}
