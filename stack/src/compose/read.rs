//! [`import`]: the file's top level, each service's keys, `deploy`, and Berth's `x-berth`
//! extension; each resource's own keys are read by its module.
use super::command::command;
use super::ctx::{child, item, kind, Ctx};
use super::environment::environment;
use super::health::healthcheck;
use super::ports::{parse_port, ports};
use super::resources::resources;
use super::volumes::volumes;
use super::{
    is_valid_service_name, networks, policy, runtime, ComposeImport, DEFAULT_HEALTH_INTERVAL_SECS,
    DEFAULT_HEALTH_RETRIES, DEFAULT_HEALTH_TIMEOUT_SECS,
};
use crate::model::{HealthCheck, InputError, Job, ServiceSpec};
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Imports a compose file. `file_name` only appears in errors.
pub fn import(file_name: &str, yaml: &str) -> Result<ComposeImport, InputError> {
    let mut ctx = Ctx {
        file: file_name,
        lines: yaml.lines().collect(),
        unsupported: Vec::new(),
        named: BTreeSet::new(),
        service_names: BTreeSet::new(),
        dependency_paths: BTreeMap::new(),
        networks: BTreeMap::new(),
        attached: BTreeMap::new(),
        externals: BTreeMap::new(),
    };
    let yaml_err = |e: serde_norway::Error| InputError {
        file: file_name.to_string(),
        line: e.location().map(|l| l.line()).unwrap_or(0),
        field: String::new(),
        message: format!("malformed YAML: {e}"),
    };
    let mut doc: Value = serde_norway::from_str(yaml).map_err(yaml_err)?;
    doc.apply_merge().map_err(yaml_err)?;
    let root = match &doc {
        Value::Mapping(m) => m,
        Value::Null => return Err(ctx.err(&[], "the file is empty: expected a `services` mapping")),
        other => {
            return Err(ctx.err(
                &[],
                format!("expected a mapping with `services`, found {}", kind(other)),
            ))
        }
    };
    let mut services_value = None;
    for (key, value) in ctx.entries(&[], root)? {
        let path = vec![key.to_string()];
        match key {
            "services" => services_value = Some(value),
            "version" => ctx.note(
                &path,
                "ignored: `version` is obsolete in the Compose Specification and Berth does not need it",
            ),
            "name" => ctx.note(&path, "ignored: Berth names the stack after its project"),
            "volumes" => top_volumes(&mut ctx, &path, value)?,
            "networks" => networks::top_networks(&mut ctx, &path, value)?,
            k if k.starts_with("x-") => ctx.note(&path, "extension key ignored"),
            "configs" | "secrets" | "include" => ctx.not_modeled(&path),
            _ => ctx.note(&path, "unknown top-level key; ignored"),
        }
    }
    let services_path = vec!["services".to_string()];
    let services = match services_value {
        None => return Err(ctx.err(&[], "missing `services`: the file defines no services")),
        Some(v) => ctx.mapping(&services_path, v)?,
    };
    if services.is_empty() {
        return Err(ctx.err(&services_path, "no services are defined"));
    }
    let entries = ctx.entries(&services_path, services)?;
    ctx.service_names = entries.iter().map(|(n, _)| n.to_string()).collect();
    let mut out = Vec::new();
    for (name, value) in entries {
        let path = child(&services_path, name);
        if !is_valid_service_name(name) {
            return Err(ctx.err(
                &path,
                format!(
                    "invalid service name `{name}`: use lowercase letters, digits, `-` and `_`, \
                     starting with a letter or digit, at most 63 characters"
                ),
            ));
        }
        out.push(service(&mut ctx, &path, name, value)?);
    }
    networks::apply_external_volumes(&mut ctx, &mut out);
    let attached = std::mem::take(&mut ctx.attached);
    networks::apply_networks(&mut ctx, &mut out, &attached);
    policy::check(&ctx, &out)?;
    Ok(ComposeImport {
        services: out,
        unsupported: ctx.unsupported,
        named_volumes: ctx.named.into_iter().collect(),
    })
}

