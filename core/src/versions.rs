//! Numbered configuration versions of an environment: a snapshot of its effective services,
//! sites and variables (secret values never: only their versions) after every change, and
//! diffs between any two.
use super::context::Ctx;
use super::db::Tx;
use super::error::ServiceResult;
use super::now_ms;
use serde_json::{json, Map, Value};
use sqlx::Row;
use std::collections::BTreeMap;

/// Builds the snapshot of one environment inside the caller's transaction.
pub async fn snapshot(tx: &mut Tx, env_id: i64) -> ServiceResult<Value> {
    let env = sqlx::query(
        "SELECT project_id, protected, branch, docker_host, proxy FROM environments WHERE id = $1",
    )
    .bind(env_id)
    .fetch_one(&mut **tx)
    .await?;
    let project_id: i64 = env.try_get(0)?;
    let mut services = Map::new();
    for r in sqlx::query("SELECT name, spec FROM services WHERE environment_id = $1 ORDER BY name")
        .bind(env_id)
        .fetch_all(&mut **tx)
        .await?
    {
        let spec: String = r.try_get(1)?;
        services.insert(
            r.try_get(0)?,
            serde_json::from_str(&spec).unwrap_or(Value::Null),
        );
    }
    let mut sites = Map::new();
    for r in sqlx::query("SELECT name, spec FROM sites WHERE project_id = $1 ORDER BY name")
        .bind(project_id)
        .fetch_all(&mut **tx)
        .await?
    {
        let spec: String = r.try_get(1)?;
        sites.insert(
            r.try_get(0)?,
            serde_json::from_str(&spec).unwrap_or(Value::Null),
        );
    }
    // Environment variables win over project ones: read project first, then overwrite.
    let mut vars: BTreeMap<String, Value> = BTreeMap::new();
    for r in sqlx::query(
        "SELECT name, environment_id, is_secret, value, version, sealed FROM variables \
         WHERE project_id = $1 AND environment_id IN (0, $2) ORDER BY environment_id, name",
    )
    .bind(project_id)
    .bind(env_id)
    .fetch_all(&mut **tx)
    .await?
    {
        let secret = r.try_get::<i64, _>(2)? != 0;
        let value: Option<String> = r.try_get(3)?;
        let sealed: Option<String> = r.try_get(5)?;
        let missing = if secret {
            sealed.is_none()
        } else {
            value.is_none()
        };
        vars.insert(
            r.try_get(0)?,
            json!({
                "scope": if r.try_get::<i64, _>(1)? == 0 { "project" } else { "environment" },
                "secret": secret,
                "value": if secret { Value::Null } else { json!(value) },
                "version": r.try_get::<i64, _>(4)?,
                "missing": missing,
            }),
        );
    }
    Ok(json!({
        "environment": {
            "protected": env.try_get::<i64, _>(1)? != 0,
            "branch": env.try_get::<String, _>(2)?,
            "docker_host": env.try_get::<String, _>(3)?,
            "proxy": serde_json::from_str::<Value>(&env.try_get::<String, _>(4)?).unwrap_or(Value::Null),
        },
        "services": services,
        "sites": sites,
        "variables": vars,
    }))
}

/// Records a new version for each environment whose snapshot changed. Returns the new
/// version numbers.
pub async fn record(
    tx: &mut Tx,
    ctx: &Ctx,
    env_ids: &[i64],
    reason: &str,
) -> ServiceResult<Vec<(i64, i64)>> {
    let mut made = Vec::new();
    for &env_id in env_ids {
        let snap = snapshot(tx, env_id).await?;
        let last = sqlx::query(
            "SELECT number, snapshot FROM config_versions WHERE environment_id = $1 ORDER BY number DESC LIMIT 1",
        )
        .bind(env_id)
        .fetch_optional(&mut **tx)
        .await?;
        let (number, unchanged) = match last {
            Some(r) => {
                let n: i64 = r.try_get(0)?;
                let prev: String = r.try_get(1)?;
                (
                    n + 1,
                    serde_json::from_str::<Value>(&prev).ok().as_ref() == Some(&snap),
                )
            }
            None => (1, false),
        };
        if unchanged {
            continue;
        }
        sqlx::query(
            "INSERT INTO config_versions (environment_id, number, created_at, actor, reason, snapshot) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(env_id)
        .bind(number)
        .bind(now_ms())
        .bind(ctx.actor.name())
        .bind(reason)
        .bind(snap.to_string())
        .execute(&mut **tx)
        .await?;
        made.push((env_id, number));
    }
    Ok(made)
}

/// Ids of the project's environments (a project-level change touches all of them).
pub async fn project_envs(tx: &mut Tx, project_id: i64) -> ServiceResult<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM environments WHERE project_id = $1 ORDER BY id")
            .bind(project_id)
            .fetch_all(&mut **tx)
            .await?,
    )
}

