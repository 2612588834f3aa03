//! The health gate: every site of the environment, through the proxy with its real `Host`
//! header, must answer its health path with 200 (retried every interval until a timeout, as
//! the seed's `health_check.sh` does), then pass its smoke checks.
use super::log::DeployLog;
use super::store::Plan;
use serde_json::Value;
use stack::model::{DeploySettings, JsonAssertion, SmokeCheck};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The sites' primary hostnames in this environment, with their health path and checks.
fn targets(plan: &Plan, env: &str) -> Vec<(String, String, Vec<SmokeCheck>)> {
    plan.sites
        .iter()
        .filter_map(|s| {
            let host = s.hosts.get(env)?.primary.clone();
            (!host.is_empty()).then(|| (host, s.health_path.clone(), s.smoke_checks.clone()))
        })
        .collect()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap_or_default()
}

/// `GET base+path` with `Host: host`: (status, body).
async fn get(
    client: &reqwest::Client,
    base: &str,
    host: &str,
    path: &str,
) -> Result<(u16, String), String> {
    let resp = client
        .get(format!("{base}{path}"))
        .header(reqwest::header::HOST, host)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| short_error(&e))?;
    let status = resp.status().as_u16();
    // A smoke check reads JSON, not a download: a body past the limit is cut, not buffered.
    let mut resp = resp;
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| short_error(&e))? {
        let room = MAX_PROBE_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_PROBE_BODY {
            break;
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The most of a probe's answer that is read.
const MAX_PROBE_BODY: usize = 1024 * 1024;

fn short_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused".into()
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s = format!("{s}: {inner}");
            src = inner.source();
        }
        s
    }
}

/// Runs the gate against the proxy at `base` (`http://127.0.0.1:8080`).
pub async fn run(
    plan: &Plan,
    env: &str,
    base: &str,
    settings: &DeploySettings,
    log: &DeployLog,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let sites = targets(plan, env);
    if sites.is_empty() {
        log.info("no site has a hostname in this environment: nothing to check");
        return Ok(());
    }
    let client = client();
    let deadline = Instant::now() + Duration::from_secs(u64::from(settings.gate_timeout_secs));
    let interval = Duration::from_secs(u64::from(settings.gate_interval_secs.max(1)));
    let mut round = 0;
    loop {
        round += 1;
        let mut failing = Vec::new();
        for (host, path, _) in &sites {
            let path = if path.is_empty() { "/" } else { path.as_str() };
            match get(&client, base, host, path).await {
                Ok((200, _)) => log.info(format!("✓ {host}{path}: 200")),
                Ok((status, _)) => failing.push(format!("{host}{path}: HTTP {status}")),
                Err(e) => failing.push(format!("{host}{path}: {e}")),
            }
        }
        if failing.is_empty() {
            log.info(format!(
                "all {} site(s) healthy (round {round})",
                sites.len()
            ));
            break;
        }
        for f in &failing {
            log.info(format!("✗ {f}"));
        }
        if Instant::now() + interval > deadline {
            return Err(format!(
                "health gate: {} after {} s",
                failing.join(", "),
                settings.gate_timeout_secs
            ));
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = cancel.cancelled() => return Err("cancelled".into()),
        }
    }
    for (host, _, checks) in &sites {
        for check in checks {
            smoke(&client, base, host, check, log).await?;
        }
    }
    Ok(())
}

async fn smoke(
    client: &reqwest::Client,
    base: &str,
    host: &str,
    check: &SmokeCheck,
    log: &DeployLog,
) -> Result<(), String> {
    let what = format!("smoke check {host}{}", check.path);
    let (status, body) = get(client, base, host, &check.path)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    if status != 200 {
        return Err(format!("{what}: HTTP {status}"));
    }
    if !check.assertions.is_empty() {
        let json: Value =
            serde_json::from_str(&body).map_err(|_| format!("{what}: the response is not JSON"))?;
        for a in &check.assertions {
            assert_json(&json, a, host).map_err(|e| format!("{what}: {e}"))?;
        }
    }
    log.info(format!(
        "✓ {what} ({} assertion(s))",
        check.assertions.len()
    ));
    Ok(())
}

/// Looks a value up by a jq-like path: `.items`, `.debug.site`, `.items.0.title`.
pub fn lookup<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in pointer
        .trim_start_matches('.')
        .split('.')
        .filter(|p| !p.is_empty())
    {
        cur = match cur {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

pub fn assert_json(v: &Value, a: &JsonAssertion, host: &str) -> Result<(), String> {
    match a {
        JsonAssertion::NonEmpty { pointer } => match lookup(v, pointer) {
            Some(Value::Array(x)) if !x.is_empty() => Ok(()),
            Some(Value::Object(x)) if !x.is_empty() => Ok(()),
            Some(Value::String(x)) if !x.is_empty() => Ok(()),
            Some(_) => Err(format!("{pointer} is empty")),
            None => Err(format!("{pointer} is missing")),
        },
        JsonAssertion::Equals { pointer, value } => {
            let want = value.replace("${HOST}", host);
            match lookup(v, pointer) {
                Some(Value::String(s)) if *s == want => Ok(()),
                Some(other) => {
                    // Numbers and booleans compare by their JSON text (`42`, `true`).
                    let text = other.to_string();
                    if text == want {
                        Ok(())
                    } else {
                        Err(format!("{pointer} is {text}, expected {want}"))
                    }
                }
                None => Err(format!("{pointer} is missing")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jq_like_paths_and_assertions() {
        let v = json!({"items": [{"title": "a"}], "debug": {"site": "site-a.local"}});
        assert_eq!(lookup(&v, ".items.0.title"), Some(&json!("a")));
        let non_empty = JsonAssertion::NonEmpty {
            pointer: ".items".into(),
        };
        assert!(assert_json(&v, &non_empty, "x").is_ok());
        let eq = JsonAssertion::Equals {
            pointer: ".debug.site".into(),
            value: "${HOST}".into(),
        };
        assert!(assert_json(&v, &eq, "site-a.local").is_ok());
        assert!(assert_json(&v, &eq, "site-b.local")
            .unwrap_err()
            .contains("expected site-b.local"));
        let missing = JsonAssertion::NonEmpty {
            pointer: ".nope".into(),
        };
        assert!(assert_json(&v, &missing, "x").is_err());
    }
}
