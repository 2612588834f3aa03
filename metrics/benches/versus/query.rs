//! The `query_range` part: the seed dashboard's expressions over 200 series of 15 s data
//! (40 `django_requests_total`, 40 `django_request_exceptions_total`, 10 histograms of 12
//! `django_request_duration_seconds_bucket`), written as OpenMetrics for Prometheus's
//! backfill and appended to Berth's storage; then timed through HTTP on both sides.
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use metrics::model::Labels;
use metrics::promql::{parse, Engine};
use metrics::tsdb::{Options, SeriesRef, Tsdb};

use super::http;
use super::{om_line, percentile, print, DAY, END, HOUR};

pub const EXPRS: [&str; 4] = [
    "rate(django_requests_total[1m])",
    "histogram_quantile(0.50, rate(django_request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0.95, rate(django_request_duration_seconds_bucket[5m]))",
    "rate(django_request_exceptions_total[5m]) / rate(django_requests_total[5m]) * 100",
];

const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];
const SCRAPE: i64 = 15_000;

/// The 200 series and a generator of their next values (counters reset about every 3 days).
struct Dashboard {
    labels: Vec<Labels>,
    rng: u64,
    requests: Vec<f64>,
    totals: Vec<f64>,
}

fn key(i: usize, name: &str, le: Option<&str>) -> Labels {
    let mut l = vec![
        ("__name__", name.to_string()),
        ("job", "django".to_string()),
        ("site", format!("site-{}.local", i / 20)),
        (
            "method",
            ["GET", "POST", "PUT", "DELETE"][i % 4].to_string(),
        ),
        ("view", format!("view{}", (i / 4) % 5)),
    ];
    if let Some(le) = le {
        l.push(("le", le.to_string()));
    }
    Labels::new(l)
}

impl Dashboard {
    fn new() -> Dashboard {
        let mut labels = Vec::new();
        for i in 0..40 {
            labels.push(key(i, "django_requests_total", None));
        }
        for i in 0..40 {
            labels.push(key(i, "django_request_exceptions_total", None));
        }
        for h in 0..10 {
            for le in BUCKETS {
                labels.push(key(h, "django_request_duration_seconds_bucket", Some(le)));
            }
        }
        Dashboard {
            labels,
            rng: 42,
            requests: vec![0.0; 40],
            totals: vec![0.0; 10],
        }
    }

