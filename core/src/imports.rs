//! Imports of the stack's own files: `.env` files as variables and secrets, and
//! `docker-compose.yml` as services. A preview says what would change; applying is one
//! transaction.
use super::audit::{self, NewEvent};
use super::authz::{authorize, Action};
use super::context::Ctx;
use super::error::{ServiceError, ServiceResult};
use super::variables::{self, Scope};
use super::{environments, now_ms, projects, services, versions, AppState};
use berth_model::{ImportItem, ImportPlan};
use serde_json::json;
use sqlx::Row as _;
use stack::model::InputError;

pub const MAX_IMPORT_BYTES: usize = 256 * 1024;

/// The preview's action for a service whose host paths the importer may not mount: it is
/// left out of the import (the rest goes in).
pub const NEEDS_ADMIN: &str = "needs an admin";

fn input_error(e: InputError) -> ServiceError {
    ServiceError::invalid(
        "file",
        format!("{}:{}: {}: {}", e.file, e.line, e.field, e.message),
    )
}

fn check_size(text: &str) -> ServiceResult<()> {
    if text.len() > MAX_IMPORT_BYTES {
        return Err(ServiceError::invalid(
            "file",
            format!("is larger than {} KiB", MAX_IMPORT_BYTES / 1024),
        ));
    }
    Ok(())
}

/// Imports a `.env` file. `secrets`: the names to store as secrets (default: Berth's
/// proposal — names like PASSWORD, SECRET, KEY, TOKEN, DSN and vault placeholders).
pub async fn env_file(
    state: &AppState,
    ctx: &Ctx,
    scope: Scope<'_>,
    file_name: &str,
    text: &str,
    secrets: Option<&[String]>,
    apply: bool,
) -> ServiceResult<ImportPlan> {
    check_size(text)?;
    let (project, env) = match &scope {
        Scope::Project(p) => (projects::resolve(state, ctx, p).await?, None),
        Scope::Environment(p, e) => {
            let env = environments::resolve(state, ctx, p, e).await?;
            (env.project.clone(), Some(env))
        }
    };
    let env_id = env.as_ref().map_or(0, |e| e.id);
    let mut entries = stack::dotenv::parse(file_name, text).map_err(input_error)?;
    add_referenced_placeholders(state, &mut entries, project.id, env_id).await?;
    let mut items = Vec::new();
    let mut any_secret = false;
    let existing = sqlx::query("SELECT name, is_secret, value, sealed, version FROM variables WHERE project_id = $1 AND environment_id = $2")
        .bind(project.id)
        .bind(env_id)
        .fetch_all(&state.db.pool)
        .await?;
    let find = |name: &str| {
        existing
            .iter()
            .find(|r| r.try_get::<String, _>(0).ok().as_deref() == Some(name))
    };
    for e in &entries {
        let secret = match secrets {
            Some(list) => list.iter().any(|s| s == &e.name),
            None => e.suggested_secret,
        };
        any_secret |= secret;
        let action = match find(&e.name) {
            None => "create",
            Some(r) => {
                let was_secret = r.try_get::<i64, _>(1)? != 0;
                let value: Option<String> = r.try_get(2)?;
                let sealed: Option<String> = r.try_get(3)?;
                let same = was_secret == secret
                    && if secret {
                        e.value.is_none() && sealed.is_none()
                    } else {
                        value == e.value
                    };
                if same {
                    "unchanged"
                } else {
                    "update"
                }
            }
        };
        items.push(ImportItem {
            kind: if secret { "secret" } else { "variable" }.into(),
            name: e.name.clone(),
            action: action.into(),
            note: e.reason.clone(),
            missing: e.value.is_none(),
            line: e.line,
        });
    }
    let plan = ImportPlan {
        applied: false,
        items,
        unsupported: Vec::new(),
    };
    authorize(
        &state.db,
        ctx,
        if any_secret {
            Action::WriteSecret
        } else {
            Action::EditConfig
        },
        Some(&project),
    )
    .await?;
    if !apply {
        return Ok(plan);
    }
    let actor = ctx.actor.name();
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    for (e, item) in entries.iter().zip(&plan.items) {
        if item.action == "unchanged" {
            continue;
        }
        let secret = item.kind == "secret";
        let aad = super::secrets::aad(
            &project.slug,
            env.as_ref().map(|e| e.slug.as_str()),
            &e.name,
        );
        let (plain, sealed, key_id) = match (secret, &e.value) {
            (true, Some(v)) => {
                let (s, k) = state.secrets.seal(&aad, v)?;
                (None, Some(s), Some(k))
            }
            (true, None) => (None, None, None),
            (false, v) => (v.clone(), None, None),
        };
        let version = match find(&e.name) {
            Some(r) => r.try_get::<i64, _>(4)? + 1,
            None => 1,
        };
        variables::write_in(
            &mut tx,
            variables::Row {
                project_id: project.id,
                env_id,
                name: &e.name,
                secret,
                plain: plain.as_deref(),
                sealed: sealed.as_deref(),
                key_id: key_id.as_deref(),
                version,
                actor: &actor,
                now,
            },
            item.action == "update",
        )
        .await?;
    }
    let envs = match &env {
        Some(e) => vec![e.id],
        None => versions::project_envs(&mut tx, project.id).await?,
    };
    for id in &envs {
        super::secrets::check_environment(&mut tx, *id).await?;
    }
    versions::record(&mut tx, ctx, &envs, &format!("import {file_name}")).await?;
    let names = |kind: &str| {
        plan.items
            .iter()
            .filter(|i| i.kind == kind && i.action != "unchanged")
            .map(|i| i.name.clone())
            .collect::<Vec<_>>()
    };
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("import.env", format!("project:{}/{}", project.slug, env.as_ref().map_or("project".into(), |e| format!("env:{}", e.slug))))
            .project(project.id)
            .summary(json!({ "file": file_name, "variables": names("variable"), "secrets": names("secret") })),
    )
    .await?;
    tx.commit().await?;
    state.metrics.secrets_changed();
    Ok(ImportPlan {
        applied: true,
        ..plan
    })
}

