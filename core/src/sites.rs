//! Sites of a project: hostnames per environment, routes, health path, smoke checks, TLS.
use super::audit::{self, NewEvent};
use super::authz::{authorize, Action};
use super::context::Ctx;
use super::error::{ServiceError, ServiceResult};
use super::{now_ms, projects, versions, AppState};
use berth_model::SiteView;
use serde_json::json;
use sqlx::Row;
use stack::model::SiteSpec;
use std::collections::BTreeMap;

pub fn check(spec: &SiteSpec) -> ServiceResult<()> {
    let name = spec.name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "name",
            "is required (at most 100 characters)",
        ));
    }
    for (env, hosts) in &spec.hosts {
        for h in std::iter::once(&hosts.primary).chain(&hosts.aliases) {
            stack::nginx::check_hostname(h)
                .map_err(|m| ServiceError::invalid("hosts", format!("{env}: {h:?}: {m}")))?;
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in &spec.routes {
        if !r.path.starts_with('/') || !seen.insert(r.path.clone()) {
            return Err(ServiceError::invalid(
                "routes",
                format!("{:?}: paths start with '/' and appear once", r.path),
            ));
        }
    }
    if !spec.health_path.is_empty() && !spec.health_path.starts_with('/') {
        return Err(ServiceError::invalid("health_path", "must start with '/'"));
    }
    for c in &spec.smoke_checks {
        if !c.path.starts_with('/') {
            return Err(ServiceError::invalid(
                "smoke_checks",
                "paths start with '/'",
            ));
        }
    }
    Ok(())
}

async fn all(tx: &mut super::db::Tx, project_id: i64) -> ServiceResult<Vec<SiteSpec>> {
    let rows = sqlx::query("SELECT spec FROM sites WHERE project_id = $1 ORDER BY name")
        .bind(project_id)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| {
            let s: String = r.try_get(0)?;
            serde_json::from_str(&s).map_err(|e| ServiceError::Internal(e.to_string()))
        })
        .collect()
}

/// A hostname may belong to one site per environment.
fn check_unique_hosts(sites: &[SiteSpec]) -> ServiceResult<()> {
    let mut owner: BTreeMap<(String, String), String> = BTreeMap::new();
    for s in sites {
        for (env, hosts) in &s.hosts {
            for h in std::iter::once(&hosts.primary).chain(&hosts.aliases) {
                let key = (env.clone(), h.to_ascii_lowercase());
                if let Some(other) = owner.insert(key, s.name.clone()) {
                    if other != s.name {
                        return Err(ServiceError::invalid(
                            "hosts",
                            format!("{h} is already used by site {other:?} in {env}"),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

pub async fn list(state: &AppState, ctx: &Ctx, project: &str) -> ServiceResult<Vec<SiteView>> {
    let p = projects::resolve(state, ctx, project).await?;
    let rows =
        sqlx::query("SELECT name, spec, updated_at FROM sites WHERE project_id = $1 ORDER BY name")
            .bind(p.id)
            .fetch_all(&state.db.pool)
            .await?;
    rows.iter()
        .map(|r| {
            let spec: String = r.try_get(1)?;
            Ok(SiteView {
                name: r.try_get(0)?,
                spec: serde_json::from_str(&spec)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?,
                updated_at: r.try_get(2)?,
            })
        })
        .collect()
}

pub async fn put(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    spec: SiteSpec,
) -> ServiceResult<SiteView> {
    let p = projects::resolve(state, ctx, project).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&p)).await?;
    check(&spec)?;
    let body = serde_json::to_string(&spec).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut tx = state.db.begin_write().await?;
    let mut sites: Vec<SiteSpec> = all(&mut tx, p.id)
        .await?
        .into_iter()
        .filter(|s| s.name != spec.name)
        .collect();
    sites.push(spec.clone());
    check_unique_hosts(&sites)?;
    let now = now_ms();
    let updated = sqlx::query(
        "UPDATE sites SET spec = $1, updated_at = $2 WHERE project_id = $3 AND name = $4",
    )
    .bind(&body)
    .bind(now)
    .bind(p.id)
    .bind(&spec.name)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        sqlx::query(
            "INSERT INTO sites (project_id, name, spec, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(p.id)
        .bind(&spec.name)
        .bind(&body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let envs = versions::project_envs(&mut tx, p.id).await?;
    versions::record(&mut tx, ctx, &envs, &format!("site {}", spec.name)).await?;
    let hosts: BTreeMap<&String, &String> =
        spec.hosts.iter().map(|(e, h)| (e, &h.primary)).collect();
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("site.put", format!("project:{}/site:{}", p.slug, spec.name))
            .project(p.id)
            .summary(json!({ "hosts": hosts, "routes": spec.routes.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(SiteView {
        name: spec.name.clone(),
        spec,
        updated_at: now,
    })
}

pub async fn delete(state: &AppState, ctx: &Ctx, project: &str, name: &str) -> ServiceResult<()> {
    let p = projects::resolve(state, ctx, project).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&p)).await?;
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query("DELETE FROM sites WHERE project_id = $1 AND name = $2")
        .bind(p.id)
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(ServiceError::NotFound("site".into()));
    }
    let envs = versions::project_envs(&mut tx, p.id).await?;
    versions::record(&mut tx, ctx, &envs, &format!("delete site {name}")).await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("site.delete", format!("project:{}/site:{name}", p.slug)).project(p.id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
