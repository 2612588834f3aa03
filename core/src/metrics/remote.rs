//! Remote write: an environment with a `remote_write_url` also sends its samples to an
//! external Prometheus-compatible store (Prometheus with `--web.enable-remote-write-receiver`,
//! VictoriaMetrics, Mimir), so a team that outgrows the embedded store keeps its data there.
//! Every few seconds the sender reads what the environment stored since its cursor (staleness
//! markers included) and posts it; a failed post is retried from the same cursor, a refused
//! one (4xx but 429) is dropped and reported, as Prometheus's own queue does.
use super::super::{now_ms, AppState};
use super::config;
use ::metrics::model::{Matcher, Queryable, Series};
use ::metrics::remote;
use sqlx::Row;
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often each environment's new samples are sent.
const EVERY: Duration = Duration::from_secs(2);
/// The most samples in one request.
const MAX_SAMPLES: usize = 20_000;
/// How far back a new sender starts.
const START_BACK_MS: i64 = 60_000;

/// The state of one environment's sending.
#[derive(Clone, Debug, Default)]
pub struct Status {
    pub url: String,
    /// Samples up to this time (ms) were sent.
    pub sent_until: i64,
    pub samples_sent: u64,
    pub last_error: String,
}

pub fn spawn(state: AppState, stop: CancellationToken) {
    tokio::spawn(run(state, stop));
}

async fn targets(state: &AppState) -> Result<Vec<(i64, String, String, String, i64)>, String> {
    let settings: HashMap<i64, berth_model::MetricsSettings> = config::all_settings(state)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|(_, s)| !s.remote_write_url.is_empty())
        .collect();
    if settings.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT e.id, p.slug, e.slug FROM environments e JOIN projects p ON p.id = e.project_id",
    )
    .fetch_all(&state.db.pool)
    .await
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for r in rows {
        let id: i64 = r.try_get(0).map_err(|e| e.to_string())?;
        if let Some(s) = settings.get(&id) {
            out.push((
                id,
                r.try_get(1).map_err(|e| e.to_string())?,
                r.try_get(2).map_err(|e| e.to_string())?,
                s.remote_write_url.clone(),
                s.timeout_ms,
            ));
        }
    }
    Ok(out)
}

async fn run(state: AppState, stop: CancellationToken) {
    let Some(tsdb) = state.metrics.tsdb() else {
        return;
    };
    // The store's address is a maintainer's choice: the outbound rule applies.
    let policy = state.metrics.outbound();
    let client = super::outbound::client(policy, Some(Duration::from_secs(30)));
    let mut status: HashMap<i64, Status> = HashMap::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
        let list = match targets(&state).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "remote write: could not read the settings");
                continue;
            }
        };
        status.retain(|id, _| list.iter().any(|(e, ..)| e == id));
        for (env_id, project, env, url, timeout_ms) in list {
            let now = now_ms();
            let st = status.entry(env_id).or_default();
            if st.url != url {
                *st = Status {
                    url: url.clone(),
                    sent_until: now - START_BACK_MS,
                    ..Status::default()
                };
            }
            // A scrape stores its samples at the time it started: wait out the slowest one.
            let until = now - timeout_ms - 1_000;
            if until <= st.sent_until {
                continue;
            }
            let matchers = vec![
                Matcher::equal("project", &project),
                Matcher::equal("environment", &env),
            ];
            let (t, from) = (tsdb.clone(), st.sent_until + 1);
            let read = tokio::task::spawn_blocking(move || t.select(&matchers, from, until)).await;
            let series = match read {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    st.last_error = format!("reading the samples: {e}");
                    continue;
                }
                Err(e) => {
                    st.last_error = format!("reading the samples: {e}");
                    continue;
                }
            };
            let allowed = reqwest::Url::parse(&url)
                .map_err(|_| "not a valid URL".to_string())
                .and_then(|u| super::outbound::check_url(&u, policy));
            let sent = match allowed {
                Ok(()) => send(&client, &url, &series).await,
                // Literal addresses (names are checked when they resolve): retried, so the
                // samples go once the operator allows the address.
                Err(why) => Err(Retry(why)),
            };
            match sent {
                Ok(n) => {
                    st.sent_until = until;
                    st.samples_sent += n;
                    st.last_error.clear();
                }
                Err(Refused(e)) => {
                    // Sending it again would be refused again: drop it and say so.
                    st.sent_until = until;
                    st.last_error = e;
                }
                Err(Retry(e)) => st.last_error = e,
            }
            if !st.last_error.is_empty() {
                tracing::warn!(env = env_id, error = %st.last_error, "remote write");
            }
        }
        state.metrics.set_remote_status(status.clone());
    }
}

enum SendError {
    Refused(String),
    Retry(String),
}
use SendError::{Refused, Retry};

