//! The load generator: concurrent workers sending one request at a time, and the latency
//! percentiles of what they measured.
use std::time::{Duration, Instant};

pub struct LoadResult {
    pub latencies_us: Vec<u64>,
    pub errors: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

/// `conns` workers, each sending one request at a time until `duration` has passed.
pub async fn load(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    conns: usize,
    duration: Duration,
) -> LoadResult {
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = Vec::with_capacity(conns);
    for _ in 0..conns {
        let client = client.clone();
        let url = url.to_string();
        let cookie = cookie.to_string();
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(16_384);
            let mut errors = 0u64;
            let mut bytes = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let res = client
                    .get(&url)
                    .header(reqwest::header::COOKIE, &cookie)
                    .send()
                    .await;
                let ok = match res {
                    Ok(r) if r.status() == reqwest::StatusCode::OK => match r.bytes().await {
                        Ok(b) => {
                            bytes += b.len() as u64;
                            true
                        }
                        Err(_) => false,
                    },
                    _ => false,
                };
                if ok {
                    lat.push(t.elapsed().as_micros() as u64);
                } else {
                    errors += 1;
                }
            }
            (lat, errors, bytes)
        }));
    }
    let mut out = LoadResult {
        latencies_us: Vec::new(),
        errors: 0,
        bytes: 0,
        elapsed: Duration::ZERO,
    };
    for w in workers {
        let (lat, errors, bytes) = w.await.expect("load worker");
        out.latencies_us.extend(lat);
        out.errors += errors;
        out.bytes += bytes;
    }
    out.elapsed = start.elapsed();
    out.latencies_us.sort_unstable();
    out
}

pub fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Duration::from_micros(sorted[rank.clamp(1, sorted.len()) - 1])
}
