//! Environments of a project: name, slug, protection, deploy branch, Docker host, proxy.
use super::audit::{self, NewEvent};
use super::authz::{authorize, Action, ProjectRef};
use super::context::Ctx;
use super::error::{ServiceError, ServiceResult};
use super::memo::EnvRow;
use super::{now_ms, projects, validate, AppState};
use berth_model::EnvironmentView;
use serde_json::json;
use sqlx::Row;
use stack::model::{ProxyManager, ProxySettings};
use std::sync::Arc;

/// What a caller may set on an environment.
#[derive(Clone, Debug, Default)]
pub struct EnvironmentInput {
    pub name: String,
    pub slug: String,
    pub protected: bool,
    pub branch: String,
    pub docker_host: String,
    pub proxy: ProxySettings,
}

/// The secrets holding a remote engine's TLS client material.
pub const DOCKER_TLS_SECRETS: [&str; 3] = [
    "DOCKER_TLS_CA_CERT",
    "DOCKER_TLS_CLIENT_CERT",
    "DOCKER_TLS_CLIENT_KEY",
];

/// What an environment's edge proxy starts with: nginx on 80 and 443, HTTP redirected to
/// HTTPS for sites with certificates, HSTS for a year.
pub fn default_proxy() -> ProxySettings {
    ProxySettings {
        http_port: 80,
        https_port: Some(443),
        redirect_http: true,
        hsts_max_age: 31_536_000,
        ..Default::default()
    }
}

fn check_proxy(p: &ProxySettings) -> ServiceResult<()> {
    if p.http_port == 0 {
        return Err(ServiceError::invalid(
            "proxy.http_port",
            "must be a port between 1 and 65535",
        ));
    }
    if p.https_port == Some(0) {
        return Err(ServiceError::invalid(
            "proxy.https_port",
            "must be a port between 1 and 65535",
        ));
    }
    if p.https_port == Some(p.http_port) {
        return Err(ServiceError::invalid(
            "proxy.https_port",
            "must differ from the HTTP port",
        ));
    }
    check_manager(&p.manager)?;
    if !p.listen_address.is_empty() && p.listen_address.parse::<std::net::IpAddr>().is_err() {
        return Err(ServiceError::invalid(
            "proxy.listen_address",
            "an IP address such as 127.0.0.1, or empty for all addresses",
        ));
    }
    if p.hsts_max_age > 2 * 31_536_000 {
        return Err(ServiceError::invalid(
            "proxy.hsts_max_age",
            "at most two years (63072000 seconds)",
        ));
    }
    Ok(())
}

fn check_manager(m: &ProxyManager) -> ServiceResult<()> {
    let argv_ok = |v: &[String]| v.iter().all(|a| !a.is_empty() && !a.contains('\0'));
    match m.mode.as_str() {
        "" => Ok(()),
        "host" | "container" => {
            if m.config_path.trim().is_empty() || !m.config_path.starts_with('/') {
                return Err(ServiceError::invalid(
                    "proxy.manager.config_path",
                    "an absolute path for the generated configuration",
                ));
            }
            if m.mode == "container" && m.container.trim().is_empty() {
                return Err(ServiceError::invalid(
                    "proxy.manager.container",
                    "the nginx container's name",
                ));
            }
            if !argv_ok(&m.test_command) || !argv_ok(&m.reload_command) {
                return Err(ServiceError::invalid(
                    "proxy.manager",
                    "commands are lists of non-empty arguments",
                ));
            }
            Ok(())
        }
        _ => Err(ServiceError::invalid(
            "proxy.manager.mode",
            "`host`, `container` or empty (not managed)",
        )),
    }
}

/// An environment looked up for a caller who may read its project.
#[derive(Clone, Debug)]
pub struct EnvRef {
    pub id: i64,
    pub slug: String,
    pub protected: bool,
    pub project: ProjectRef,
}

fn branch(raw: &str) -> ServiceResult<String> {
    let b = raw.trim();
    if b.len() > 200
        || b.contains("..")
        || b.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c))
        || b.starts_with('/')
        || b.ends_with('/')
        || b.ends_with(".lock")
    {
        return Err(ServiceError::invalid(
            "branch",
            "is not a valid git branch name",
        ));
    }
    Ok(b.to_string())
}

