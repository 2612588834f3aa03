//! How a service's containers live, from compose: `depends_on`, `restart`,
//! `deploy.restart_policy`, `deploy.update_config` — import, checks and export.
use super::ctx::{child, display, item, kind, Ctx};
use super::write::s;
use crate::lifecycle::{Condition, Dependency, Restart, Update};
use crate::model::{InputError, ServiceSpec};
use serde_norway::{Mapping, Value};
use std::collections::BTreeSet;

/// A service's `depends_on`: the short list form (each `service_started`, as in compose) or
/// the long form with a `condition` each.
pub(super) fn depends_on(
    ctx: &mut Ctx,
    service: &str,
    path: &[String],
    v: &Value,
) -> Result<Vec<Dependency>, InputError> {
    let mut out: Vec<Dependency> = Vec::new();
    match v {
        Value::Null => {}
        Value::Sequence(items) => {
            for (i, it) in items.iter().enumerate() {
                let ipath = item(path, i);
                let name = ctx.string(&ipath, it)?;
                if out.iter().any(|d| d.service == name) {
                    return Err(ctx.err(&ipath, format!("`{name}` is listed twice")));
                }
                ctx.dependency_paths
                    .insert((service.to_string(), name.clone()), ipath);
                out.push(Dependency {
                    service: name,
                    condition: Condition::ServiceStarted,
                });
            }
        }
        Value::Mapping(m) => {
            for (name, config) in ctx.entries(path, m)? {
                let dpath = child(path, name);
                let cm = match config {
                    Value::Mapping(cm) => cm,
                    other => {
                        return Err(ctx.err(
                            &dpath,
                            format!(
                                "expected a mapping with a `condition`, found {}",
                                kind(other)
                            ),
                        ))
                    }
                };
                let mut condition = None;
                let mut required = true;
                for (key, val) in ctx.entries(&dpath, cm)? {
                    let kpath = child(&dpath, key);
                    match key {
                        "condition" => {
                            let c = ctx.string(&kpath, val)?;
                            condition = Some(Condition::parse(&c).ok_or_else(|| {
                                ctx.err(
                                    &kpath,
                                    format!(
                                        "unknown condition `{c}`: expected service_started, \
                                         service_healthy or service_completed_successfully"
                                    ),
                                )
                            })?);
                        }
                        "restart" => {
                            if boolean(ctx, &kpath, val)? {
                                ctx.note(
                                    &kpath,
                                    format!(
                                        "not applied: Berth does not restart `{service}` when \
                                         `{name}` is restarted"
                                    ),
                                );
                            }
                        }
                        "required" => required = boolean(ctx, &kpath, val)?,
                        _ => ctx.not_modeled(&kpath),
                    }
                }
                let condition = condition.ok_or_else(|| {
                    ctx.err(
                        &dpath,
                        "missing `condition` (service_started, service_healthy or \
                         service_completed_successfully): compose requires one in this form",
                    )
                })?;
                if !required {
                    let rpath = child(&dpath, "required");
                    if !ctx.service_names.contains(name) {
                        ctx.note(
                            &rpath,
                            format!(
                                "the optional dependency on `{name}` is dropped: the file has \
                                 no such service"
                            ),
                        );
                        continue;
                    }
                    ctx.note(
                        &rpath,
                        format!("not applied: Berth waits for every dependency, `{name}` included"),
                    );
                }
                ctx.dependency_paths
                    .insert((service.to_string(), name.to_string()), dpath);
                out.push(Dependency {
                    service: name.to_string(),
                    condition,
                });
            }
        }
        other => {
            return Err(ctx.err(
                path,
                format!("expected a list or a mapping, found {}", kind(other)),
            ))
        }
    }
    Ok(out)
}

/// `true`/`false`, also as the strings compose accepts for them.
fn boolean(ctx: &Ctx, path: &[String], v: &Value) -> Result<bool, InputError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        other => Err(ctx.err(
            path,
            format!("expected true or false, found {}", display(other)),
        )),
    }
}

/// Unknown services, a service depending on itself, cycles: an error at the first
/// offending entry, with [`crate::lifecycle::dependency_errors`]' words.
pub(super) fn check(ctx: &Ctx, services: &[ServiceSpec]) -> Result<(), InputError> {
    let errors = crate::lifecycle::dependency_errors(services);
    if errors.is_empty() {
        return Ok(());
    }
    let names: BTreeSet<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let edge = services
        .iter()
        .flat_map(|s| s.depends_on.iter().map(move |d| (s, d)))
        .find(|(s, d)| d.service == s.name || !names.contains(d.service.as_str()))
        .map(|(s, d)| (s.name.clone(), d.service.clone()))
        .or_else(|| match crate::lifecycle::start_order(services) {
            Err(cycle) if cycle.len() >= 2 => Some((cycle[0].clone(), cycle[1].clone())),
            _ => None,
        });
    let path = edge
        .and_then(|e| ctx.dependency_paths.get(&e).cloned())
        .unwrap_or_else(|| vec!["services".to_string()]);
    Err(ctx.err(&path, errors.join("; ")))
}