/// Imports a `docker-compose.yml` as the environment's services.
pub async fn compose_file(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    env: &str,
    file_name: &str,
    text: &str,
    apply: bool,
) -> ServiceResult<ImportPlan> {
    check_size(text)?;
    let e = environments::resolve(state, ctx, project, env).await?;
    authorize(&state.db, ctx, Action::EditConfig, Some(&e.project)).await?;
    let imported = stack::compose::import(file_name, text).map_err(input_error)?;
    let existing = services::list(state, ctx, project, env).await?;
    let mut items = Vec::new();
    for s in &imported.services {
        services::check(s).map_err(|err| match err {
            ServiceError::Invalid { field, message } => {
                ServiceError::invalid("file", format!("services.{}.{field}: {message}", s.name))
            }
            other => other,
        })?;
        let previous = existing.iter().find(|x| x.name == s.name).map(|x| &x.spec);
        let blocked = super::host_paths::needing_an_admin(state, ctx, s, previous).await?;
        let action = match previous {
            _ if !blocked.is_empty() => NEEDS_ADMIN,
            None => "create",
            Some(x) if x == s => "unchanged",
            Some(_) => "update",
        };
        let note = if blocked.is_empty() {
            format!("{} × {}", s.replicas, s.image)
        } else {
            format!(
                "not imported: {} need an instance admin (host paths: allowed host paths in Settings)",
                blocked.join(", ")
            )
        };
        items.push(ImportItem {
            kind: "service".into(),
            name: s.name.clone(),
            action: action.into(),
            note: Some(note),
            missing: false,
            line: 0,
        });
    }
    let unsupported = imported
        .unsupported
        .iter()
        .map(|u| format!("{} (line {}): {}", u.path, u.line, u.message))
        .collect();
    let plan = ImportPlan {
        applied: false,
        items,
        unsupported,
    };
    if !apply {
        return Ok(plan);
    }
    let mut tx = state.db.begin_write().await?;
    for s in &imported.services {
        let blocked = plan
            .items
            .iter()
            .any(|i| i.name == s.name && i.action == NEEDS_ADMIN);
        if !blocked {
            services::upsert_in(&mut tx, e.id, s).await?;
        }
    }
    versions::record(&mut tx, ctx, &[e.id], &format!("import {file_name}")).await?;
    audit::append(
        &mut tx,
        ctx,
        NewEvent::new("import.compose", format!("project:{}/env:{}", e.project.slug, e.slug))
            .project(e.project.id)
            .summary(json!({ "file": file_name, "services": imported.services.iter().map(|s| &s.name).collect::<Vec<_>>(), "unsupported": plan.unsupported.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(ImportPlan {
        applied: true,
        ..plan
    })
}

/// Names the file references (`${CH_USER}`) but neither defines nor finds in Berth become
/// required-but-missing entries, so the import goes through and the preview says what is
/// still to set.
async fn add_referenced_placeholders(
    state: &AppState,
    entries: &mut Vec<stack::dotenv::EnvEntry>,
    project_id: i64,
    env_id: i64,
) -> ServiceResult<()> {
    let known: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM variables WHERE project_id = $1 AND environment_id IN (0, $2)",
    )
    .bind(project_id)
    .bind(env_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut extra: Vec<stack::dotenv::EnvEntry> = Vec::new();
    for e in entries.iter() {
        let Some(value) = &e.value else { continue };
        for name in stack::interpolate::references(value) {
            let defined = entries.iter().any(|x| x.name == name)
                || extra.iter().any(|x| x.name == name)
                || known.contains(&name);
            if !defined {
                extra.push(stack::dotenv::EnvEntry {
                    suggested_secret: stack::dotenv::secret_name_reason(&name).is_some(),
                    reason: Some(format!(
                        "required, missing: referenced by {} (line {})",
                        e.name, e.line
                    )),
                    name,
                    value: None,
                    line: e.line,
                    comment: None,
                });
            }
        }
    }
    entries.extend(extra);
    Ok(())
}
