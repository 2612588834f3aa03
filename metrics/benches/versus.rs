//! Berth's side of the side-by-side benchmark against Debian's Prometheus 2.42, and the data
//! both sides get. `scripts/bench-metrics.sh` builds this (`cargo bench -p metrics --bench
//! versus --no-run`) and runs it step by step between the Prometheus tools; every step
//! prints `key=value` lines. Steps (the first argument):
//!
//! - `labels FILE N`: N label sets in the file format of `promtool tsdb bench write`;
//! - `ingest FILE METRICS SCRAPES THREADS`: what `promtool tsdb bench write` does, through
//!   `Tsdb::append`: the first METRICS label sets, shards of 1,000 series, rounds of 100
//!   scrapes (all shards of a round concurrently, on THREADS threads), 30 s apart, each
//!   sample 1,000 above the last, the series looked up by labels at a round's first scrape;
//! - `bytes OM SERIES HOURS JITTER_MS`: the storage benchmark's mix of series shapes (with
//!   counter resets; scrape timestamps ± JITTER_MS) appended and compacted, and the same
//!   samples written as OpenMetrics to OM;
//! - `query-data OM DAYS` and `query PROMETHEUS_ADDR DAYS RUNS`: see `versus/query.rs`;
//! - `rss-berth N`, `remote-write ADDR N`: N active series of 3 samples each, held by Berth's
//!   storage in this process, or sent to a Prometheus with remote write.
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use metrics::model::{Labels, Series};
use metrics::tsdb::{Options, SeriesRef, Tsdb};

#[path = "versus/http.rs"]
mod http;
#[path = "versus/query.rs"]
mod query;
/// The `berth` binary's allocator (`server/src/main.rs`).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
#[path = "tsdb/workload.rs"]
#[allow(dead_code)] // shared with the storage benchmark, which uses all of it
mod workload;

pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;
/// The data's end: a fixed day (2025-11-30), so every step generates the same samples.
pub const END: i64 = 1_764_460_800_000;

pub fn print(key: &str, value: impl std::fmt::Display) {
    println!("{key}={value}");
}

pub fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// One OpenMetrics sample line: `name{labels} value seconds.millis`.
pub fn om_line(out: &mut String, l: &Labels, v: f64, t: i64) {
    use std::fmt::Write;
    out.clear();
    out.push_str(l.get("__name__").unwrap_or("unnamed"));
    out.push('{');
    let mut first = true;
    for label in l.iter().filter(|x| &*x.name != "__name__") {
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(out, "{}=\"{}\"", label.name, label.value);
    }
    let _ = writeln!(
        out,
        "}} {v} {}.{:03}",
        t.div_euclid(1000),
        t.rem_euclid(1000)
    );
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path).map_or(0, |rd| {
        rd.flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

/// Label sets for the ingest step: no `:` or `,` in values (promtool's reader splits on them).
fn write_labels(path: &str, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        let host = i / 100;
        writeln!(
            f,
            "{{\"__name__\":\"metric_{}\",\"job\":\"node\",\"instance\":\"host-{}-{}\",\"project\":\"project-{}\",\"environment\":\"{}\"}}",
            i % 100,
            host / 250,
            host % 250,
            host % 17,
            ["production", "staging", "dev"][host % 3]
        )
        .unwrap();
    }
}

/// Reads label sets as `promtool tsdb bench write` does: drop `"`, `{`, `}`, split on `,`
/// then `:`; duplicates skipped.
fn read_labels(path: &str, n: usize) -> Vec<Labels> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for line in text.lines().take(n) {
        let s: String = line
            .chars()
            .filter(|c| !matches!(c, '"' | '{' | '}'))
            .collect();
        let l = Labels::new(s.split(',').map(|c| {
            let mut kv = c.split(':');
            (
                kv.next().unwrap_or("").to_string(),
                kv.next().unwrap_or("").to_string(),
            )
        }));
        if seen.insert(l.clone()) {
            out.push(l);
        }
    }
    out
}

