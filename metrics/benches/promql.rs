//! Range queries of the seed dashboard's expressions over 30 days of 15 s data
//! (about 200 series per metric, in memory), at the step that gives ~11,000 points.
//! Prints, per expression, the best of five runs: wall time, and this thread's CPU time
//! (from `/proc/thread-self/schedstat`, so other processes on a busy machine count less)
//! split into storage (`select`, copying samples out of `MemSeries`) and evaluation.
//!
//! `cargo bench -p metrics --bench promql`
use metrics::model::{Labels, Matcher, MemSeries, QueryError, Queryable, Series};
use metrics::promql::{parse, Engine, HintedQueryable};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const DAY_MS: i64 = 86_400_000;
const SCRAPE_MS: i64 = 15_000;
const BUCKETS: [&str; 13] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "25", "+Inf",
];

/// A small deterministic generator, so runs compare.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn key(i: usize) -> Vec<(String, String)> {
    let methods = ["GET", "POST", "PUT", "DELETE"];
    vec![
        ("site".into(), format!("site-{}.local", i / 20)),
        ("method".into(), methods[i % 4].into()),
        ("view".into(), format!("view{}", (i / 4) % 5)),
        ("job".into(), "django".into()),
    ]
}

fn series(name: &str, key: &[(String, String)], extra: Option<(&str, &str)>) -> Labels {
    let mut pairs: Vec<(String, String)> = key.to_vec();
    pairs.push(("__name__".into(), name.into()));
    if let Some((n, v)) = extra {
        pairs.push((n.into(), v.into()));
    }
    Labels::new(pairs)
}

/// A counter growing by about `rate` per scrape, reset to 0 every few days (a restart).
fn counter(rng: &mut Lcg, start: i64, end: i64, rate: f64) -> Vec<(i64, f64)> {
    let mut out = Vec::with_capacity(((end - start) / SCRAPE_MS + 1) as usize);
    let mut v = 0.0;
    let mut t = start;
    while t <= end {
        if rng.next() < 1.0 / (3.0 * 5760.0) {
            v = 0.0;
        }
        v += (rate * rng.next() * 2.0).round();
        out.push((t, v));
        t += SCRAPE_MS;
    }
    out
}

fn data(start: i64, end: i64) -> MemSeries {
    let mut rng = Lcg(42);
    let mut out = Vec::new();
    for i in 0..200 {
        let k = key(i);
        let req = counter(&mut rng, start, end, 20.0);
        let exc: Vec<(i64, f64)> = req.iter().map(|(t, v)| (*t, (v / 50.0).floor())).collect();
        out.push(Series {
            labels: series("django_requests_total", &k, None),
            samples: req,
        });
        out.push(Series {
            labels: series("django_request_exceptions_total", &k, None),
            samples: exc,
        });
    }
    // 16 histograms of 13 buckets: 208 series.
    for i in 0..16 {
        let k = key(i * 12);
        let total = counter(&mut rng, start, end, 20.0);
        for (b, le) in BUCKETS.iter().enumerate() {
            let share = (b + 1) as f64 / BUCKETS.len() as f64;
            out.push(Series {
                labels: series(
                    "django_request_duration_seconds_bucket",
                    &k,
                    Some(("le", le)),
                ),
                samples: total
                    .iter()
                    .map(|(t, v)| (*t, (v * share).floor()))
                    .collect(),
            });
        }
    }
    MemSeries(out)
}

/// Nanoseconds this thread has run on a CPU (Linux), 0 where unknown.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Times the storage part of a query (CPU nanoseconds).
struct Timed {
    inner: MemSeries,
    in_select: Mutex<u64>,
}

impl Queryable for Timed {
    fn select(&self, m: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, QueryError> {
        let t = cpu_ns();
        let out = self.inner.select(m, mint, maxt);
        *self.in_select.lock().unwrap() += cpu_ns() - t;
        out
    }
    fn label_names(&self, m: &[Matcher], a: i64, b: i64) -> Result<Vec<String>, QueryError> {
        self.inner.label_names(m, a, b)
    }
    fn label_values(
        &self,
        n: &str,
        m: &[Matcher],
        a: i64,
        b: i64,
    ) -> Result<Vec<String>, QueryError> {
        self.inner.label_values(n, m, a, b)
    }
}

impl HintedQueryable for Timed {}

fn main() {
    let end = 1_700_000_000_000 / DAY_MS * DAY_MS;
    let start = end - 30 * DAY_MS;
    let t = Instant::now();
    let db = Timed {
        inner: data(start - DAY_MS, end),
        in_select: Mutex::new(0),
    };
    let samples: usize = db.inner.0.iter().map(|s| s.samples.len()).sum();
    println!(
        "loaded series={} samples={} in {} ms",
        db.inner.0.len(),
        samples,
        t.elapsed().as_millis()
    );
    let step = (end - start) / 11_000 + 1000 - (end - start) / 11_000 % 1000;
    let engine = Engine::default();
    for expr in [
        "rate(django_requests_total[1m])",
        "histogram_quantile(0.50, rate(django_request_duration_seconds_bucket[5m]))",
        "histogram_quantile(0.95, rate(django_request_duration_seconds_bucket[5m]))",
        "rate(django_request_exceptions_total[5m]) / rate(django_requests_total[5m]) * 100",
    ] {
        let parsed = parse(expr).expect("parses");
        let mut best: Option<(u64, u64, Duration)> = None;
        let mut shape = (0, 0);
        for _ in 0..5 {
            *db.in_select.lock().unwrap() = 0;
            let (wall, cpu) = (Instant::now(), cpu_ns());
            let m = engine
                .range_parsed(&db, &parsed, start, end, step)
                .expect("evaluates");
            let (cpu, wall) = (cpu_ns() - cpu, wall.elapsed());
            let select = *db.in_select.lock().unwrap();
            shape = (m.len(), m.iter().map(|s| s.samples.len()).sum::<usize>());
            if best.is_none_or(|(c, _, _)| cpu < c) {
                best = Some((cpu, select, wall));
            }
        }
        let (cpu, select, wall) = best.expect("ran");
        println!(
            "expr={expr} ms={} cpu_ms={} select_cpu_ms={} eval_cpu_ms={} step_s={} series={} points={}",
            wall.as_millis(),
            cpu / 1_000_000,
            select / 1_000_000,
            (cpu - select) / 1_000_000,
            step / 1000,
            shape.0,
            shape.1
        );
    }
}
