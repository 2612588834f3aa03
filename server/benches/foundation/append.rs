//! The audit append rate: one event per transaction, and many.
use super::report::{ms, runtime, Report};
use berth_core::audit::{self, NewEvent};
use berth_core::context::{Actor, AuthUser, Ctx, RequestMeta};
use berth_model::InstanceRole;
use berth_server::config::Config;
use std::time::{Duration, Instant};

/// Events per transaction in the batched append measurement.
const APPEND_BATCH: usize = 1_000;
const APPEND_BATCHES: usize = 20;
/// Cap on single-event appends, whatever the duration.
const APPEND_MAX: usize = 50_000;

fn user_ctx(id: i64, name: &str) -> Ctx {
    Ctx::new(
        Actor::User(AuthUser {
            id,
            username: name.into(),
            instance_role: InstanceRole::User,
        }),
        RequestMeta {
            client_addr: "127.0.0.1".into(),
            user_agent: "berth-bench".into(),
        },
    )
}

pub fn bench_append(report: &mut Report, duration: Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::for_data_dir(dir.path().to_path_buf(), None);
    let rt = runtime();
    rt.block_on(async {
        let state = berth_server::build_state(&config).await.expect("state");
        let db = &state.db;
        let ctx = user_ctx(1, "alice");
        let event = |i: usize| {
            NewEvent::new("project.update", format!("project:bench-{}", i % 100))
                .project((i % 100) as i64 + 1)
                .summary(
                    serde_json::json!({ "field": "name", "from": "old", "to": format!("new-{i}") }),
                )
        };

        // One event per write transaction, as every audited action does.
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < duration && n < APPEND_MAX {
            let mut tx = db.begin_write().await.expect("begin");
            audit::append(&mut tx, &ctx, event(n))
                .await
                .expect("append");
            tx.commit().await.expect("commit");
            n += 1;
        }
        let single = start.elapsed();
        report.add(
            "audit append, 1 event per transaction",
            format!("{:.0} events/s", n as f64 / single.as_secs_f64()),
            "report",
            None,
        );
        report.add(
            "audit append, mean transaction time",
            ms(single / n.max(1) as u32),
            "report",
            None,
        );

        // Many events per transaction: the cost of append itself.
        let start = Instant::now();
        for b in 0..APPEND_BATCHES {
            let mut tx = db.begin_write().await.expect("begin");
            for i in 0..APPEND_BATCH {
                audit::append(&mut tx, &ctx, event(b * APPEND_BATCH + i))
                    .await
                    .expect("append");
            }
            tx.commit().await.expect("commit");
        }
        let batched = start.elapsed();
        let total = APPEND_BATCHES * APPEND_BATCH;
        report.add(
            &format!("audit append, {APPEND_BATCH} events per transaction"),
            format!("{:.0} events/s", total as f64 / batched.as_secs_f64()),
            "report",
            None,
        );
        let check = audit::verify(db).await.expect("verify");
        assert!(check.ok, "appended chain does not verify: {check:?}");
        assert_eq!(check.events_checked as usize, n + total);
        state.db.pool.close().await;
    });
}
