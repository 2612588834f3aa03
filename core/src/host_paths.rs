//! Host directories bind-mounted into containers. A bind mount of `/`, the Docker socket or
//! Berth's data directory hands a container the master key and every secret, so which host
//! paths services may mount is an instance admin's decision: admins may mount any path,
//! others only paths under the allowlist admins keep here (or paths a service already had).
//! Named volumes stay free for everyone.
use super::audit::{self, NewEvent};
use super::authz::{authorize, Action};
use super::context::{Actor, Ctx};
use super::error::{ServiceError, ServiceResult};
use super::{now_ms, AppState};
use stack::model::ServiceSpec;

const SETTING: &str = "allowed_host_paths";

/// Whether a volume source is a path on the host (not a named volume).
pub fn is_host_path(source: &str) -> bool {
    let mut chars = source.chars();
    let named = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    !named
}

/// `path` as an absolute path without `.`, `..`, repeated or trailing slashes; an error
/// for relative paths and paths that climb.
pub fn normalize(path: &str) -> Result<String, String> {
    let p = path.trim();
    if !p.starts_with('/') {
        return Err(format!("`{p}` is not an absolute path"));
    }
    let mut parts = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(format!("`{p}` climbs with `..`")),
            other => parts.push(other),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// Whether `path` is one of `allowed`, exactly: a path below an allowed one is not, since
/// a symlink made inside a writable mount (`ln -s / /srv/shop/r`) would lead anywhere.
pub fn covered(path: &str, allowed: &[String]) -> bool {
    let Ok(p) = normalize(path) else {
        return false;
    };
    allowed.contains(&p)
}

/// The allowlist (normalized, sorted).
pub async fn allowed(state: &AppState) -> ServiceResult<Vec<String>> {
    let v: Option<String> =
        sqlx::query_scalar("SELECT value FROM instance_settings WHERE name = $1")
            .bind(SETTING)
            .fetch_optional(&state.db.pool)
            .await?;
    Ok(v.and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// Reads the allowlist (any signed-in user: it says where mounts may go, nothing secret).
pub async fn get(state: &AppState, ctx: &Ctx) -> ServiceResult<Vec<String>> {
    if matches!(ctx.actor, Actor::Anonymous) {
        return Err(ServiceError::Unauthenticated);
    }
    allowed(state).await
}

/// Replaces the allowlist (instance admins).
pub async fn set(state: &AppState, ctx: &Ctx, paths: &[String]) -> ServiceResult<Vec<String>> {
    authorize(&state.db, ctx, Action::ManageSettings, None).await?;
    let mut list = Vec::new();
    for p in paths.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let n = normalize(p).map_err(|m| ServiceError::invalid("paths", m))?;
        if !list.contains(&n) {
            list.push(n);
        }
    }
    if list.len() > 100 {
        return Err(ServiceError::invalid("paths", "at most 100 paths"));
    }
    list.sort();
    let value = serde_json::to_string(&list).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM instance_settings WHERE name = $1")
        .bind(SETTING)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO instance_settings (name, value, updated_at) VALUES ($1, $2, $3)")
        .bind(SETTING)
        .bind(&value)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("settings.host_paths", "instance")
            .summary(serde_json::json!({ "allowed_host_paths": list })),
    )
    .await?;
    tx.commit().await?;
    Ok(list)
}

fn is_instance_admin(ctx: &Ctx) -> bool {
    matches!(ctx.actor, Actor::System) || ctx.user().is_some_and(|u| u.is_admin())
}

/// The host paths of `spec` that `ctx` may not mount: not allowed, not already mounted by
/// the service's `previous` spec, and the caller is not an instance admin.
pub async fn needing_an_admin(
    state: &AppState,
    ctx: &Ctx,
    spec: &ServiceSpec,
    previous: Option<&ServiceSpec>,
) -> ServiceResult<Vec<String>> {
    if is_instance_admin(ctx) {
        return Ok(Vec::new());
    }
    // A mount an admin gave the service stays allowed only while what runs with it stays
    // the admin's: any change but the replica count needs an admin again (a new image or
    // command next to the Docker socket is root on the host).
    let unchanged = previous.is_some_and(|p| {
        let mut p = p.clone();
        p.replicas = spec.replicas;
        p == *spec
    });
    let had = |source: &str| {
        unchanged && previous.is_some_and(|p| p.volumes.iter().any(|v| v.source == source))
    };
    let host: Vec<&str> = spec
        .volumes
        .iter()
        .map(|v| v.source.as_str())
        .filter(|s| is_host_path(s) && !had(s))
        .collect();
    // Capabilities beyond Docker's defaults and a few harmless ones (SYS_ADMIN, NET_ADMIN,
    // SYS_PTRACE…) reach the host like a host path does.
    // An external volume is used by its Docker name: it could be another environment's or
    // another project's database, so naming one is an admin's decision like a host path.
    let external = spec
        .volumes
        .iter()
        .filter(|v| v.external && !is_host_path(&v.source))
        .filter(|v| {
            !(unchanged
                && previous
                    .is_some_and(|p| p.volumes.iter().any(|o| o.external && o.source == v.source)))
        })
        .map(|v| format!("external volume {}", v.source));
    let caps: Vec<String> = external
        .chain(
            spec.runtime
                .cap_add
                .iter()
                .filter(|c| !maintainer_capability(c))
                .filter(|c| !(unchanged && previous.is_some_and(|p| p.runtime.cap_add.contains(c))))
                .map(|c| format!("capability {c}")),
        )
        .chain(
            spec.runtime
                .ulimits
                .iter()
                .filter(|(n, u)| {
                    let kept = unchanged
                        && previous.is_some_and(|p| p.runtime.ulimits.get(*n) == Some(*u));
                    !(maintainer_ulimit(n) || kept)
                })
                .map(|(n, _)| format!("capability ulimit {n}")),
        )
        .collect();
    if host.is_empty() {
        return Ok(caps);
    }
    let allowed = allowed(state).await?;
    Ok(host
        .into_iter()
        .filter(|s| !covered(s, &allowed))
        .map(String::from)
        .chain(caps)
        .collect())
}

/// Capabilities a maintainer may add: Docker's default set and a few that do not reach
/// beyond the container (binding low ports, priorities, locking memory).
fn maintainer_capability(cap: &str) -> bool {
    let c = cap.trim().to_ascii_uppercase();
    let c = c.strip_prefix("CAP_").unwrap_or(&c);
    matches!(
        c,
        "CHOWN"
            | "DAC_OVERRIDE"
            | "FSETID"
            | "FOWNER"
            | "MKNOD"
            | "NET_RAW"
            | "SETGID"
            | "SETUID"
            | "SETFCAP"
            | "SETPCAP"
            | "NET_BIND_SERVICE"
            | "SYS_CHROOT"
            | "KILL"
            | "AUDIT_WRITE"
            | "IPC_LOCK"
    )
}

/// Resource limits a maintainer may raise: files, processes, core dumps, stack. Real-time
/// priority, niceness and locked memory reach other tenants of the host.
fn maintainer_ulimit(name: &str) -> bool {
    matches!(
        name,
        "nofile" | "nproc" | "core" | "stack" | "fsize" | "locks"
    )
}

/// Refuses a spec with host paths the caller may not mount.
pub async fn check(
    state: &AppState,
    ctx: &Ctx,
    spec: &ServiceSpec,
    previous: Option<&ServiceSpec>,
) -> ServiceResult<()> {
    match needing_an_admin(state, ctx, spec, previous).await?.first() {
        None => Ok(()),
        Some(p) if p.starts_with("capability ") => Err(ServiceError::invalid(
            "runtime",
            format!(
                "cap_add: {p} needs an instance admin (it reaches beyond the container); \
                 maintainers may add NET_BIND_SERVICE, IPC_LOCK and Docker's defaults, and set the \
                 ulimits nofile, nproc, core, stack, fsize and locks"
            ),
        )),
        Some(p) => Err(ServiceError::invalid(
            "volumes",
            format!(
                "the host path `{p}` needs an instance admin: it is not among the allowed host \
                 paths (Settings); use a named volume, or ask an admin"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_volumes_are_not_host_paths() {
        for v in ["media", "postgres_data", "a.b-c"] {
            assert!(!is_host_path(v), "{v}");
        }
        for p in [
            "/",
            "/var/run/docker.sock",
            "./conf",
            "~/x",
            "../up",
            "$HOME/x",
        ] {
            assert!(is_host_path(p), "{p}");
        }
    }

    #[test]
    fn only_an_allowed_path_itself_is_covered() {
        let allowed = vec!["/srv/shop".to_string()];
        assert!(covered("/srv/shop", &allowed));
        assert!(covered("/srv//shop/./", &allowed));
        // Not below it: a symlink inside a writable mount would lead anywhere.
        assert!(!covered("/srv/shop/static/", &allowed));
        assert!(!covered("/srv/shop/../../etc", &allowed));
        assert!(!covered("/srv/shopping", &allowed));
        assert!(!covered("/", &allowed));
        assert!(!covered("./conf", &allowed));
        assert!(!covered("/var/run/docker.sock", &allowed));
    }
}