pub use berth_model::ConfigChange as Change;

fn flatten(prefix: &str, v: &Value, depth: usize, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if depth > 0 => {
            for (k, v) in m {
                flatten(&format!("{prefix}.{k}"), v, depth - 1, out);
            }
        }
        other => {
            out.insert(prefix.trim_start_matches('.').to_string(), other.clone());
        }
    }
}

/// Differences from `a` to `b`, with secret values hidden.
pub fn diff(a: &Value, b: &Value) -> Vec<Change> {
    let mut fa = BTreeMap::new();
    let mut fb = BTreeMap::new();
    // Services and sites compare field by field; variables as a whole.
    for (snap, out) in [(a, &mut fa), (b, &mut fb)] {
        for section in ["environment", "services", "sites"] {
            flatten(section, &snap[section], 2, out);
        }
        flatten("variables", &snap["variables"], 1, out);
    }
    let is_secret = |v: &Value| v.get("secret").and_then(Value::as_bool).unwrap_or(false);
    let shown = |key: &str, v: &Value| -> Option<Value> {
        if key.starts_with("variables.") {
            if is_secret(v) {
                return None;
            }
            return Some(v.get("value").cloned().unwrap_or(Value::Null));
        }
        Some(v.clone())
    };
    let mut keys: Vec<&String> = fa.keys().chain(fb.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        match (fa.get(key), fb.get(key)) {
            (Some(x), Some(y)) if x != y => out.push(Change {
                key: key.clone(),
                kind: "changed".into(),
                from: if is_secret(x) || is_secret(y) {
                    None
                } else {
                    shown(key, x)
                },
                to: if is_secret(x) || is_secret(y) {
                    None
                } else {
                    shown(key, y)
                },
            }),
            (None, Some(y)) => out.push(Change {
                key: key.clone(),
                kind: "added".into(),
                from: None,
                to: shown(key, y),
            }),
            (Some(x), None) => out.push(Change {
                key: key.clone(),
                kind: "removed".into(),
                from: shown(key, x),
                to: None,
            }),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_changes_never_show_values() {
        let a = json!({"variables": {"DB_PASSWORD": {"secret": true, "value": null, "version": 1}, "DEBUG": {"secret": false, "value": "true", "version": 1}}});
        let b = json!({"variables": {"DB_PASSWORD": {"secret": true, "value": null, "version": 2}, "DEBUG": {"secret": false, "value": "false", "version": 2}, "NEW": {"secret": false, "value": "x", "version": 1}}});
        let d = diff(&a, &b);
        let pw = d.iter().find(|c| c.key == "variables.DB_PASSWORD").unwrap();
        assert_eq!(pw.kind, "changed");
        assert!(pw.from.is_none() && pw.to.is_none());
        let debug = d.iter().find(|c| c.key == "variables.DEBUG").unwrap();
        assert_eq!(debug.from, Some(json!("true")));
        assert_eq!(debug.to, Some(json!("false")));
        assert_eq!(
            d.iter().find(|c| c.key == "variables.NEW").unwrap().kind,
            "added"
        );
    }

    #[test]
    fn services_diff_field_by_field() {
        let a = json!({"services": {"web": {"replicas": 2, "image": "a:1"}}});
        let b = json!({"services": {"web": {"replicas": 3, "image": "a:1"}}});
        let d = diff(&a, &b);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].key, "services.web.replicas");
    }
}
