//! Request counts per environment and site, kept in memory as cumulative counters (so
//! `rate()` and `histogram_quantile()` work on what is stored), and the series they become.
use ::metrics::model::Labels;
use stack::nginx::access_log::{AccessLine, Method};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Upper bounds of the latency buckets, in seconds (Prometheus's client defaults).
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// The most sites one environment counts: a site beyond is dropped (its lines counted as
/// such). The site comes from nginx's configuration, so this only bites on a misconfiguration.
pub const MAX_SITES: usize = 256;

/// One site's counters since Berth started.
#[derive(Clone, Debug, Default)]
pub struct SiteStats {
    /// Requests by method and status code.
    pub requests: BTreeMap<(Method, u16), u64>,
    /// Requests per latency bucket (not cumulative; the last is `+Inf`).
    pub buckets: [u64; BUCKETS.len() + 1],
    pub duration_sum: f64,
    pub bytes: u64,
    pub upstream_count: u64,
    pub upstream_sum: f64,
    /// When the last line arrived (ms since the epoch).
    pub last_seen: i64,
    /// The method and code pairs stored so far; `None` before the site's first store.
    stored: Option<BTreeSet<(Method, u16)>>,
}

impl SiteStats {
    fn add(&mut self, l: &AccessLine, at: i64) {
        *self.requests.entry((l.method, l.status)).or_default() += 1;
        let i = BUCKETS
            .iter()
            .position(|b| l.request_time <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i] += 1;
        self.duration_sum += l.request_time;
        self.bytes = self.bytes.saturating_add(l.bytes_sent);
        if let Some(u) = l.upstream_time {
            self.upstream_count += 1;
            self.upstream_sum += u;
        }
        self.last_seen = at;
    }

    /// The requests counted (all methods and codes).
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// Every series of the site with its value; `scope` are the labels every series gets
    /// (project, environment, job).
    pub fn samples(&self, site: &str, scope: &[(&str, &str)]) -> Vec<(Labels, f64)> {
        self.series(site, scope, |_| false)
            .into_iter()
            .map(|(l, v, _)| (l, v))
            .collect()
    }

    /// Like [`SiteStats::samples`], each marked `true` when the series is stored for the
    /// first time (its counter starts at 0 just before: the caller stores a 0 first, so
    /// `rate()` and `increase()` count the requests of its first interval too); from now on
    /// they count as stored.
    pub fn take_samples(&mut self, site: &str, scope: &[(&str, &str)]) -> Vec<(Labels, f64, bool)> {
        let first = self.stored.is_none();
        let stored = self.stored.get_or_insert_default();
        let fresh: BTreeSet<(Method, u16)> = self
            .requests
            .keys()
            .filter(|k| first || !stored.contains(k))
            .copied()
            .collect();
        stored.extend(fresh.iter().copied());
        self.series(site, scope, |key| match key {
            Some(k) => fresh.contains(&k),
            None => first,
        })
    }

    /// The series; `fresh` says whether one is new, given its method and code (`None` for
    /// the site-wide series).
    fn series(
        &self,
        site: &str,
        scope: &[(&str, &str)],
        fresh: impl Fn(Option<(Method, u16)>) -> bool,
    ) -> Vec<(Labels, f64, bool)> {
        let labels = |name: &str, extra: &[(&str, &str)]| {
            Labels::new(
                [("__name__", name), ("site", site)]
                    .iter()
                    .chain(scope)
                    .chain(extra)
                    .copied(),
            )
        };
        let mut out = Vec::with_capacity(self.requests.len() + BUCKETS.len() + 8);
        for ((method, code), n) in &self.requests {
            let new = fresh(Some((*method, *code)));
            let code = code.to_string();
            out.push((
                labels(
                    "berth_http_requests_total",
                    &[("method", method.as_str()), ("code", &code)],
                ),
                *n as f64,
                new,
            ));
        }
        let new = fresh(None);
        let mut cumulative = 0u64;
        for (i, n) in self.buckets.iter().enumerate() {
            cumulative += n;
            let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            out.push((
                labels("berth_http_request_duration_seconds_bucket", &[("le", &le)]),
                cumulative as f64,
                new,
            ));
        }
        let gauges = [
            ("berth_http_request_duration_seconds_sum", self.duration_sum),
            (
                "berth_http_request_duration_seconds_count",
                cumulative as f64,
            ),
            ("berth_http_response_bytes_total", self.bytes as f64),
            (
                "berth_http_upstream_duration_seconds_sum",
                self.upstream_sum,
            ),
            (
                "berth_http_upstream_duration_seconds_count",
                self.upstream_count as f64,
            ),
        ];
        for (name, v) in gauges {
            out.push((labels(name, &[]), v, new));
        }
        out
    }
}

/// Every environment's sites.
#[derive(Debug, Default)]
pub struct Totals {
    pub envs: HashMap<i64, BTreeMap<String, SiteStats>>,
}

impl Totals {
    /// Counts one line; false when the environment already has [`MAX_SITES`] other sites.
    pub fn add(&mut self, l: &AccessLine, at: i64) -> bool {
        let sites = self.envs.entry(l.environment_id).or_default();
        if let Some(s) = sites.get_mut(l.site) {
            s.add(l, at);
            return true;
        }
        if sites.len() >= MAX_SITES {
            return false;
        }
        sites.entry(l.site.to_string()).or_default().add(l, at);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(site: &str, status: u16, secs: f64) -> AccessLine<'_> {
        AccessLine {
            environment_id: 1,
            token: "",
            site,
            method: Method::Get,
            status,
            request_time: secs,
            bytes_sent: 100,
            upstream_time: Some(secs / 2.0),
        }
    }

    #[test]
    fn counters_are_cumulative_and_buckets_include_their_bound() {
        let mut t = Totals::default();
        for (s, secs) in [(200, 0.005), (200, 0.006), (500, 0.3), (404, 20.0)] {
            assert!(t.add(&line("a.test", s, secs), 1));
        }
        let stats = &t.envs[&1]["a.test"];
        assert_eq!(stats.count(), 4);
        let samples = stats.samples("a.test", &[("project", "p"), ("job", "nginx")]);
        let get = |name: &str, l: (&str, &str)| {
            samples
                .iter()
                .find(|(ls, _)| ls.get("__name__") == Some(name) && ls.get(l.0) == Some(l.1))
                .map(|(ls, v)| {
                    assert_eq!(ls.get("project"), Some("p"));
                    assert_eq!(ls.get("site"), Some("a.test"));
                    *v
                })
        };
        let bucket = "berth_http_request_duration_seconds_bucket";
        assert_eq!(get(bucket, ("le", "0.005")), Some(1.0));
        assert_eq!(get(bucket, ("le", "0.01")), Some(2.0));
        assert_eq!(get(bucket, ("le", "0.25")), Some(2.0));
        assert_eq!(get(bucket, ("le", "0.5")), Some(3.0));
        assert_eq!(get(bucket, ("le", "10")), Some(3.0));
        assert_eq!(get(bucket, ("le", "+Inf")), Some(4.0));
        assert_eq!(get("berth_http_requests_total", ("code", "200")), Some(2.0));
        assert_eq!(get("berth_http_requests_total", ("code", "500")), Some(1.0));
        assert_eq!(
            get("berth_http_response_bytes_total", ("job", "nginx")),
            Some(400.0)
        );
    }

    #[test]
    fn a_series_is_fresh_once() {
        let mut t = Totals::default();
        t.add(&line("a.test", 200, 0.1), 1);
        let stats = t.envs.get_mut(&1).unwrap().get_mut("a.test").unwrap();
        let first = stats.take_samples("a.test", &[]);
        assert!(first.iter().all(|(_, _, new)| *new));
        let again = stats.take_samples("a.test", &[]);
        assert!(again.iter().all(|(_, _, new)| !*new));
        t.add(&line("a.test", 503, 0.1), 2);
        let stats = t.envs.get_mut(&1).unwrap().get_mut("a.test").unwrap();
        let fresh: Vec<String> = stats
            .take_samples("a.test", &[])
            .iter()
            .filter(|(_, _, new)| *new)
            .map(|(l, _, _)| l.to_string())
            .collect();
        assert_eq!(fresh.len(), 1, "{fresh:?}");
        assert!(fresh[0].contains("503"), "{fresh:?}");
    }

    #[test]
    fn an_environment_counts_a_bounded_number_of_sites() {
        let mut t = Totals::default();
        let names: Vec<String> = (0..=MAX_SITES).map(|i| format!("s{i}.test")).collect();
        for n in &names[..MAX_SITES] {
            assert!(t.add(&line(n, 200, 0.1), 1));
        }
        assert!(!t.add(&line(&names[MAX_SITES], 200, 0.1), 1));
        assert!(
            t.add(&line(&names[0], 200, 0.1), 1),
            "a known site still counts"
        );
    }
}
