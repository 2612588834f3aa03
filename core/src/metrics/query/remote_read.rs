//! Remote read: environments with a `remote_read_url` have their series read from an external
//! Prometheus-compatible store (its `/api/v1/read`) as well as from the embedded storage.
//! Which environments a caller's query reads remotely is decided here, from the same project
//! matchers that scope its local reads; every remote query carries those matchers and the
//! environment's own `project` and `environment` matchers, so a store holding more than one
//! environment (or other data) answers only what the caller may see.
use super::super::super::error::ServiceResult;
use super::super::super::AppState;
use crate::metrics::outbound::{self, Policy};
use ::metrics::model::{Matcher, Series};
use ::metrics::remote::{self, read as wire};
use sqlx::Row;
use std::sync::OnceLock;
use std::time::Duration;

/// The most bytes a store's answer may hold, compressed.
pub const MAX_BODY: usize = 16 << 20;
/// The most bytes it may decompress to.
pub const MAX_DECODED: usize = 64 << 20;
/// The longest one remote read may take (within the query's own deadline).
const TIMEOUT: Duration = Duration::from_secs(30);

/// One environment read from a store.
#[derive(Clone, Debug)]
pub struct RemoteEnv {
    pub url: String,
    /// `project="…"`, `environment="…"`: the environment's series, and nothing else.
    pub matchers: Vec<Matcher>,
}

/// The environments whose store a caller with these `enforced` matchers reads: those of
/// every project the matchers let through (all of them for instance admins, who have none).
pub async fn environments(state: &AppState, enforced: &[Matcher]) -> ServiceResult<Vec<RemoteEnv>> {
    let rows = sqlx::query(
        "SELECT p.slug, e.slug, s.remote_read_url FROM metrics_settings s \
         JOIN environments e ON e.id = s.environment_id JOIN projects p ON p.id = e.project_id \
         WHERE s.remote_read_url <> '' ORDER BY e.id",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let (project, env, url): (String, String, String) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let visible = enforced
            .iter()
            .filter(|m| m.name == "project")
            .all(|m| m.matches(&project));
        if visible {
            out.push(RemoteEnv {
                url,
                matchers: vec![
                    Matcher::equal("project", &project),
                    Matcher::equal("environment", &env),
                ],
            });
        }
    }
    Ok(out)
}

/// The client remote reads go through: the outbound rule's (no proxy, every resolved
/// address and redirect hop checked), with a timeout; one per rule.
pub fn client(policy: Policy) -> &'static reqwest::Client {
    static STRICT: OnceLock<reqwest::Client> = OnceLock::new();
    static LOOPBACK: OnceLock<reqwest::Client> = OnceLock::new();
    let cell = if policy.allow_loopback {
        &LOOPBACK
    } else {
        &STRICT
    };
    cell.get_or_init(|| outbound::client(policy, Some(TIMEOUT)))
}

/// Why a store gave no answer. The message names the URL without its query (which may hold
/// a token) and never the token itself.
#[derive(Debug, thiserror::Error)]
#[error("remote read from {shown}: {reason}")]
pub struct RemoteError {
    shown: String,
    reason: String,
}

/// `text` (what a store answered) without the URL's query or any of its values: a store
/// that echoes the request would otherwise hand a token in the URL to whoever reads the
/// error.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    let mut out = text.to_string();
    if let Ok(u) = reqwest::Url::parse(url) {
        let mut secrets: Vec<String> = u.query().map(str::to_string).into_iter().collect();
        for (_, v) in u.query_pairs() {
            secrets.push(v.into_owned());
        }
        if let Some(q) = u.query() {
            secrets.extend(
                q.split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(_, v)| v.to_string()),
            );
        }
        secrets.retain(|s| s.len() >= 3);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets {
            out = out.replace(&s, "…");
        }
    }
    out
}

/// Posts `queries` to the store at `url` (one read request); each query's series, in order.
pub async fn fetch(
    url: &str,
    queries: &[wire::ReadQuery],
    timeout: Duration,
    policy: Policy,
) -> Result<Vec<Vec<Series>>, RemoteError> {
    let shown = super::super::display_url(url);
    let fail = |reason: String| RemoteError {
        shown: shown.clone(),
        reason,
    };
    reqwest::Url::parse(url)
        .map_err(|_| fail("not a valid URL".into()))
        .and_then(|u| outbound::check_url(&u, policy).map_err(fail))?;
    let mut res = client(policy)
        .post(url)
        .timeout(timeout.min(TIMEOUT))
        .header(reqwest::header::CONTENT_TYPE, remote::CONTENT_TYPE)
        .header(reqwest::header::CONTENT_ENCODING, remote::CONTENT_ENCODING)
        .header(wire::VERSION_HEADER.0, wire::VERSION_HEADER.1)
        .body(wire::request_body(queries))
        .send()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?;
    let status = res.status();
    let mut body = Vec::new();
    let cap = if status.is_success() { MAX_BODY } else { 512 };
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > cap {
            if !status.is_success() {
                body.extend_from_slice(&chunk[..cap - body.len()]);
                break;
            }
            return Err(fail(format!(
                "the answer is larger than {} MiB",
                MAX_BODY >> 20
            )));
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        let text = scrub(&String::from_utf8_lossy(&body), url);
        let text: String = text.trim().chars().take(300).collect();
        return Err(fail(format!("answered {status}: {text}")));
    }
    let results =
        wire::decode_response_body(&body, MAX_DECODED).map_err(|e| fail(e.to_string()))?;
    if results.len() != queries.len() {
        return Err(fail(format!(
            "{} results for {} queries",
            results.len(),
            queries.len()
        )));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A store that echoes the request line in its error: the token in the URL's query is
    /// not in the error.
    #[tokio::test]
    async fn an_echoing_store_does_not_reveal_the_token() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 64 << 10];
            let n = s.read(&mut buf).await.unwrap_or(0);
            let line = String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            let body = format!("no such path: {line}");
            let head = format!(
                "HTTP/1.1 404 Not Found\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(body.as_bytes()).await;
        });
        let token = "t0k%2Fen-secret";
        let url = format!("http://{addr}/read?api_key={token}&x=1");
        let loopback = Policy {
            allow_loopback: true,
        };
        let err = fetch(&url, &[], Duration::from_secs(5), loopback)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("404") && text.contains("no such path"),
            "{text}"
        );
        assert!(!text.contains("t0k"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}
