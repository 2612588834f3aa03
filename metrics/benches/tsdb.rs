//! Storage benchmark: `cargo bench -p metrics --bench tsdb` (add `--features compare-tsink`
//! to also run the same data through the `tsink` crate). Prints `key=value` lines.
//! `BERTH_BENCH_QUICK=1` shrinks every size about tenfold.
//!
//! Phases: RSS with 1,000,000 series of 3 samples each (first, in a fresh process heap);
//! ingest of 10,000 series × 24 h × 15 s (57.6 M samples), appended one target's scrape
//! (100 samples) per call, then bytes per sample of the blocks; the same with timestamps
//! aligned to the interval (as Prometheus's scraper aligns them); a 30-day range over 200
//! series (rollups at a 30 min step, raw at 60 s); bytes per sample of each series shape
//! alone (see `workload::Kind`).
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use metrics::model::{Labels, Matcher};
use metrics::tsdb::{Options, SeriesRef, Tsdb};

#[cfg(feature = "compare-tsink")]
#[path = "tsdb/tsink.rs"]
mod tsink_run;
#[path = "tsdb/workload.rs"]
mod workload;

use workload::{Workload, INTERVAL};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn quick() -> bool {
    std::env::var("BERTH_BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn print(key: &str, value: impl std::fmt::Display) {
    println!("{key}={value}");
}

fn rss_phase(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let before = rss_mib();
    let db = Tsdb::open(dir.path(), Options::default()).unwrap();
    let t0 = now_ms() - HOUR;
    let started = Instant::now();
    let mut refs: Vec<SeriesRef> = Vec::with_capacity(n);
    for i in 0..n {
        let l = Labels::new([
            ("__name__", format!("metric_{}", i % 200)),
            ("job", "node".to_string()),
            (
                "instance",
                format!(
                    "10.{}.{}.{}:9100",
                    i / 200 / 65536,
                    (i / 200 / 256) % 256,
                    (i / 200) % 256
                ),
            ),
            ("project", format!("project-{}", i % 23)),
            (
                "environment",
                ["production", "staging", "dev"][i % 3].to_string(),
            ),
        ]);
        refs.push(db.series_ref(&l).unwrap());
    }
    let created = started.elapsed();
    for k in 0..3 {
        for chunk in refs.chunks(1000) {
            let batch: Vec<_> = chunk
                .iter()
                .map(|r| (*r, t0 + k * INTERVAL, k as f64))
                .collect();
            db.append(&batch).unwrap();
        }
    }
    let after = rss_mib();
    print(
        "series_created_per_sec",
        (n as f64 / created.as_secs_f64()) as u64,
    );
    print("rss_series", n);
    print("rss_1m_series_mib", format!("{after:.0}"));
    print("rss_1m_series_delta_mib", format!("{:.0}", after - before));
    print(
        "rss_bytes_per_series",
        ((after - before) * 1048576.0 / n as f64) as u64,
    );
    drop(db);
}

struct Ingested {
    samples: u64,
    /// Time in `append` calls.
    append_time: Duration,
    /// Time in `append` and `maintain` calls (maintenance inline, every simulated hour).
    with_maintain: Duration,
}

/// Appends `hours` of the workload from `start`, running maintenance every simulated hour.
fn ingest(db: &Tsdb, w: &mut Workload, start: i64, hours: i64) -> Ingested {
    let refs: Vec<SeriesRef> = w.labels.iter().map(|l| db.series_ref(l).unwrap()).collect();
    let mut scrape = Vec::new();
    let mut batch = Vec::with_capacity(workload::PER_TARGET);
    let (mut samples, mut append_time, mut maintain_time) = (0u64, Duration::ZERO, Duration::ZERO);
    let steps = hours * HOUR / INTERVAL;
    for k in 0..steps {
        let at = start + k * INTERVAL;
        for target in 0..w.targets() {
            let ts = w.scrape(target, at, &mut scrape);
            batch.clear();
            batch.extend(scrape.iter().map(|&(i, v)| (refs[i], ts, v)));
            let t = Instant::now();
            let out = db.append(&batch).unwrap();
            append_time += t.elapsed();
            samples += out.accepted as u64;
        }
        if (k + 1) % (HOUR / INTERVAL) == 0 {
            let t = Instant::now();
            db.maintain(at).unwrap();
            maintain_time += t.elapsed();
        }
    }
    Ingested {
        samples,
        append_time,
        with_maintain: append_time + maintain_time,
    }
}

fn ingest_phase(series: usize, hours: i64, jitter_ms: i64, suffix: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), Options::default()).unwrap();
    let mut w = Workload::new(series, "app", jitter_ms, 42);
    let start = (now_ms() - hours * HOUR).div_euclid(DAY) * DAY;
    let got = ingest(&db, &mut w, start, hours);
    let end = start + hours * HOUR;
    db.maintain(end).unwrap();
    let s = db.stats();
    let raw_bytes: u64 = dir_bytes(&dir.path().join("blocks"));
    print(&format!("ingest_samples{suffix}"), got.samples);
    print(
        &format!("ingest_samples_per_sec{suffix}"),
        (got.samples as f64 / got.append_time.as_secs_f64()) as u64,
    );
    print(
        &format!("ingest_with_maintain_samples_per_sec{suffix}"),
        (got.samples as f64 / got.with_maintain.as_secs_f64()) as u64,
    );
    let rollup_bytes = raw_bytes - raw_only_bytes(&dir.path().join("blocks"));
    print(
        &format!("bytes_per_sample{suffix}"),
        format!(
            "{:.3}",
            (raw_bytes - rollup_bytes) as f64 / s.block_samples as f64
        ),
    );
    print(
        &format!("bytes_per_sample_incl_rollups{suffix}"),
        format!("{:.3}", raw_bytes as f64 / s.block_samples as f64),
    );
    print(&format!("block_samples{suffix}"), s.block_samples);
    print(&format!("raw_blocks{suffix}"), s.raw_blocks);
    print(&format!("wal_bytes{suffix}"), s.wal_bytes);
    print(
        &format!("disk_bytes_per_sample_incl_wal{suffix}"),
        format!("{:.3}", dir_bytes(dir.path()) as f64 / got.samples as f64),
    );
}