    fn unit(&mut self) -> f64 {
        self.rng = self
            .rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    fn bump(&mut self, v: f64, per_scrape: f64) -> f64 {
        if self.unit() < 1.0 / (3.0 * 5760.0) {
            return 0.0;
        }
        v + (per_scrape * self.unit() * 2.0).round()
    }

    /// The next scrape's values, in the order of `labels`.
    fn next(&mut self, out: &mut Vec<f64>) {
        out.clear();
        for i in 0..40 {
            self.requests[i] = self.bump(self.requests[i], 20.0);
        }
        for h in 0..10 {
            self.totals[h] = self.bump(self.totals[h], 20.0);
        }
        out.extend(self.requests.iter().copied());
        out.extend(self.requests.iter().map(|v| (v / 50.0).floor()));
        for h in 0..10 {
            for b in 0..BUCKETS.len() {
                let share = (b + 1) as f64 / BUCKETS.len() as f64;
                out.push((self.totals[h] * share).floor());
            }
        }
    }
}

fn first_scrape(days: i64) -> i64 {
    END - days * DAY - HOUR
}

/// Writes the dataset as OpenMetrics (for `promtool tsdb create-blocks-from openmetrics`).
pub fn write_openmetrics(path: &str, days: i64) {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut d = Dashboard::new();
    let mut values = Vec::new();
    let mut line = String::new();
    let mut t = first_scrape(days);
    let mut n = 0u64;
    while t <= END {
        d.next(&mut values);
        for (l, v) in d.labels.iter().zip(&values) {
            om_line(&mut line, l, *v, t);
            f.write_all(line.as_bytes()).unwrap();
            n += 1;
        }
        t += SCRAPE;
    }
    f.write_all(b"# EOF\n").unwrap();
    f.flush().unwrap();
    print("query_openmetrics_samples", n);
}

fn load_berth(dir: &std::path::Path, days: i64) -> Tsdb {
    let opts = Options {
        // Raw data for the whole range, as Prometheus has it (rollups are built as well).
        retention_raw: std::time::Duration::from_secs(40 * 86_400),
        ..Options::default()
    };
    let db = Tsdb::open(dir, opts).unwrap();
    let mut d = Dashboard::new();
    let refs: Vec<SeriesRef> = d.labels.iter().map(|l| db.series_ref(l).unwrap()).collect();
    let (mut values, mut batch) = (Vec::new(), Vec::new());
    let mut t = first_scrape(days);
    let mut n = 0u64;
    while t <= END {
        d.next(&mut values);
        batch.clear();
        batch.extend(refs.iter().zip(&values).map(|(r, v)| (*r, t, *v)));
        n += db.append(&batch).unwrap().accepted as u64;
        if t % HOUR == 0 {
            db.maintain(t).unwrap();
        }
        t += SCRAPE;
    }
    db.maintain(END).unwrap();
    print("query_berth_samples", n);
    db
}

/// Grafana-like: about 1,000 points, never under the 15 s scrape interval, whole seconds.
pub fn step_for(range_ms: i64) -> i64 {
    ((range_ms / 1000 + 999) / 1000).max(15) * 1000
}

/// Number of points in a Prometheus-shaped matrix answer.
fn points(body: &str) -> usize {
    body.matches("\"values\":[[").count() + body.matches("],[").count()
}

/// A float field of Prometheus's `stats` object, in seconds.
fn stat(body: &str, field: &str) -> Option<f64> {
    let at = body.find(&format!("\"{field}\":"))? + field.len() + 3;
    let rest = &body[at..];
    let end = rest.find([',', '}'])?;
    rest[..end].parse().ok()
}

/// Times every expression over 1 h, 24 h and `days` on Berth (in-process and through HTTP)
/// and on the Prometheus at `prom` (HTTP, and its own `stats=all` timings), interleaved.
pub fn run(prom: &str, days: i64, runs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let db = Arc::new(load_berth(dir.path(), days));
    print(
        "query_berth_load_secs",
        format!("{:.1}", t.elapsed().as_secs_f64()),
    );
    let berth = http::serve(db.clone());
    let engine = Engine::default();
    let ranges = [
        ("1h".to_string(), HOUR),
        ("24h".to_string(), DAY),
        (format!("{days}d"), days * DAY),
    ];
    for (name, range) in ranges {
        let step = step_for(range);
        let (start, end) = (END - range, END);
        for (e, expr) in EXPRS.iter().enumerate() {
            // `BERTH_BENCH_ONLY=30d_e1` runs one case (profiling).
            let only = std::env::var("BERTH_BENCH_ONLY").unwrap_or_default();
            if !only.is_empty() && only != format!("{name}_e{e}") {
                continue;
            }
            let path = format!(
                "/api/v1/query_range?query={}&start={}&end={}&step={}",
                http::url_encode(expr),
                start / 1000,
                end / 1000,
                step / 1000
            );
            let parsed = parse(expr).unwrap();
            let mut ms: [Vec<f64>; 4] = Default::default();
            let mut shape = (0, 0, 0);
            for i in 0..runs + 2 {
                let t = Instant::now();
                let m = engine
                    .range_parsed(db.as_ref(), &parsed, start, end, step)
                    .unwrap();
                let inproc = t.elapsed().as_secs_f64() * 1000.0;
                let t = Instant::now();
                let (s, b) = http::request(&berth, "GET", &path, &[], b"");
                let berth_http = t.elapsed().as_secs_f64() * 1000.0;
                assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
                // `-` for Berth alone (profiling).
                let t = Instant::now();
                let (s, p) = if prom == "-" {
                    (200, b"{}".to_vec())
                } else {
                    http::request(prom, "GET", &format!("{path}&stats=all"), &[], b"")
                };
                let prom_http = t.elapsed().as_secs_f64() * 1000.0;
                let p = String::from_utf8_lossy(&p).into_owned();
                assert_eq!(s, 200, "{p}");
                let prom_exec = stat(&p, "execTotalTime").unwrap_or(f64::NAN) * 1000.0;
                let b = String::from_utf8_lossy(&b);
                shape = (m.len(), points(&b), points(&p));
                if i >= 2 {
                    for (v, x) in ms
                        .iter_mut()
                        .zip([inproc, berth_http, prom_http, prom_exec])
                    {
                        v.push(x);
                    }
                }
            }
            let key = format!("query_{name}_e{e}");
            print(&format!("{key}_expr"), expr);
            print(&format!("{key}_step_s"), step / 1000);
            print(
                &format!("{key}_series_points"),
                format!("{} {} prometheus_points={}", shape.0, shape.1, shape.2),
            );
            for (label, v) in ["berth_inproc", "berth_http", "prom_http", "prom_exec"]
                .iter()
                .zip(ms)
            {
                print(
                    &format!("{key}_{label}_ms"),
                    format!(
                        "p50={:.2} p95={:.2}",
                        percentile(v.clone(), 0.5),
                        percentile(v, 0.95)
                    ),
                );
            }
        }
    }
}
