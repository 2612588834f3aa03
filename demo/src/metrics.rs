//! Prometheus metrics named like the seed Django sites' (`django_*`), labelled with `site`,
//! `method` and `view`, so the seed's alert rules and Grafana dashboard work unchanged.

use crate::escape::label_value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Upper bounds in seconds; 2 is there because the seed alerts on p95 > 2 s.
const BUCKETS: [(f64, &str); 12] = [
    (0.005, "0.005"),
    (0.01, "0.01"),
    (0.025, "0.025"),
    (0.05, "0.05"),
    (0.1, "0.1"),
    (0.25, "0.25"),
    (0.5, "0.5"),
    (1.0, "1"),
    (2.0, "2"),
    (2.5, "2.5"),
    (5.0, "5"),
    (10.0, "10"),
];

/// `Host` comes from clients: past this many sites, new ones are counted as `other`.
pub const MAX_SITES: usize = 256;

/// One answered request, as the metrics see it.
pub struct Observation<'a> {
    pub site: &'a str,
    pub method: &'a str,
    pub view: &'static str,
    pub status: u16,
    pub duration: Duration,
}

type Key = (String, &'static str, &'static str);

#[derive(Default)]
struct Series {
    requests: u64,
    exceptions: u64,
    /// Cumulative counts per bucket of `BUCKETS`.
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    statuses: BTreeMap<u16, u64>,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    series: BTreeMap<Key, Series>,
    sites: BTreeSet<String>,
}

impl Metrics {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn observe(&self, o: &Observation<'_>) {
        let mut inner = self.lock();
        let site = inner.site_label(o.site);
        let series = inner
            .series
            .entry((site, method_label(o.method), o.view))
            .or_default();
        let secs = o.duration.as_secs_f64();
        series.requests += 1;
        series.exceptions += u64::from(o.status >= 500);
        series.sum += secs;
        for (count, (bound, _)) in series.buckets.iter_mut().zip(BUCKETS) {
            *count += u64::from(secs <= bound);
        }
        *series.statuses.entry(o.status).or_default() += 1;
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, version: &str, healthy: bool) -> String {
        let inner = self.lock();
        let mut out = String::with_capacity(4096);
        render_requests(&mut out, &inner.series);
        render_durations(&mut out, &inner.series);
        render_exceptions(&mut out, &inner.series);
        render_statuses(&mut out, &inner.series);
        let v = label_value(version);
        out.push_str("# HELP demo_build_info The running demo build.\n");
        out.push_str("# TYPE demo_build_info gauge\n");
        let _ = writeln!(out, "demo_build_info{{version=\"{v}\"}} 1");
        out.push_str("# HELP demo_healthy 1 while /api/health answers 200.\n");
        out.push_str("# TYPE demo_healthy gauge\n");
        let _ = writeln!(out, "demo_healthy {}", u8::from(healthy));
        out
    }
}

impl Inner {
    fn site_label(&mut self, site: &str) -> String {
        if self.sites.contains(site) {
            return site.to_string();
        }
        if self.sites.len() >= MAX_SITES {
            return "other".to_string();
        }
        self.sites.insert(site.to_string());
        site.to_string()
    }
}

/// Methods are client-chosen too: anything unusual is `other`.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

fn labels((site, method, view): &Key) -> String {
    format!(
        "site=\"{}\",method=\"{method}\",view=\"{view}\"",
        label_value(site)
    )
}

/// A family's `# HELP` and `# TYPE` lines.
pub(crate) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn render_requests(out: &mut String, series: &BTreeMap<Key, Series>) {
    header(
        out,
        "django_requests_total",
        "counter",
        "Requests, by site, method and view.",
    );
    for (key, s) in series {
        let _ = writeln!(
            out,
            "django_requests_total{{{}}} {}",
            labels(key),
            s.requests
        );
    }
}

fn render_durations(out: &mut String, series: &BTreeMap<Key, Series>) {
    let name = "django_request_duration_seconds";
    header(
        out,
        name,
        "histogram",
        "Request latency, by site, method and view.",
    );
    for (key, s) in series {
        let l = labels(key);
        for (count, (_, le)) in s.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(out, "{name}_bucket{{{l},le=\"{le}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{l},le=\"+Inf\"}} {}", s.requests);
        let _ = writeln!(out, "{name}_sum{{{l}}} {}", s.sum);
        let _ = writeln!(out, "{name}_count{{{l}}} {}", s.requests);
    }
}

/// Zeros are written too, so the seed's `exceptions / requests` ratio is 0, not empty.
fn render_exceptions(out: &mut String, series: &BTreeMap<Key, Series>) {
    let name = "django_request_exceptions_total";
    header(
        out,
        name,
        "counter",
        "Requests answered with a 5xx, by site, method and view.",
    );
    for (key, s) in series {
        let _ = writeln!(out, "{name}{{{}}} {}", labels(key), s.exceptions);
    }
}

fn render_statuses(out: &mut String, series: &BTreeMap<Key, Series>) {
    let name = "django_responses_total";
    header(
        out,
        name,
        "counter",
        "Responses, by site, method, view and status.",
    );
    for (key, s) in series {
        let l = labels(key);
        for (status, count) in &s.statuses {
            let _ = writeln!(out, "{name}{{{l},status=\"{status}\"}} {count}");
        }
    }
}
