//! What a load run saw: counts per outcome, status and version, and latency percentiles.

use super::args::LoadConfig;
use crate::client::Response;
use crate::escape::json_str;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// Counts kept by each connection, merged at the end.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    /// Requests resent once after the keep-alive close race (not failures).
    pub retried: u64,
    /// Failure kind → count; sums to `failed`.
    pub errors: BTreeMap<String, u64>,
    pub statuses: BTreeMap<u16, u64>,
    /// `X-Demo-Version` → count.
    pub versions: BTreeMap<String, u64>,
    /// Latency of every request that got a complete response, in microseconds.
    pub latencies_us: Vec<u64>,
}

impl Tally {
    pub fn record_response(&mut self, response: &Response, latency: Duration) {
        self.requests += 1;
        *self.statuses.entry(response.status).or_default() += 1;
        if let Some(version) = response.header("x-demo-version") {
            *self.versions.entry(version.to_string()).or_default() += 1;
        }
        self.latencies_us.push(latency.as_micros() as u64);
        match response.status {
            200 => self.ok += 1,
            status => self.count_failure(&format!("http_{status}")),
        }
    }

    pub fn record_failure(&mut self, kind: &str) {
        self.requests += 1;
        self.count_failure(kind);
    }

    fn count_failure(&mut self, kind: &str) {
        self.failed += 1;
        *self.errors.entry(kind.to_string()).or_default() += 1;
    }

    pub fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.failed += other.failed;
        self.retried += other.retried;
        add_counts(&mut self.errors, other.errors);
        add_counts(&mut self.statuses, other.statuses);
        add_counts(&mut self.versions, other.versions);
        self.latencies_us.extend(other.latencies_us);
    }
}

fn add_counts<K: Ord>(into: &mut BTreeMap<K, u64>, from: BTreeMap<K, u64>) {
    for (key, n) in from {
        *into.entry(key).or_default() += n;
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub tally: Tally,
    pub duration: Duration,
    pub url: String,
    pub host: String,
    pub connections: usize,
}

impl Report {
    pub fn new(mut tally: Tally, duration: Duration, cfg: &LoadConfig) -> Self {
        tally.latencies_us.sort_unstable();
        let (url, host, connections) = (cfg.url.clone(), cfg.host.clone(), cfg.connections);
        Self {
            tally,
            duration,
            url,
            host,
            connections,
        }
    }

    /// Nearest-rank percentile (`p` in 0..=1) of the latencies, in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let sorted = &self.tally.latencies_us;
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = (p * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.tally
            .latencies_us
            .last()
            .map_or(0.0, |&us| us as f64 / 1000.0)
    }

    pub fn rps(&self) -> f64 {
        match self.duration.as_secs_f64() {
            secs if secs > 0.0 => self.tally.requests as f64 / secs,
            _ => 0.0,
        }
    }

    pub fn to_json(&self) -> String {
        let t = &self.tally;
        let mut out = String::from("{");
        let _ = write!(
            out,
            "\"url\":{},\"host\":{},\"connections\":{},\"requests\":{},\"ok\":{},\
             \"failed\":{},\"retried\":{},",
            json_str(&self.url),
            json_str(&self.host),
            self.connections,
            t.requests,
            t.ok,
            t.failed,
            t.retried
        );
        let _ = write!(
            out,
            "\"errors\":{},\"statuses\":{},\"versions\":{},",
            json_map(&t.errors),
            json_map(&t.statuses),
            json_map(&t.versions)
        );
        let _ = write!(
            out,
            "\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"duration_s\":{:.3},\"rps\":{:.1}}}",
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
            self.max_ms(),
            self.duration.as_secs_f64(),
            self.rps()
        );
        out
    }

    pub fn to_human(&self) -> String {
        let t = &self.tally;
        let list = |m: String| if m == "{}" { "-".to_string() } else { m };
        format!(
            "url:        {} (Host: {}, {} connections)\n\
             requests:   {}\nok:         {}\nfailed:     {}\nretried:    {}\n\
             errors:     {}\nstatuses:   {}\nversions:   {}\n\
             latency:    p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms\n\
             duration:   {:.3} s\nrate:       {:.1} req/s\n",
            self.url,
            self.host,
            self.connections,
            t.requests,
            t.ok,
            t.failed,
            t.retried,
            list(json_map(&t.errors)),
            list(json_map(&t.statuses)),
            list(json_map(&t.versions)),
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
            self.max_ms(),
            self.duration.as_secs_f64(),
            self.rps()
        )
    }
}

/// A JSON object with string keys and integer values.
fn json_map<K: ToString>(map: &BTreeMap<K, u64>) -> String {
    let fields: Vec<String> = map
        .iter()
        .map(|(k, n)| format!("{}:{n}", json_str(&k.to_string())))
        .collect();
    format!("{{{}}}", fields.join(","))
}