fn top_volumes(ctx: &mut Ctx, path: &[String], value: &Value) -> Result<(), InputError> {
    if value.is_null() {
        return Ok(());
    }
    let m = ctx.mapping(path, value)?;
    for (name, config) in ctx.entries(path, m)? {
        let vpath = child(path, name);
        ctx.named.insert(name.to_string());
        match config {
            Value::Null => {}
            Value::Mapping(cm) => networks::top_volume(ctx, &vpath, name, cm)?,
            other => {
                return Err(ctx.err(&vpath, format!("expected a mapping, found {}", kind(other))))
            }
        }
    }
    Ok(())
}

fn service(
    ctx: &mut Ctx,
    path: &[String],
    name: &str,
    value: &Value,
) -> Result<ServiceSpec, InputError> {
    let m = match value {
        Value::Mapping(m) => m,
        Value::Null => return Err(ctx.err(path, "empty service: it needs at least an `image`")),
        other => return Err(ctx.err(path, format!("expected a mapping, found {}", kind(other)))),
    };
    let mut spec = ServiceSpec {
        name: name.to_string(),
        replicas: 1,
        ..Default::default()
    };
    let mut has_build = false;
    let mut has_env_file = false;
    let mut grants = Vec::new();
    let mut health_seen = false;
    let mut berth_ext = None;
    let mut restart_policy = None;
    for (key, v) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        if runtime::apply(ctx, &kpath, key, v, &mut spec.runtime)? {
            continue;
        }
        match key {
            "image" => {
                spec.image = ctx.string(&kpath, v)?.trim().to_string();
                if spec.image.is_empty() {
                    return Err(ctx.err(&kpath, "the image is empty"));
                }
            }
            "deploy" => deploy(ctx, &kpath, v, &mut spec, &mut restart_policy)?,
            "depends_on" => spec.depends_on = policy::depends_on(ctx, name, &kpath, v)?,
            "restart" => spec.restart = Some(policy::restart(ctx, &kpath, v)?),
            "networks" => {
                let nets = networks::service_networks(ctx, &kpath, v)?;
                ctx.attached.insert(name.to_string(), nets);
            }
            "environment" => (spec.env, grants) = environment(ctx, &kpath, v)?,
            "volumes" => spec.volumes = volumes(ctx, &kpath, v)?,
            "ports" => spec.ports = ports(ctx, &kpath, v)?,
            "healthcheck" => {
                health_seen = true;
                spec.health = healthcheck(ctx, &kpath, v)?;
            }
            "command" => spec.command = command(ctx, &kpath, v)?,
            "x-berth" => berth_ext = Some((kpath, v)),
            k if k.starts_with("x-") => ctx.note(&kpath, "extension key ignored"),
            "build" => {
                has_build = true;
                ctx.note(
                    &kpath,
                    "not supported: Berth deploys images from a registry; build and push the image in CI",
                );
            }
            // Import the .env file itself as the environment's variables.
            "env_file" => has_env_file = true,
            "container_name" => ctx.note(
                &kpath,
                "not supported: Berth names containers itself (replicas need distinct names)",
            ),
            _ => ctx.not_modeled(&kpath),
        }
    }
    // `deploy.restart_policy` stands in for a missing `restart`.
    if let Some((ppath, Some(policy))) = restart_policy {
        if spec.restart.is_none() {
            spec.restart = Some(policy);
        } else {
            ctx.note(&ppath, "ignored: the service's `restart` applies");
        }
    }
    // As in compose: without an `env_file` a container gets only what its `environment`
    // names; with one, every variable (the file's, imported as the environment's).
    spec.inherit = (!has_env_file).then_some(grants);
    if let Some((kpath, v)) = berth_ext {
        extension(ctx, &kpath, v, &mut spec, health_seen)?;
    }
    if spec.image.is_empty() {
        let message = if has_build {
            "missing: Berth deploys images from a registry (`build` is not supported); add `image`"
        } else {
            "missing: every service needs an image"
        };
        return Err(ctx.err(&child(path, "image"), message));
    }
    Ok(spec)
}

/// A `deploy.restart_policy` (where it is written, and the policy).
type RestartPolicy = Option<(Vec<String>, Option<crate::lifecycle::Restart>)>;

