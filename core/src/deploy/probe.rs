//! Asking a site through the proxy whether it is healthy, as the deploy's health gate and the
//! watchdog both do: each site's primary hostname in the environment, its health path (`/`
//! when none is set), the real `Host` header, no redirects followed, no system proxy.
use super::store::Plan;
use stack::model::SiteSpec;
use std::time::Duration;

/// The most of an answer that is read.
const MAX_BODY: usize = 1024 * 1024;

/// A site to probe in one environment.
pub struct Target<'a> {
    pub host: String,
    pub health_path: &'a str,
    pub site: &'a SiteSpec,
}

/// The sites of `plan` with a hostname in environment `env`.
pub fn sites<'a>(plan: &'a Plan, env: &str) -> Vec<Target<'a>> {
    plan.sites
        .iter()
        .filter_map(|site| {
            let host = site.hosts.get(env)?.primary.clone();
            (!host.is_empty()).then_some(Target {
                host,
                health_path: if site.health_path.is_empty() {
                    "/"
                } else {
                    site.health_path.as_str()
                },
                site,
            })
        })
        .collect()
}

/// An HTTP client for probes, each request limited to a timeout.
pub struct Probe {
    client: reqwest::Client,
}

impl Probe {
    pub fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap_or_default();
        Probe { client }
    }

    /// `GET base+path` with `Host: host`: (status, body). A body past [`MAX_BODY`] is cut,
    /// not buffered (a smoke check reads JSON, not a download). The error is short: "timed
    /// out", "connection refused", or the cause chain.
    pub async fn get(&self, base: &str, host: &str, path: &str) -> Result<(u16, String), String> {
        // Health paths are checked when saved; a path that is not one would change the host
        // the request goes to (`@elsewhere`), so it is refused here too.
        if !path.starts_with('/') {
            return Err(format!("not a path: {path:?}"));
        }
        let mut resp = self
            .client
            .get(format!("{base}{path}"))
            .header(reqwest::header::HOST, host)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(short_error)?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(short_error)? {
            let room = MAX_BODY.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_BODY {
                break;
            }
        }
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// The error without the URL (the proxy's internal address, which would reach notifications
/// through the watchdog's reasons): "timed out", "connection refused" or the cause chain.
fn short_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused".into()
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(inner) = src {
            s = format!("{s}: {inner}");
            src = inner.source();
        }
        s
    }
}