fn docker_host(raw: &str) -> ServiceResult<String> {
    const USE: &str = "use tcp://host:2376 (reached over TLS, with the DOCKER_TLS_* secrets), \
                       unix:///var/run/docker.sock, or empty for the local engine";
    let h = raw.trim();
    if h.starts_with("ssh://") {
        return Err(ServiceError::invalid(
            "docker_host",
            format!("ssh:// Docker hosts are not supported: {USE}"),
        ));
    }
    if !(h.is_empty() || h.starts_with("unix://") || h.starts_with("tcp://")) {
        return Err(ServiceError::invalid("docker_host", USE));
    }
    if h.len() > 300 || h.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ServiceError::invalid("docker_host", "must be a single URL"));
    }
    Ok(h.to_string())
}

fn view(project: &str, r: &sqlx::any::AnyRow) -> ServiceResult<EnvironmentView> {
    let proxy: String = r.try_get(8)?;
    let proxy = serde_json::from_str::<ProxySettings>(&proxy)
        .ok()
        .filter(|p| p.http_port != 0)
        .unwrap_or_else(default_proxy);
    let docker_host: String = r.try_get(5)?;
    let mut docker_tls_missing = Vec::new();
    if docker_host.starts_with("tcp://") {
        for (i, name) in DOCKER_TLS_SECRETS.iter().enumerate() {
            if r.try_get::<i64, _>(9 + i)? == 0 {
                docker_tls_missing.push(name.to_string());
            }
        }
    }
    Ok(EnvironmentView {
        proxy,
        docker_tls_missing,
        id: r.try_get(0)?,
        project: project.to_string(),
        name: r.try_get(1)?,
        slug: r.try_get(2)?,
        protected: r.try_get::<i64, _>(3)? != 0,
        branch: r.try_get(4)?,
        docker_host: r.try_get(5)?,
        config_version: r.try_get(6)?,
        created_at: r.try_get(7)?,
        docker_insecure: r.try_get::<i64, _>(12)? != 0,
    })
}

const COLS: &str = "e.id, e.name, e.slug, e.protected, e.branch, e.docker_host, \
    COALESCE((SELECT MAX(v.number) FROM config_versions v WHERE v.environment_id = e.id), 0), e.created_at, \
    e.proxy, \
    (SELECT COUNT(*) FROM variables t WHERE t.environment_id = e.id AND t.is_secret = 1 AND t.sealed IS NOT NULL AND t.name = 'DOCKER_TLS_CA_CERT'), \
    (SELECT COUNT(*) FROM variables t WHERE t.environment_id = e.id AND t.is_secret = 1 AND t.sealed IS NOT NULL AND t.name = 'DOCKER_TLS_CLIENT_CERT'), \
    (SELECT COUNT(*) FROM variables t WHERE t.environment_id = e.id AND t.is_secret = 1 AND t.sealed IS NOT NULL AND t.name = 'DOCKER_TLS_CLIENT_KEY'), \
    e.docker_insecure";