fn deploy(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
    spec: &mut ServiceSpec,
    restart_policy: &mut RestartPolicy,
) -> Result<(), InputError> {
    if v.is_null() {
        return Ok(());
    }
    let m = ctx.mapping(path, v)?;
    for (key, v) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        match key {
            "replicas" => {
                spec.replicas = match v {
                    Value::Number(n) if n.as_u64().is_some() => {
                        u32::try_from(n.as_u64().unwrap_or(0))
                            .map_err(|_| ctx.err(&kpath, format!("replicas {n} is too large")))?
                    }
                    Value::Number(n) if n.as_i64().is_some() => {
                        return Err(ctx.err(
                            &kpath,
                            format!("replicas must be a non-negative integer, found {n}"),
                        ))
                    }
                    Value::Number(n) => {
                        return Err(ctx.err(
                            &kpath,
                            format!("replicas must be a non-negative integer, found {n}"),
                        ))
                    }
                    other => {
                        return Err(ctx.err(
                            &kpath,
                            format!(
                                "replicas must be a non-negative integer, found {}",
                                kind(other)
                            ),
                        ))
                    }
                };
            }
            "resources" => resources(ctx, &kpath, v, &mut spec.resources)?,
            "restart_policy" => {
                let policy = policy::restart_policy(ctx, &kpath, v)?;
                *restart_policy = Some((kpath, policy));
            }
            "update_config" => {
                if let Some(u) = policy::update_config(ctx, &kpath, v)? {
                    spec.update = Some(u);
                }
            }
            _ => ctx.not_modeled(&kpath),
        }
    }
    Ok(())
}

/// Berth's own `x-berth` service extension.
fn extension(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
    spec: &mut ServiceSpec,
    health_seen: bool,
) -> Result<(), InputError> {
    let m = ctx.mapping(path, v)?;
    for (key, val) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        match key {
            "http_port" => {
                spec.http_port = Some(parse_port(ctx, &kpath, &ctx.scalar(&kpath, val)?)?)
            }
            "health_path" => {
                let p = ctx.string(&kpath, val)?;
                if !p.starts_with('/') {
                    return Err(ctx.err(&kpath, format!("the health path `{p}` must start with /")));
                }
                match &mut spec.health {
                    Some(h) => h.http_path = p,
                    None if !health_seen => {
                        spec.health = Some(HealthCheck {
                            http_path: p,
                            interval_secs: DEFAULT_HEALTH_INTERVAL_SECS,
                            timeout_secs: DEFAULT_HEALTH_TIMEOUT_SECS,
                            retries: DEFAULT_HEALTH_RETRIES,
                            ..Default::default()
                        })
                    }
                    None => ctx.note(&kpath, "ignored: the health check is disabled"),
                }
            }
            "pre_deploy" => {
                let items = match val {
                    Value::Sequence(items) => items,
                    other => {
                        return Err(
                            ctx.err(&kpath, format!("expected a list, found {}", kind(other)))
                        )
                    }
                };
                for (i, it) in items.iter().enumerate() {
                    let ipath = item(&kpath, i);
                    let jm = ctx.mapping(&ipath, it)?;
                    let mut job = Job::default();
                    for (jkey, jval) in ctx.entries(&ipath, jm)? {
                        let jpath = child(&ipath, jkey);
                        match jkey {
                            "name" => job.name = ctx.string(&jpath, jval)?,
                            "command" => job.command = command(ctx, &jpath, jval)?,
                            "timeout_secs" => {
                                job.timeout_secs = match jval {
                                    Value::Number(n) => {
                                        n.as_u64().and_then(|t| u32::try_from(t).ok())
                                    }
                                    _ => None,
                                }
                                .ok_or_else(|| ctx.err(&jpath, "expected a non-negative integer"))?
                            }
                            _ => ctx.not_modeled(&jpath),
                        }
                    }
                    if job.name.is_empty() || job.command.is_empty() {
                        return Err(
                            ctx.err(&ipath, "a pre-deploy job needs a `name` and a `command`")
                        );
                    }
                    spec.pre_deploy.push(job);
                }
            }
            "update" => policy::berth_update(ctx, &kpath, val, spec)?,
            _ => ctx.not_modeled(&kpath),
        }
    }
    Ok(())
}
