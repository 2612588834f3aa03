//! Services of an environment: image, replicas, command, env, ports, volumes, resources,
//! health check and pre-deploy jobs.
use super::audit::{self, NewEvent};
use super::authz::{authorize, Action};
use super::context::Ctx;
use super::environments;
use super::error::{ServiceError, ServiceResult};
use super::{now_ms, versions, AppState};
use berth_model::ServiceView;
use serde_json::json;
use sqlx::Row;
use stack::interpolate;
use stack::model::ServiceSpec;
use stack::reserved;

/// Checks a spec; errors name the field.
/// The longest stop grace a service may ask for (the engine client waits 300 s for Docker).
pub const MAX_STOP_GRACE_SECS: u32 = 240;

fn check_runtime(rt: &stack::lifecycle::RuntimeOptions) -> ServiceResult<()> {
    let bad = |m: String| Err(ServiceError::invalid("runtime", m));
    let plain = |s: &str| !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if rt.user.len() > 64 || !plain(&rt.user) {
        return bad("user: a user name or id, optionally :group".into());
    }
    if !rt.working_dir.is_empty() && (!rt.working_dir.starts_with('/') || !plain(&rt.working_dir)) {
        return bad("working_dir: an absolute path".into());
    }
    // Docker's answer to a stop must come within the engine client's request timeout.
    if rt.stop_grace_secs.is_some_and(|s| s > MAX_STOP_GRACE_SECS) {
        return Err(ServiceError::invalid(
            "stop_grace",
            format!("at most {MAX_STOP_GRACE_SECS} seconds"),
        ));
    }
    for t in &rt.tmpfs {
        if !t.starts_with('/') || !plain(t) {
            return bad(format!(
                "tmpfs `{t}`: an absolute path, optionally :options"
            ));
        }
    }
    for c in rt.cap_add.iter().chain(&rt.cap_drop) {
        if c.is_empty() || c.len() > 40 || !c.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return bad(format!(
                "`{c}` is not a capability name (e.g. NET_BIND_SERVICE)"
            ));
        }
    }
    for h in &rt.extra_hosts {
        let ok = h.split_once(':').is_some_and(|(host, ip)| {
            !host.is_empty()
                && plain(host)
                && (ip == "host-gateway" || ip.parse::<std::net::IpAddr>().is_ok())
        });
        if !ok {
            return bad(format!("extra host `{h}`: expected hostname:ip"));
        }
    }
    for (name, u) in &rt.ulimits {
        let unlimited = |v: i64| v == -1;
        let ordered = match (unlimited(u.soft), unlimited(u.hard)) {
            (_, true) => true,
            (true, false) => false,
            (false, false) => u.soft <= u.hard,
        };
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_lowercase())
            || u.soft < -1
            || u.hard < -1
            || !ordered
        {
            return bad(format!(
                "ulimit {name}: a name like nofile, values -1 (unlimited) or more, soft ≤ hard"
            ));
        }
    }
    if rt.entrypoint.iter().map(String::len).sum::<usize>() > 4096 {
        return bad("entrypoint: too long".into());
    }
    Ok(())
}

/// One writer per volume and service: replicas or a start-first update on a writable volume
/// would be two (the engine refuses it at start; here it is refused at input, clearly).
/// An internal service publishes nothing.
pub fn check_lifecycle(spec: &ServiceSpec) -> ServiceResult<()> {
    use stack::lifecycle::{has_writable_volume, Update};
    if has_writable_volume(spec) && spec.replicas > 1 {
        return Err(ServiceError::invalid(
            "replicas",
            "a service with a writable volume runs one replica (two would write to it at \
             once); mount it read-only, or give each writer its own service",
        ));
    }
    if has_writable_volume(spec) && spec.update == Some(Update::Rolling) {
        return Err(ServiceError::invalid(
            "update",
            "rolling starts the new container before the old one stops: two writers on its \
             writable volume; use recreate (or mount the volume read-only)",
        ));
    }
    if spec.internal && !spec.ports.is_empty() {
        return Err(ServiceError::invalid(
            "ports",
            "an internal service publishes no ports",
        ));
    }
    Ok(())
}

