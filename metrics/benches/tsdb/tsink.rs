//! The same ingest through the `tsink` crate (feature `compare-tsink`), for the issue's
//! "weigh an existing crate": samples/s of `insert_rows` and bytes per sample on disk after
//! `close`, with its WAL synced periodically (as ours is not fsynced per batch by default).
//! With its default fail-fast, one background flush error (seen at 10,000 series: "No such
//! file or directory") stops all writes; here background errors are counted and reported
//! instead, and the samples readable after reopening are counted.
use std::time::{Duration, Instant};

use tsink::{DataPoint, Label, Row, StorageBuilder, TimestampPrecision, WalSyncMode};

use super::workload::{Workload, INTERVAL, PER_TARGET};
use super::{dir_bytes, now_ms, print, DAY, HOUR};

pub fn run(series: usize, hours: i64) {
    let dir = tempfile::tempdir().unwrap();
    let storage = StorageBuilder::new()
        .with_data_path(dir.path())
        .with_timestamp_precision(TimestampPrecision::Milliseconds)
        .with_wal_sync_mode(WalSyncMode::Periodic(Duration::from_secs(1)))
        .with_background_fail_fast(false)
        .build()
        .unwrap();
    let mut w = Workload::new(series, "app", 2, 42);
    let ident: Vec<(String, Vec<Label>)> = w
        .labels
        .iter()
        .map(|l| {
            let name = l.name().unwrap_or("").to_string();
            let rest = l
                .without_name()
                .iter()
                .map(|l| Label::new(l.name.to_string(), l.value.to_string()))
                .collect();
            (name, rest)
        })
        .collect();
    let start = (now_ms() - hours * HOUR).div_euclid(DAY) * DAY;
    let mut scrape = Vec::new();
    let mut rows = Vec::with_capacity(PER_TARGET);
    let (mut samples, mut spent) = (0u64, Duration::ZERO);
    for k in 0..hours * HOUR / INTERVAL {
        for target in 0..w.targets() {
            let ts = w.scrape(target, start + k * INTERVAL, &mut scrape);
            rows.clear();
            rows.extend(scrape.iter().map(|&(i, v)| {
                let (name, labels) = &ident[i];
                Row::with_labels(name.clone(), labels.clone(), DataPoint::new(ts, v))
            }));
            let t = Instant::now();
            if let Err(e) = storage.insert_rows(&rows) {
                let health = storage.observability_snapshot().health;
                panic!("tsink insert at step {k}: {e}; background: {health:?}");
            }
            spent += t.elapsed();
            samples += rows.len() as u64;
        }
    }
    let health = storage.observability_snapshot().health;
    let t = Instant::now();
    storage.close().unwrap();
    let close = t.elapsed();
    print("tsink_background_errors", health.background_errors_total);
    if let Some(e) = health.last_background_error {
        print("tsink_last_background_error", format!("{e:?}"));
    }
    print("tsink_ingest_samples", samples);
    print(
        "tsink_ingest_samples_per_sec",
        (samples as f64 / spent.as_secs_f64()) as u64,
    );
    print("tsink_close_secs", format!("{:.1}", close.as_secs_f64()));
    print(
        "tsink_bytes_per_sample",
        format!("{:.3}", dir_bytes(dir.path()) as f64 / samples as f64),
    );
    let storage = StorageBuilder::new()
        .with_data_path(dir.path())
        .with_timestamp_precision(TimestampPrecision::Milliseconds)
        .build()
        .unwrap();
    let mut readable = 0;
    for (name, labels) in &ident {
        readable += storage
            .select(name, labels, i64::MIN, i64::MAX)
            .map_or(0, |p| p.len());
    }
    print("tsink_samples_readable_after_reopen", readable);
    storage.close().unwrap();
}