fn ingest_shard(db: &Tsdb, labels: &[Labels], scrapes: usize, base_t: i64) -> u64 {
    let mut refs: Vec<Option<SeriesRef>> = vec![None; labels.len()];
    let mut values = vec![123_456_789i64; labels.len()];
    let mut batch = Vec::with_capacity(labels.len());
    let (mut t, mut total) = (base_t, 0);
    for _ in 0..scrapes {
        t += 30_000;
        batch.clear();
        for (j, l) in labels.iter().enumerate() {
            values[j] += 1000;
            let r = *refs[j].get_or_insert_with(|| db.series_ref(l).unwrap());
            batch.push((r, t, values[j] as f64));
        }
        total += db.append(&batch).unwrap().accepted as u64;
    }
    total
}

fn ingest(path: &str, metrics: usize, scrapes: usize, threads: usize) {
    let labels = read_labels(path, metrics);
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), Options::default()).unwrap();
    let shards: Vec<&[Labels]> = labels.chunks(1000).collect();
    let total = AtomicU64::new(0);
    let started = Instant::now();
    for round in (0..scrapes).step_by(100) {
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(shard) = shards.get(k) else { break };
                    let n = ingest_shard(&db, shard, 100, round as i64 * 30_000);
                    total.fetch_add(n, Ordering::Relaxed);
                });
            }
        });
    }
    let secs = started.elapsed().as_secs_f64();
    let total = total.load(Ordering::Relaxed);
    print(&format!("ingest_threads{threads}_samples"), total);
    print(
        &format!("ingest_threads{threads}_samples_per_sec"),
        (total as f64 / secs) as u64,
    );
    assert_eq!(total, (labels.len() * scrapes.div_ceil(100) * 100) as u64);
}

fn bytes(om: &str, series: usize, hours: i64, jitter_ms: i64) {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), Options::default()).unwrap();
    let mut w = workload::Workload::new(series, "app", jitter_ms, 42);
    // Each counter restarts about every two days.
    w.resets = 1.0 / (2.0 * 5760.0);
    // Just after the start of a 486 h range, where Prometheus aligns its largest blocks (the
    // first scrape's jitter would otherwise open a block of its own).
    let start = (END - 2 * DAY).div_euclid(486 * HOUR) * 486 * HOUR + workload::INTERVAL;
    let refs: Vec<SeriesRef> = w.labels.iter().map(|l| db.series_ref(l).unwrap()).collect();
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(om).unwrap());
    let (mut scrape, mut batch, mut line) = (Vec::new(), Vec::new(), String::new());
    let mut appended = 0u64;
    let steps = hours * HOUR / workload::INTERVAL;
    for k in 0..steps {
        let at = start + k * workload::INTERVAL;
        for target in 0..w.targets() {
            let ts = w.scrape(target, at, &mut scrape);
            batch.clear();
            for &(i, v) in &scrape {
                batch.push((refs[i], ts, v));
                om_line(&mut line, &w.labels[i], v, ts);
                f.write_all(line.as_bytes()).unwrap();
            }
            appended += db.append(&batch).unwrap().accepted as u64;
        }
        if (k + 1) % (HOUR / workload::INTERVAL) == 0 {
            db.maintain(at).unwrap();
        }
    }
    f.write_all(b"# EOF\n").unwrap();
    f.flush().unwrap();
    // One sample 3 h later in a series of its own moves the head on, so that every sample
    // of the 24 h is cut into blocks (the marker stays in the head).
    let end = start + hours * HOUR;
    let marker = db
        .series_ref(&Labels::new([("__name__", "flush_marker")]))
        .unwrap();
    db.append(&[(marker, end + 3 * HOUR, 1.0)]).unwrap();
    db.maintain(end + 3 * HOUR).unwrap();
    let s = db.stats();
    let blocks = dir.path().join("blocks");
    let raw: u64 = std::fs::read_dir(&blocks)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("raw-"))
        .map(|e| dir_bytes(&e.path()))
        .sum();
    let all = dir_bytes(&blocks);
    print("bytes_samples_appended", appended);
    print("bytes_block_samples", s.block_samples);
    print("bytes_raw_blocks", s.raw_blocks);
    print("bytes_rollup_blocks", s.rollup_blocks);
    print("bytes_raw_block_bytes", raw);
    print("bytes_all_block_bytes", all);
    print(
        "bytes_per_sample",
        format!("{:.3}", raw as f64 / s.block_samples as f64),
    );
    print(
        "bytes_per_sample_incl_rollups",
        format!("{:.3}", all as f64 / s.block_samples as f64),
    );
}