/// Bytes per sample of each series shape alone (100 series × 24 h, timestamps jittered).
fn kinds_phase() {
    for kind in workload::Kind::ALL {
        let dir = tempfile::tempdir().unwrap();
        let db = Tsdb::open(dir.path(), Options::default()).unwrap();
        let mut w = Workload::with_kinds(100, "kind", 2, 9, |_| kind);
        let start = (now_ms() - DAY).div_euclid(DAY) * DAY;
        ingest(&db, &mut w, start, 24);
        db.maintain(start + DAY).unwrap();
        let s = db.stats();
        let raw = raw_only_bytes(&dir.path().join("blocks"));
        print(
            &format!("bytes_per_sample_kind_{}", kind.name()),
            format!("{:.3}", raw as f64 / s.block_samples as f64),
        );
    }
}

fn raw_only_bytes(blocks: &Path) -> u64 {
    std::fs::read_dir(blocks)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("raw-"))
        .map(|e| dir_bytes(&e.path()))
        .sum()
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn query_phase(days: i64) {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), Options::default()).unwrap();
    let mut w = Workload::new(200, "query", 2, 7);
    let end = now_ms().div_euclid(HOUR) * HOUR;
    let start = end - days * DAY;
    let got = ingest(&db, &mut w, start, days * 24);
    db.maintain(end).unwrap();
    print("query_ingested_samples", got.samples);
    let m = [Matcher::equal("job", "query")];
    // For profiling: `BERTH_BENCH_QUERY_REPEAT=50` runs every query 50 times as often.
    let repeat: usize = std::env::var("BERTH_BENCH_QUERY_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let time = |step: i64, from: i64, runs: usize| -> (f64, f64, usize) {
        let runs = runs * repeat;
        let mut ms = Vec::new();
        let mut n = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let r = db.select_hinted(&m, from, end, step).unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(r.len(), 200);
            n = r.iter().map(|s| s.samples.len()).sum();
        }
        let min = ms.iter().copied().fold(f64::MAX, f64::min);
        (percentile(ms, 0.5), min, n)
    };
    let (p50, min, n) = time(30 * 60_000, start, 21);
    print("query_range_30d_200_series_ms_p50", format!("{p50:.1}"));
    print("query_range_30d_200_series_ms_min", format!("{min:.1}"));
    print("query_range_30d_200_series_samples", n);
    if std::env::var("BERTH_BENCH_QUERIES").is_ok_and(|q| q == "rollup") {
        return;
    }
    let (p50, _, n) = time(60_000, start, 5);
    print(
        "query_range_30d_200_series_step60s_ms_p50",
        format!("{p50:.1}"),
    );
    print("query_range_30d_200_series_step60s_samples", n);
    let (p50, min, n) = time(60_000, end - DAY, 11);
    print("query_range_24h_200_series_raw_ms_p50", format!("{p50:.1}"));
    print("query_range_24h_200_series_raw_ms_min", format!("{min:.1}"));
    print("query_range_24h_200_series_raw_samples", n);
}

/// Whether a phase runs: all unless `BERTH_BENCH_PHASES` (comma-separated) names others.
fn phase(name: &str) -> bool {
    std::env::var("BERTH_BENCH_PHASES").map_or(true, |p| p.split(',').any(|x| x.trim() == name))
}

fn main() {
    let q = quick();
    print("quick", q);
    if phase("rss") {
        rss_phase(if q { 100_000 } else { 1_000_000 });
    }
    let (series, hours) = if q { (1_000, 24) } else { (10_000, 24) };
    if phase("ingest") {
        ingest_phase(series, hours, 2, "");
        ingest_phase(series, hours, 0, "_aligned");
    }
    if phase("kinds") {
        kinds_phase();
    }
    if phase("query") {
        query_phase(if q { 3 } else { 30 });
    }
    #[cfg(feature = "compare-tsink")]
    if phase("tsink") {
        tsink_run::run(series, hours);
    }
}