pub async fn resolve(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<EnvRef> {
    Ok(resolve_row(state, ctx, project, env).await?.0)
}

/// [`resolve`], with the environment's view as the request's memo has it.
async fn resolve_row(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<(EnvRef, Arc<EnvironmentView>)> {
    let p = projects::resolve(state, ctx, project).await?;
    let find = || async {
        let sql =
            format!("SELECT {COLS} FROM environments e WHERE e.project_id = $1 AND e.slug = $2");
        let row = sqlx::query(&sql)
            .bind(p.id)
            .bind(env)
            .fetch_optional(&state.db.pool)
            .await?
            .ok_or_else(|| ServiceError::NotFound("environment".into()))?;
        let view = view(&p.slug, &row)?;
        Ok::<_, ServiceError>(EnvRow {
            id: view.id,
            slug: view.slug.clone(),
            protected: view.protected,
            view: Arc::new(view),
        })
    };
    let e = ctx.memo.environment(p.id, env, find).await?;
    Ok((
        EnvRef {
            id: e.id,
            slug: e.slug,
            protected: e.protected,
            project: p,
        },
        e.view,
    ))
}

pub async fn list(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
) -> ServiceResult<Vec<EnvironmentView>> {
    let p = projects::resolve(state, ctx, project).await?;
    let sql = format!("SELECT {COLS} FROM environments e WHERE e.project_id = $1 ORDER BY e.id");
    let rows = sqlx::query(&sql)
        .bind(p.id)
        .fetch_all(&state.db.pool)
        .await?;
    rows.iter().map(|r| view(&p.slug, r)).collect()
}

pub async fn get(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<EnvironmentView> {
    let (_, view) = resolve_row(state, ctx, project, env).await?;
    Ok(EnvironmentView::clone(&view))
}

pub async fn create(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    input: EnvironmentInput,
) -> ServiceResult<EnvironmentView> {
    let p = projects::resolve(state, ctx, project).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&p)).await?;
    let name = validate::name("name", &input.name, 100)?;
    let slug = validate::slug("slug", &input.slug)?;
    let branch = branch(&input.branch)?;
    let host = docker_host(&input.docker_host)?;
    check_proxy(&input.proxy)?;
    if !host.is_empty() {
        authorize(&state.db, ctx, Action::ManageDockerHosts, Some(&p)).await?;
    }
    if input.proxy.manager != ProxyManager::default() {
        // Berth runs these commands and writes that file on its own machine, beside the
        // master key: an instance admin's call, not a project admin's.
        authorize(&state.db, ctx, Action::ManageSettings, None).await?;
    }
    let mut tx = state.db.begin_write().await?;
    let taken: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM environments WHERE project_id = $1 AND slug = $2")
            .bind(p.id)
            .bind(&slug)
            .fetch_one(&mut *tx)
            .await?;
    if taken > 0 {
        return Err(ServiceError::invalid(
            "slug",
            "this project already has an environment with this slug",
        ));
    }
    let now = now_ms();
    sqlx::query(
        "INSERT INTO environments (project_id, name, slug, protected, branch, docker_host, proxy, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $8, $7, $7)",
    )
    .bind(p.id)
    .bind(&name)
    .bind(&slug)
    .bind(i64::from(input.protected))
    .bind(&branch)
    .bind(&host)
    .bind(now)
    .bind(serde_json::to_string(&input.proxy).unwrap_or_default())
    .execute(&mut *tx)
    .await?;
    let env_id: i64 =
        sqlx::query_scalar("SELECT id FROM environments WHERE project_id = $1 AND slug = $2")
            .bind(p.id)
            .bind(&slug)
            .fetch_one(&mut *tx)
            .await?;
    super::versions::record(&mut tx, ctx, &[env_id], "environment created").await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("environment.create", format!("project:{}/env:{slug}", p.slug))
            .project(p.id)
            .summary(json!({ "name": name, "protected": input.protected, "branch": branch, "docker_host": host })),
    )
    .await?;
    tx.commit().await?;
    get(state, ctx, &p.slug, &slug).await
}

pub async fn update(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    input: EnvironmentInput,
) -> ServiceResult<EnvironmentView> {
    update_with(state, ctx, project, env, input, None).await
}

/// Like [`update`]; `docker_insecure` (when given) also says whether the `tcp://` Docker host
/// may be reached without TLS, an instance admin's decision. Pointing the environment at
/// another host clears the mark unless the same call sets it again.
pub async fn update_with(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    input: EnvironmentInput,
    docker_insecure: Option<bool>,
) -> ServiceResult<EnvironmentView> {
    let e = resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&e.project)).await?;
    let before = get(state, ctx, project, env).await?;
    let name = validate::name("name", &input.name, 100)?;
    let branch = branch(&input.branch)?;
    let host = docker_host(&input.docker_host)?;
    check_proxy(&input.proxy)?;
    let host_changed = host != before.docker_host;
    let insecure = docker_insecure.unwrap_or(before.docker_insecure && !host_changed);
    if insecure && !host.starts_with("tcp://") {
        return Err(ServiceError::invalid(
            "docker_insecure",
            "only a tcp:// Docker host can be marked insecure",
        ));
    }
    if host_changed || input.protected != before.protected {
        // Lifting protection or pointing at another engine is an admin's call.
        authorize(&state.db, ctx, Action::ManageDockerHosts, Some(&e.project)).await?;
    }
    if input.proxy.manager != before.proxy.manager {
        // Berth runs these commands and writes that file on its own machine, beside the
        // master key: an instance admin's call, not a project admin's.
        authorize(&state.db, ctx, Action::ManageSettings, None).await?;
    }
    if docker_insecure.is_some_and(|v| v != before.docker_insecure) || (insecure && host_changed) {
        // Plain TCP to a Docker engine hands the host to anyone on the network path.
        authorize(
            &state.db,
            ctx,
            Action::MarkDockerHostInsecure,
            Some(&e.project),
        )
        .await?;
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "UPDATE environments SET name = $1, protected = $2, branch = $3, docker_host = $4, updated_at = $5, \
         proxy = $7, docker_insecure = $8 WHERE id = $6",
    )
    .bind(&name)
    .bind(i64::from(input.protected))
    .bind(&branch)
    .bind(&host)
    .bind(now_ms())
    .bind(e.id)
    .bind(serde_json::to_string(&input.proxy).unwrap_or_default())
    .bind(i64::from(insecure))
    .execute(&mut *tx)
    .await?;
    let mut changes = serde_json::Map::new();
    let mut diff = |k: &str, a: serde_json::Value, b: serde_json::Value| {
        if a != b {
            changes.insert(k.into(), json!({ "from": a, "to": b }));
        }
    };
    diff("name", json!(before.name), json!(name));
    diff("protected", json!(before.protected), json!(input.protected));
    diff("branch", json!(before.branch), json!(branch));
    diff("docker_host", json!(before.docker_host), json!(host));
    diff(
        "docker_insecure",
        json!(before.docker_insecure),
        json!(insecure),
    );
    diff("proxy", json!(before.proxy), json!(input.proxy));
    super::versions::record(&mut tx, ctx, &[e.id], "environment settings").await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(
            "environment.update",
            format!("project:{}/env:{}", e.project.slug, e.slug),
        )
        .project(e.project.id)
        .summary(serde_json::Value::Object(changes)),
    )
    .await?;
    tx.commit().await?;
    get(state, ctx, project, env).await
}

