//! One scrape of one target, the way Prometheus does it: fetch with the target's timeout and
//! a size limit, parse (Prometheus text or OpenMetrics), label every sample with the target's
//! labels, store them, mark the series that went away as stale, and record `up`,
//! `scrape_duration_seconds`, `scrape_samples_scraped`,
//! `scrape_samples_post_metric_relabeling` and `scrape_series_added`.
use super::targets::{Target, BODY_LIMIT};
use ::metrics::exposition::{self, Format};
use ::metrics::model::{stale_nan, Labels};
use ::metrics::tsdb::{SeriesRef, Tsdb, TsdbError};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// What Prometheus asks for, in its order of preference.
const ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// A fetched body and its format, or why there is none.
pub type Fetched = Result<(String, Format), String>;

/// The HTTP client for the targets Berth derives itself (the replicas it deployed): no
/// system proxy; redirects followed only on the same host and port (`/metrics` →
/// `/metrics/`). What a replica answers is the app's choice: a redirect elsewhere (the host's
/// loopback, cloud metadata) would make Berth fetch it from the host.
pub fn client() -> reqwest::Client {
    let redirect = reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt.previous().first().is_some_and(|first| {
            first.host_str() == attempt.url().host_str()
                && first.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if attempt.previous().len() >= 5 {
            attempt.error("stopped after 5 redirects")
        } else if same {
            attempt.follow()
        } else {
            attempt.error("a redirect to another host or port is not followed")
        }
    });
    reqwest::Client::builder()
        .no_proxy()
        .user_agent(concat!("Berth/", env!("CARGO_PKG_VERSION")))
        .redirect(redirect)
        .build()
        .expect("the scrape HTTP client (TLS backend) could not start")
}

/// Fetches `target`, cut at its timeout and at [`BODY_LIMIT`].
pub async fn fetch(client: &reqwest::Client, target: &Target) -> Fetched {
    let timeout = Duration::from_millis(target.timeout_ms.max(1) as u64);
    let work = async {
        let res = client
            .get(&target.url)
            .header(reqwest::header::ACCEPT, ACCEPT)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            )
            .send()
            .await
            .map_err(short)?;
        if !res.status().is_success() {
            return Err(format!("server returned HTTP status {}", res.status()));
        }
        let format = Format::from_content_type(
            res.headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        );
        let mut body = Vec::new();
        let mut res = res;
        while let Some(chunk) = res.chunk().await.map_err(short)? {
            if body.len() + chunk.len() > BODY_LIMIT {
                return Err(format!(
                    "body size limit exceeded ({} MiB)",
                    BODY_LIMIT >> 20
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
        Ok((text, format))
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "context deadline exceeded (timeout {} ms)",
            target.timeout_ms
        )),
    }
}

/// An error without the URL (it may carry parameters) and without a long cause chain.
fn short(e: reqwest::Error) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        return "timed out".into();
    }
    if e.is_connect() {
        return format!("connection failed: {}", root(&e));
    }
    root(&e)
}

fn root(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// What a target's loop keeps between scrapes: the storage ids of its series (so a scrape
/// does not look labels up again) and the series the last scrape stored (for staleness).
#[derive(Default)]
pub struct Cache {
    refs: HashMap<String, SeriesRef>,
    last: HashSet<SeriesRef>,
    report: Vec<SeriesRef>,
}

/// The outcome of one scrape, for the targets page.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub up: bool,
    pub duration_ms: f64,
    pub samples: u64,
    pub error: String,
    /// The storage refused to write (disk full, ...): scrapes pause.
    pub storage_full: bool,
}

/// Labels that decide who may read a series (and which environment's retention and remote
/// write it falls under): always the target's, whatever the target exposes.
const SCOPE_LABELS: [&str; 2] = ["project", "environment"];

/// Prometheus's `exported_` renaming: a label the target exposes that the target's own
/// labels also set is kept as `exported_<name>` (unless `honor_labels`, where the exposed
/// one wins, except for [`SCOPE_LABELS`]: a target cannot write into another project).
fn series_labels(target: &Target, name: &str, exposed: &[(String, String)]) -> Labels {
    let honored = |n: &str| target.honor_labels && !SCOPE_LABELS.contains(&n);
    let mut pairs: Vec<(String, String)> =
        Vec::with_capacity(exposed.len() + target.labels.len() + 1);
    pairs.push(("__name__".to_string(), name.to_string()));
    for (n, v) in exposed {
        if honored(n) || target.labels.get(n).is_none() {
            pairs.push((n.clone(), v.clone()));
        } else {
            let mut renamed = format!("exported_{n}");
            while target.labels.get(&renamed).is_some()
                || exposed.iter().any(|(e, _)| *e == renamed)
            {
                renamed = format!("exported_{renamed}");
            }
            pairs.push((renamed, v.clone()));
        }
    }
    for l in target.labels.iter() {
        if honored(&l.name) && exposed.iter().any(|(n, _)| **n == *l.name) {
            continue;
        }
        pairs.push((l.name.to_string(), l.value.to_string()));
    }
    Labels::new(pairs)
}

fn series_key(name: &str, labels: &[(String, String)]) -> String {
    let mut k = String::with_capacity(name.len() + 16 * labels.len());
    k.push_str(name);
    for (n, v) in labels {
        k.push('\u{0}');
        k.push_str(n);
        k.push('\u{1}');
        k.push_str(v);
    }
    k
}