/// The label set of active series `i` (as the storage benchmark's RSS phase).
fn rss_labels(i: usize) -> Labels {
    let h = i / 200;
    Labels::new([
        ("__name__", format!("metric_{}", i % 200)),
        ("job", "node".to_string()),
        (
            "instance",
            format!("10.{}.{}.{}:9100", h / 65536, (h / 256) % 256, h % 256),
        ),
        ("project", format!("project-{}", i % 23)),
        (
            "environment",
            ["production", "staging", "dev"][i % 3].to_string(),
        ),
    ])
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn rss_berth(n: usize) {
    print("rss_berth_start_kib", status_kib("VmRSS:"));
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), Options::default()).unwrap();
    let t0 = now_ms() - 10 * 60_000;
    let refs: Vec<SeriesRef> = (0..n)
        .map(|i| db.series_ref(&rss_labels(i)).unwrap())
        .collect();
    for k in 0..3 {
        for chunk in refs.chunks(2000) {
            let batch: Vec<_> = chunk
                .iter()
                .map(|r| (*r, t0 + k * 15_000, k as f64))
                .collect();
            db.append(&batch).unwrap();
        }
    }
    assert_eq!(db.stats().head_series, n);
    std::thread::sleep(std::time::Duration::from_secs(5));
    print("rss_berth_series", n);
    print("rss_berth_vmrss_kib", status_kib("VmRSS:"));
    print("rss_berth_vmhwm_kib", status_kib("VmHWM:"));
    drop(db);
}

fn remote_write(addr: &str, n: usize) {
    let t0 = now_ms() - 10 * 60_000;
    let started = Instant::now();
    let headers = [
        ("Content-Type", metrics::remote::CONTENT_TYPE),
        ("Content-Encoding", metrics::remote::CONTENT_ENCODING),
        metrics::remote::VERSION_HEADER,
    ];
    for k in 0..3 {
        for from in (0..n).step_by(2000) {
            let series: Vec<Series> = (from..(from + 2000).min(n))
                .map(|i| Series {
                    labels: rss_labels(i),
                    samples: vec![(t0 + k * 15_000, k as f64)],
                })
                .collect();
            let body = metrics::remote::body(&series);
            let (status, answer) = http::request(addr, "POST", "/api/v1/write", &headers, &body);
            assert!(
                status / 100 == 2,
                "remote write: {status} {}",
                String::from_utf8_lossy(&answer)
            );
        }
    }
    print("remote_write_series", n);
    print(
        "remote_write_secs",
        format!("{:.1}", started.elapsed().as_secs_f64()),
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let num = |i: usize| {
        arg(i)
            .parse::<usize>()
            .unwrap_or_else(|_| panic!("argument {i}: a number"))
    };
    match arg(0).as_str() {
        "labels" => write_labels(&arg(1), num(2)),
        "ingest" => ingest(&arg(1), num(2), num(3), num(4)),
        "bytes" => bytes(&arg(1), num(2), num(3) as i64, num(4) as i64),
        "query-data" => query::write_openmetrics(&arg(1), num(2) as i64),
        "query" => query::run(&arg(1), num(2) as i64, num(3)),
        "rss-berth" => rss_berth(num(1)),
        "remote-write" => remote_write(&arg(1), num(2)),
        "" => println!("see scripts/bench-metrics.sh (this bench runs step by step)"),
        other => panic!("unknown step {other}"),
    }
}