pub async fn delete(state: &AppState, ctx: &Ctx, project: &str, env: &str) -> ServiceResult<()> {
    let e = resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::ManageDockerHosts, Some(&e.project)).await?;
    // What runs goes first: nothing is left running unseen.
    let removed = super::deploy::teardown::environment(state, e.id).await?;
    let mut tx = state.db.begin_write().await?;
    for table in ["config_versions", "services"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE environment_id = $1"))
            .bind(e.id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM variables WHERE environment_id = $1")
        .bind(e.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM secret_history WHERE environment_id = $1")
        .bind(e.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM environments WHERE id = $1")
        .bind(e.id)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(
            "environment.delete",
            format!("project:{}/env:{}", e.project.slug, e.slug),
        )
        .project(e.project.id)
        .summary(serde_json::json!({ "containers_removed": removed })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The versions of an environment, newest first.
/// How many versions one page of an environment's history holds by default, and at most.
pub const VERSIONS_PAGE: i64 = 20;
pub const VERSIONS_PAGE_MAX: i64 = 200;

/// One page of the environment's configuration versions, newest first: those numbered below
/// `before` (all when none), at most `limit` of them (clamped to 1..=200; default 20). An
/// environment changed thousands of times still answers a page, not its whole history.
pub async fn list_versions(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    before: Option<i64>,
    limit: Option<i64>,
) -> ServiceResult<Vec<berth_model::ConfigVersionView>> {
    let e = resolve(state, ctx, project, env).await?;
    let limit = limit.unwrap_or(VERSIONS_PAGE).clamp(1, VERSIONS_PAGE_MAX);
    let rows = sqlx::query(
        "SELECT number, created_at, actor, reason FROM config_versions \
         WHERE environment_id = $1 AND number < $2 ORDER BY number DESC LIMIT $3",
    )
    .bind(e.id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(berth_model::ConfigVersionView {
                number: r.try_get(0)?,
                created_at: r.try_get(1)?,
                actor: r.try_get(2)?,
                reason: r.try_get(3)?,
            })
        })
        .collect()
}

/// The changes from version `from` to version `to` (0 means the empty configuration).
pub async fn compare_versions(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    from: i64,
    to: i64,
) -> ServiceResult<Vec<super::versions::Change>> {
    let e = resolve(state, ctx, project, env).await?;
    let load = |n: i64| {
        let pool = state.db.pool.clone();
        async move {
            if n == 0 {
                return Ok::<serde_json::Value, ServiceError>(serde_json::json!({}));
            }
            let snap: Option<String> = sqlx::query_scalar(
                "SELECT snapshot FROM config_versions WHERE environment_id = $1 AND number = $2",
            )
            .bind(e.id)
            .bind(n)
            .fetch_optional(&pool)
            .await?;
            let snap = snap.ok_or_else(|| ServiceError::NotFound(format!("version {n}")))?;
            serde_json::from_str(&snap).map_err(|err| ServiceError::Internal(err.to_string()))
        }
    };
    Ok(super::versions::diff(&load(from).await?, &load(to).await?))
}