/// Stores a scrape's outcome (blocking: call from a blocking thread).
pub fn ingest(
    tsdb: &Tsdb,
    target: &Target,
    cache: &mut Cache,
    fetched: Fetched,
    start_ms: i64,
    duration: Duration,
) -> Report {
    let mut report = Report {
        duration_ms: duration.as_secs_f64() * 1e3,
        ..Report::default()
    };
    let mut batch: Vec<(SeriesRef, i64, f64)> = Vec::new();
    let mut seen: HashSet<SeriesRef> = HashSet::new();
    let mut added = 0u64;
    let mut scraped = 0u64;
    let parsed = fetched.and_then(|(body, format)| {
        exposition::parse(&body, format, target.sample_limit).map_err(|e| match e {
            exposition::ParseError::TooManySamples(_) => {
                format!("sample limit exceeded ({})", target.sample_limit)
            }
            other => other.to_string(),
        })
    });
    match parsed {
        Ok(exp) => {
            scraped = exp.samples.len() as u64;
            let mut duplicates = 0u64;
            for s in &exp.samples {
                let key = series_key(&s.name, &s.labels);
                let r = match cache.refs.get(&key) {
                    Some(r) => *r,
                    None => {
                        let labels = series_labels(target, &s.name, &s.labels);
                        match tsdb.series_ref(&labels) {
                            Ok(r) => {
                                cache.refs.insert(key, r);
                                added += 1;
                                r
                            }
                            Err(e) => {
                                report.error = e.to_string();
                                report.storage_full = matches!(e, TsdbError::DiskFull { .. });
                                break;
                            }
                        }
                    }
                };
                if !seen.insert(r) {
                    duplicates += 1;
                    continue;
                }
                let t = match s.timestamp_ms {
                    Some(t) if target.honor_timestamps => t,
                    _ => start_ms,
                };
                batch.push((r, t, s.value));
            }
            report.up = report.error.is_empty();
            if duplicates > 0 && report.error.is_empty() {
                report.error = format!("{duplicates} duplicate series dropped");
            }
        }
        Err(e) => report.error = e,
    }
    if !report.up {
        // A failed scrape ends every series of the last one, as Prometheus does.
        seen.clear();
        batch.clear();
        scraped = 0;
        added = 0;
    }
    for r in cache.last.iter().filter(|r| !seen.contains(r)) {
        batch.push((*r, start_ms, stale_nan()));
    }
    report.samples = scraped;
    push_report(
        tsdb, target, cache, &mut batch, start_ms, &report, scraped, added,
    );
    let mut forgotten = false;
    match tsdb.append(&batch) {
        Ok(outcome) if outcome.unknown_series > 0 => {
            // The storage let go of series that were idle for a while (their ids are never
            // reused, so nothing lands on another series): this scrape's samples of the ones
            // that came back are lost, and every series is looked up again next scrape.
            forgotten = true;
        }
        Ok(_) => {}
        Err(e) => {
            report.storage_full = matches!(e, TsdbError::DiskFull { .. });
            report.error = format!("not stored: {e}");
        }
    }
    if forgotten {
        cache.refs.clear();
        cache.report.clear();
        seen.clear();
        cache.last.clear();
        report.error =
            "series that came back after a while are stored again from the next scrape".into();
    }
    cache.last = seen;
    if cache.refs.len() > 4 * (cache.last.len() + 64) {
        // Series that come and go (per-request labels) would grow the cache without end.
        let keep = &cache.last;
        cache.refs.retain(|_, r| keep.contains(r));
    }
    report
}

#[allow(clippy::too_many_arguments)]
fn push_report(
    tsdb: &Tsdb,
    target: &Target,
    cache: &mut Cache,
    batch: &mut Vec<(SeriesRef, i64, f64)>,
    t: i64,
    report: &Report,
    scraped: u64,
    added: u64,
) {
    const NAMES: [&str; 5] = [
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ];
    if cache.report.is_empty() {
        for n in NAMES {
            match tsdb.series_ref(&series_labels(target, n, &[])) {
                Ok(r) => cache.report.push(r),
                Err(_) => return,
            }
        }
    }
    let values = [
        if report.up { 1.0 } else { 0.0 },
        report.duration_ms / 1e3,
        scraped as f64,
        scraped as f64,
        added as f64,
    ];
    for (r, v) in cache.report.iter().zip(values) {
        batch.push((*r, t, v));
    }
}

/// When a target goes away: its series and its report series end now.
pub fn end(tsdb: &Tsdb, cache: &mut Cache, t: i64) {
    let batch: Vec<(SeriesRef, i64, f64)> = cache
        .last
        .iter()
        .chain(&cache.report)
        .map(|r| (*r, t, stale_nan()))
        .collect();
    if let Err(e) = tsdb.append(&batch) {
        tracing::warn!(error = %e, "could not mark a removed target's series stale");
    }
    cache.last.clear();
}

#[cfg(test)]
mod tests {
    use super::client;

    /// A server on loopback: `/here` answers, `/same` redirects to `/here`, `/away` to
    /// another port.
    async fn server() -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 2048];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let answer = if req.starts_with("GET /same") {
                    format!("HTTP/1.1 302 Found\r\nLocation: http://{addr}/here\r\n")
                } else if req.starts_with("GET /away") {
                    "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/metrics\r\n".to_string()
                } else {
                    "HTTP/1.1 200 OK\r\n".to_string()
                };
                let _ = s
                    .write_all(
                        format!("{answer}Content-Length: 4\r\nConnection: close\r\n\r\nx 1\n")
                            .as_bytes(),
                    )
                    .await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_replica_redirect_is_followed_on_its_own_host_and_port_only() {
        let addr = server().await;
        let c = client();
        let ok = c.get(format!("http://{addr}/same")).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        let e = c
            .get(format!("http://{addr}/away"))
            .send()
            .await
            .unwrap_err();
        assert!(e.is_redirect(), "{e:?}");
        assert!(format!("{e:?}").contains("another host or port"), "{e:?}");
    }
}