pub fn check(spec: &ServiceSpec) -> ServiceResult<()> {
    if !stack::compose::is_valid_service_name(&spec.name) {
        return Err(ServiceError::invalid(
            "name",
            "use lowercase letters, digits, '-' and '_', starting with a letter or digit (at most 63)",
        ));
    }
    let image = spec.image.trim();
    if image.is_empty()
        || image.len() > 300
        || image.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ServiceError::invalid(
            "image",
            "is required, without spaces (e.g. idp-cms/authoring:${GIT_SHA})",
        ));
    }
    super::secrets::check_references(image).map_err(|e| ServiceError::invalid("image", e))?;
    if let Some(r) = interpolate::references(image)
        .into_iter()
        .find(|r| r != "REGISTRY_SERVER" && reserved::is_reserved(r))
    {
        return Err(ServiceError::invalid(
            "image",
            format!("${{{r}}} is {}", reserved::RESERVED_NOTE),
        ));
    }
    if spec.replicas > 100 {
        return Err(ServiceError::invalid(
            "replicas",
            "must be between 0 and 100",
        ));
    }
    for (k, v) in &spec.env {
        // Docker takes any name without '=' (OpenSearch uses `cluster.name`).
        if k.is_empty()
            || k.len() > 256
            || k.contains('=')
            || k.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ServiceError::invalid(
                "env",
                format!("{k:?} is not a valid environment variable name"),
            ));
        }
        super::secrets::check_references(v)
            .map_err(|e| ServiceError::invalid("env", format!("{k}: {e}")))?;
        if reserved::is_reserved(k) {
            return Err(ServiceError::invalid(
                "env",
                format!("{k}: the name is {}", reserved::RESERVED_NOTE),
            ));
        }
        if let Some(r) = interpolate::references(v)
            .into_iter()
            .find(|r| reserved::is_reserved(r))
        {
            return Err(ServiceError::invalid(
                "env",
                format!("{k}: ${{{r}}} is {}", reserved::RESERVED_NOTE),
            ));
        }
    }
    for name in spec.inherit.iter().flatten() {
        if !interpolate::is_valid_name(name) {
            return Err(ServiceError::invalid(
                "inherit",
                format!("`{name}` is not a variable name ([A-Za-z_][A-Za-z0-9_]*)"),
            ));
        }
        if reserved::is_reserved(name) {
            return Err(ServiceError::invalid(
                "inherit",
                format!("`{name}` is {}", reserved::RESERVED_NOTE),
            ));
        }
    }
    for p in &spec.ports {
        if p.container_port == 0 || !matches!(p.protocol.as_str(), "" | "tcp" | "udp") {
            return Err(ServiceError::invalid(
                "ports",
                "container port 1-65535, protocol tcp or udp",
            ));
        }
    }
    for v in &spec.volumes {
        if v.source.is_empty() || !v.target.starts_with('/') {
            return Err(ServiceError::invalid(
                "volumes",
                "each volume needs a source and an absolute target path",
            ));
        }
    }
    for d in &spec.depends_on {
        if !stack::compose::is_valid_service_name(&d.service) || d.service == spec.name {
            return Err(ServiceError::invalid(
                "depends_on",
                format!("`{}` is not another service's name", d.service),
            ));
        }
    }
    check_runtime(&spec.runtime)?;
    check_lifecycle(spec)?;
    let r = &spec.resources;
    for (field, v) in [
        ("resources.cpu_limit", r.cpu_limit),
        ("resources.cpu_reservation", r.cpu_reservation),
    ] {
        if v.is_some_and(|c| !(c > 0.0 && c <= 1024.0)) {
            return Err(ServiceError::invalid(
                field,
                "must be a positive number of CPUs",
            ));
        }
    }
    if let (Some(l), Some(res)) = (r.memory_limit, r.memory_reservation) {
        if res > l {
            return Err(ServiceError::invalid(
                "resources.memory_reservation",
                "must not exceed the memory limit",
            ));
        }
    }
    for (i, job) in spec.pre_deploy.iter().enumerate() {
        if job.name.trim().is_empty() || job.command.is_empty() {
            return Err(ServiceError::invalid(
                "pre_deploy",
                "each job needs a name and a command",
            ));
        }
        // The name becomes part of a container name.
        if !stack::compose::is_valid_service_name(&job.name) {
            return Err(ServiceError::invalid(
                "pre_deploy",
                format!(
                    "job {}: use lowercase letters, digits, '-' and '_' in its name, starting with a letter or digit (at most 63)",
                    i + 1
                ),
            ));
        }
        if spec.pre_deploy[..i].iter().any(|j| j.name == job.name) {
            return Err(ServiceError::invalid(
                "pre_deploy",
                format!("job {}: the name `{}` is used twice", i + 1, job.name),
            ));
        }
    }
    Ok(())
}