/// `restart`: `no` (also the YAML boolean `false`), `always`, `unless-stopped`,
/// `on-failure[:N]`.
pub(super) fn restart(ctx: &Ctx, path: &[String], v: &Value) -> Result<Restart, InputError> {
    let text = match v {
        Value::Bool(false) => return Ok(Restart::No),
        Value::String(s) => s.as_str(),
        other => {
            return Err(ctx.err(
                path,
                format!(
                    "invalid restart policy {}: expected no, always, unless-stopped, \
                     on-failure or on-failure:N",
                    display(other)
                ),
            ))
        }
    };
    Restart::parse(text).ok_or_else(|| {
        ctx.err(
            path,
            format!(
                "invalid restart policy `{text}`: expected no, always, unless-stopped, \
                 on-failure or on-failure:N"
            ),
        )
    })
}

/// `deploy.restart_policy`: `condition` (none, on-failure, any; compose's default: any) and
/// `max_attempts` (with on-failure).
pub(super) fn restart_policy(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
) -> Result<Option<Restart>, InputError> {
    let m = match v {
        Value::Null => return Ok(None),
        other => ctx.mapping(path, other)?,
    };
    let mut condition = None;
    let mut max = None;
    for (key, val) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        match key {
            "condition" => {
                let c = ctx.string(&kpath, val)?;
                if !matches!(c.as_str(), "none" | "on-failure" | "any") {
                    return Err(ctx.err(
                        &kpath,
                        format!("unknown condition `{c}`: expected none, on-failure or any"),
                    ));
                }
                condition = Some((c, kpath));
            }
            "max_attempts" => {
                let n = match val {
                    Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                    _ => None,
                }
                .ok_or_else(|| {
                    ctx.err(
                        &kpath,
                        format!(
                            "max_attempts must be a non-negative integer, found {}",
                            display(val)
                        ),
                    )
                })?;
                max = Some((n, kpath));
            }
            _ => ctx.not_modeled(&kpath),
        }
    }
    let restart = match condition.as_ref().map(|(c, _)| c.as_str()) {
        Some("on-failure") => {
            return Ok(Some(Restart::OnFailure {
                max: max.map(|(n, _)| n),
            }))
        }
        Some("none") => Restart::No,
        _ => Restart::Always,
    };
    if let Some((_, mpath)) = max {
        ctx.note(
            &mpath,
            "ignored: Docker limits restart attempts only with the on-failure condition",
        );
    }
    Ok(Some(restart))
}

/// `deploy.update_config`: `order` (start-first: rolling; stop-first: recreate).
pub(super) fn update_config(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
) -> Result<Option<Update>, InputError> {
    let m = match v {
        Value::Null => return Ok(None),
        other => ctx.mapping(path, other)?,
    };
    let mut update = None;
    for (key, val) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        match key {
            "order" => {
                let o = ctx.string(&kpath, val)?;
                update = Some(match o.as_str() {
                    "start-first" => Update::Rolling,
                    "stop-first" => Update::Recreate,
                    _ => {
                        return Err(ctx.err(
                            &kpath,
                            format!("unknown order `{o}`: expected start-first or stop-first"),
                        ))
                    }
                });
            }
            _ => ctx.not_modeled(&kpath),
        }
    }
    Ok(update)
}

/// `x-berth.update`: rolling, recreate or manual.
pub(super) fn berth_update(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
    spec: &mut ServiceSpec,
) -> Result<(), InputError> {
    let text = ctx.string(path, v)?;
    let update = Update::parse(&text).ok_or_else(|| {
        ctx.err(
            path,
            format!("unknown update strategy `{text}`: expected rolling, recreate or manual"),
        )
    })?;
    if let Some(order) = spec.update.filter(|u| *u != update) {
        ctx.note(
            path,
            format!(
                "wins over `deploy.update_config.order` ({}): the service is updated `{}`",
                if order == Update::Rolling {
                    "start-first"
                } else {
                    "stop-first"
                },
                update.as_str()
            ),
        );
    }
    spec.update = Some(update);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Export.

/// `depends_on` in the long form (the condition said every time).
pub(super) fn export_depends_on(spec: &ServiceSpec) -> Option<Value> {
    if spec.depends_on.is_empty() {
        return None;
    }
    let m: Mapping = spec
        .depends_on
        .iter()
        .map(|d| {
            let mut c = Mapping::new();
            c.insert(s("condition"), s(d.condition.as_str()));
            (s(&d.service), Value::Mapping(c))
        })
        .collect();
    Some(Value::Mapping(m))
}

/// `deploy.update_config` for rolling and recreate (manual goes under `x-berth`).
pub(super) fn export_update_config(spec: &ServiceSpec) -> Option<Value> {
    let order = match spec.update? {
        Update::Rolling => "start-first",
        Update::Recreate => "stop-first",
        Update::Manual => return None,
    };
    let mut m = Mapping::new();
    m.insert(s("order"), s(order));
    Some(Value::Mapping(m))
}
