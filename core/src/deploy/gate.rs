//! The health gate: every site of the environment, through the proxy with its real `Host`
//! header, must answer its health path with 200 (retried every interval until a timeout, as
//! the seed's `health_check.sh` does), then pass its smoke checks.
use super::log::DeployLog;
use super::probe::{self, Probe};
use super::store::Plan;
use serde_json::Value;
use stack::model::{DeploySettings, JsonAssertion, SmokeCheck};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long one request of the gate may take.
const GATE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the gate against the proxy at `base` (`http://127.0.0.1:8080`).
pub async fn run(
    plan: &Plan,
    env: &str,
    base: &str,
    settings: &DeploySettings,
    log: &DeployLog,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let sites = probe::sites(plan, env);
    if sites.is_empty() {
        log.info("no site has a hostname in this environment: nothing to check");
        return Ok(());
    }
    let client = Probe::new(GATE_TIMEOUT);
    let deadline = Instant::now() + Duration::from_secs(u64::from(settings.gate_timeout_secs));
    let interval = Duration::from_secs(u64::from(settings.gate_interval_secs.max(1)));
    let mut round = 0;
    loop {
        round += 1;
        let mut failing = Vec::new();
        for s in &sites {
            let (host, path) = (&s.host, s.health_path);
            match client.get(base, host, path).await {
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
    for s in &sites {
        for check in &s.site.smoke_checks {
            smoke(&client, base, &s.host, check, log).await?;
        }
    }
    Ok(())
}

async fn smoke(
    client: &Probe,
    base: &str,
    host: &str,
    check: &SmokeCheck,
    log: &DeployLog,
) -> Result<(), String> {
    let what = format!("smoke check {host}{}", check.path);
    let (status, body) = client
        .get(base, host, &check.path)
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