pub async fn list(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
) -> ServiceResult<Vec<ServiceView>> {
    let e = environments::resolve(state, ctx, project, env).await?;
    let rows = sqlx::query(
        "SELECT name, spec, updated_at FROM services WHERE environment_id = $1 ORDER BY name",
    )
    .bind(e.id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let spec: String = r.try_get(1)?;
            Ok(ServiceView {
                name: r.try_get(0)?,
                spec: serde_json::from_str(&spec)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?,
                updated_at: r.try_get(2)?,
            })
        })
        .collect()
}

/// The stored spec of a service, if it exists.
pub(crate) async fn stored(
    state: &AppState,
    env_id: i64,
    name: &str,
) -> ServiceResult<Option<ServiceSpec>> {
    let spec: Option<String> =
        sqlx::query_scalar("SELECT spec FROM services WHERE environment_id = $1 AND name = $2")
            .bind(env_id)
            .bind(name)
            .fetch_optional(&state.db.pool)
            .await?;
    spec.map(|s| serde_json::from_str(&s).map_err(|e| ServiceError::Internal(e.to_string())))
        .transpose()
}

/// Creates or replaces services inside a transaction the caller owns (imports use this).
pub(crate) async fn upsert_in(
    tx: &mut super::db::Tx,
    env_id: i64,
    spec: &ServiceSpec,
) -> ServiceResult<bool> {
    let body = serde_json::to_string(spec).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let existing: Option<String> =
        sqlx::query_scalar("SELECT spec FROM services WHERE environment_id = $1 AND name = $2")
            .bind(env_id)
            .bind(&spec.name)
            .fetch_optional(&mut **tx)
            .await?;
    match existing {
        Some(old) if old == body => return Ok(false),
        Some(_) => {
            sqlx::query("UPDATE services SET spec = $1, updated_at = $2 WHERE environment_id = $3 AND name = $4")
                .bind(&body)
                .bind(now_ms())
                .bind(env_id)
                .bind(&spec.name)
                .execute(&mut **tx)
                .await?;
        }
        None => {
            sqlx::query("INSERT INTO services (environment_id, name, spec, updated_at) VALUES ($1, $2, $3, $4)")
                .bind(env_id)
                .bind(&spec.name)
                .bind(&body)
                .bind(now_ms())
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(true)
}

pub async fn put(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    spec: ServiceSpec,
) -> ServiceResult<ServiceView> {
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&e.project)).await?;
    check(&spec)?;
    let previous = stored(state, e.id, &spec.name).await?;
    super::host_paths::check(state, ctx, &spec, previous.as_ref()).await?;
    let mut all: Vec<ServiceSpec> = list(state, ctx, project, env)
        .await?
        .into_iter()
        .filter(|v| v.name != spec.name)
        .map(|v| v.spec)
        .collect();
    all.push(spec.clone());
    if let Err(cycle) = stack::lifecycle::start_order(&all) {
        return Err(ServiceError::invalid(
            "depends_on",
            format!("this makes a cycle: {}", cycle.join(" → ")),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    upsert_in(&mut tx, e.id, &spec).await?;
    versions::record(&mut tx, ctx, &[e.id], &format!("service {}", spec.name)).await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(
            "service.put",
            format!(
                "project:{}/env:{}/service:{}",
                e.project.slug, e.slug, spec.name
            ),
        )
        .project(e.project.id)
        .summary(json!({ "image": spec.image, "replicas": spec.replicas })),
    )
    .await?;
    tx.commit().await?;
    Ok(ServiceView {
        name: spec.name.clone(),
        spec,
        updated_at: now_ms(),
    })
}

pub async fn delete(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    name: &str,
) -> ServiceResult<()> {
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&e.project)).await?;
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query("DELETE FROM services WHERE environment_id = $1 AND name = $2")
        .bind(e.id)
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(ServiceError::NotFound("service".into()));
    }
    versions::record(&mut tx, ctx, &[e.id], &format!("delete service {name}")).await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new(
            "service.delete",
            format!("project:{}/env:{}/service:{name}", e.project.slug, e.slug),
        )
        .project(e.project.id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