/// Posts `series` in requests of at most [`MAX_SAMPLES`] samples; the count sent.
async fn send(client: &reqwest::Client, url: &str, series: &[Series]) -> Result<u64, SendError> {
    let mut total = 0u64;
    let mut batch: Vec<Series> = Vec::new();
    let mut in_batch = 0usize;
    for s in series {
        for chunk in s.samples.chunks(MAX_SAMPLES) {
            if in_batch + chunk.len() > MAX_SAMPLES && !batch.is_empty() {
                total += post(client, url, &batch).await?;
                batch.clear();
                in_batch = 0;
            }
            in_batch += chunk.len();
            batch.push(Series {
                labels: s.labels.clone(),
                samples: chunk.to_vec(),
            });
        }
    }
    if !batch.is_empty() {
        total += post(client, url, &batch).await?;
    }
    Ok(total)
}

async fn post(client: &reqwest::Client, url: &str, batch: &[Series]) -> Result<u64, SendError> {
    let n: usize = batch.iter().map(|s| s.samples.len()).sum();
    // What errors (and so the logs) say: the URL without its parameters, which may hold a
    // token.
    let shown = super::display_url(url);
    let res = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, remote::CONTENT_TYPE)
        .header(reqwest::header::CONTENT_ENCODING, remote::CONTENT_ENCODING)
        .header(remote::VERSION_HEADER.0, remote::VERSION_HEADER.1)
        .body(remote::body(batch))
        .send()
        .await
        .map_err(|e| Retry(format!("{shown}: {}", e.without_url())))?;
    let status = res.status();
    if status.is_success() {
        return Ok(n as u64);
    }
    // What the store says may echo the request, token and all.
    let text = super::query::remote_read::scrub(&error_text(res).await, url);
    let msg = format!("{shown} answered {status}: {}", text.trim());
    if status.is_client_error() && status.as_u16() != 429 {
        Err(Refused(msg))
    } else {
        Err(Retry(msg))
    }
}

/// The most of an error answer's body read (what is shown is shorter still).
const MAX_ERROR_BODY: usize = 64 << 10;

/// The start of an error answer's body: at most [`MAX_ERROR_BODY`] bytes are read (a store
/// answering an endless body must not hold the sender or its memory), 300 characters kept.
async fn error_text(mut res: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = res.chunk().await {
        let room = MAX_ERROR_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    String::from_utf8_lossy(&body).chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A store answering an error with an endless body: the sender reads the start of it and
    /// goes on.
    #[tokio::test]
    async fn an_endless_error_body_is_cut() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 64 << 10];
            let _ = s.read(&mut buf).await;
            let head = b"HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n";
            if s.write_all(head).await.is_err() {
                return;
            }
            let chunk = format!("{:x}\r\n{}\r\n", 8192, "x".repeat(8192));
            // Endless, until the client hangs up.
            while s.write_all(chunk.as_bytes()).await.is_ok() {}
        });
        let url = format!("http://{addr}/write");
        let batch = [Series {
            labels: ::metrics::model::Labels::new([("__name__", "up")]),
            samples: vec![(1, 1.0)],
        }];
        let out = tokio::time::timeout(
            Duration::from_secs(10),
            post(&reqwest::Client::new(), &url, &batch),
        )
        .await
        .expect("the error body is not read to its end");
        match out {
            Err(Retry(m)) => {
                assert!(m.contains("500"), "{}", &m[..m.len().min(400)]);
                assert!(m.len() < 1_000, "{} bytes", m.len());
            }
            Err(Refused(m)) => panic!("refused: {m}"),
            Ok(_) => panic!("accepted"),
        }
    }

    /// A refused post says where it went, without the URL's parameters (a token there would
    /// reach the logs).
    #[tokio::test]
    async fn errors_leave_the_urls_parameters_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 64 << 10];
            // The store echoes the request line, token and all.
            let n = s.read(&mut buf).await.unwrap_or(0);
            let first = String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            let body = format!("no route for {first}");
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 404 Not Found\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        });
        let token = "rw-token-4242";
        let url = format!("http://{addr}/write?api_key={token}");
        let client = reqwest::Client::new();
        let batch = [Series {
            labels: ::metrics::model::Labels::new([("__name__", "up")]),
            samples: vec![(1, 1.0)],
        }];
        let msg = match post(&client, &url, &batch).await {
            Err(Refused(m)) => m,
            Err(Retry(m)) => panic!("retried: {m}"),
            Ok(_) => panic!("accepted"),
        };
        assert!(msg.contains("404"), "{msg}");
        assert!(
            msg.contains("no route for POST /write"),
            "the store's words: {msg}"
        );
        assert!(msg.contains(&addr.to_string()), "{msg}");
        assert!(!msg.contains(token), "{msg}");
        // Nor when the post fails outright.
        let gone = format!("http://127.0.0.1:1/write?api_key={token}");
        match post(&client, &gone, &batch).await {
            Err(Retry(m)) | Err(Refused(m)) => assert!(!m.contains(token), "{m}"),
            Ok(_) => panic!("accepted"),
        }
    }
}
