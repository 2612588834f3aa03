//! Top-level `networks` and `volumes`, and what services take from them: Berth gives each
//! environment one network, so of compose's networks only `internal` is applied (a service
//! on internal networks only is [`ServiceSpec::internal`]); `external` volumes are used as
//! they are, under their own name.
use super::ctx::{child, item, kind, Ctx};
use super::volumes::is_named_volume;
use super::write::s;
use crate::model::{InputError, ServiceSpec};
use serde_norway::{Mapping, Value};
use std::collections::BTreeMap;

const ONE_NETWORK: &str =
    "not applied: each environment has one network; services reach each other by name";

/// The network an export puts internal services on (the others join it too, so that they
/// reach them).
pub(super) const EXPORT_INTERNAL_NETWORK: &str = "internal";

/// The top-level `networks`: which are declared, and which of them are `internal`.
pub(super) fn top_networks(ctx: &mut Ctx, path: &[String], v: &Value) -> Result<(), InputError> {
    let m = match v {
        Value::Null => return Ok(()),
        other => ctx.mapping(path, other)?,
    };
    for (name, config) in ctx.entries(path, m)? {
        let npath = child(path, name);
        let mut internal = false;
        match config {
            Value::Null => {}
            Value::Mapping(cm) => {
                for (key, val) in ctx.entries(&npath, cm)? {
                    let kpath = child(&npath, key);
                    match key {
                        "internal" => match val {
                            Value::Bool(b) => internal = *b,
                            other => {
                                return Err(ctx.err(
                                    &kpath,
                                    format!("expected true or false, found {}", kind(other)),
                                ))
                            }
                        },
                        // Compose's default (Gitea's example file says it).
                        "external" if matches!(val, Value::Bool(false)) => {}
                        k if k.starts_with("x-") => ctx.not_modeled(&kpath),
                        _ => ctx.note(&kpath, ONE_NETWORK),
                    }
                }
            }
            other => {
                return Err(ctx.err(&npath, format!("expected a mapping, found {}", kind(other))))
            }
        }
        ctx.networks.insert(name.to_string(), internal);
    }
    Ok(())
}

/// A service's `networks` (list or mapping form): the names it is attached to. Per-network
/// options (aliases, addresses, ...) are noted.
pub(super) fn service_networks(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
) -> Result<Vec<String>, InputError> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    match v {
        Value::Null => {}
        Value::Sequence(items) => {
            for (i, it) in items.iter().enumerate() {
                let ipath = item(path, i);
                out.push((ctx.string(&ipath, it)?, ipath));
            }
        }
        Value::Mapping(m) => {
            for (name, config) in ctx.entries(path, m)? {
                let npath = child(path, name);
                match config {
                    Value::Null => {}
                    Value::Mapping(cm) => {
                        for (key, _) in ctx.entries(&npath, cm)? {
                            let kpath = child(&npath, key);
                            match key {
                                "aliases" => ctx.note(
                                    &kpath,
                                    "not applied: services reach each other by their service name",
                                ),
                                k if k.starts_with("x-") => ctx.not_modeled(&kpath),
                                _ => ctx.note(&kpath, ONE_NETWORK),
                            }
                        }
                    }
                    other => {
                        return Err(
                            ctx.err(&npath, format!("expected a mapping, found {}", kind(other)))
                        )
                    }
                }
                out.push((name.to_string(), npath));
            }
        }
        other => {
            return Err(ctx.err(
                path,
                format!("expected a list or a mapping, found {}", kind(other)),
            ))
        }
    }
    for (name, npath) in &out {
        if name != "default" && !ctx.networks.contains_key(name) {
            return Err(ctx.err(
                npath,
                format!("the network `{name}` is not declared under the top-level `networks`"),
            ));
        }
    }
    Ok(out.into_iter().map(|(name, _)| name).collect())
}

/// After the services are read: who is internal, and a note when the file keeps services
/// apart that Berth's one network joins.
pub(super) fn apply_networks(
    ctx: &mut Ctx,
    services: &mut [ServiceSpec],
    attached: &BTreeMap<String, Vec<String>>,
) {
    let default = vec!["default".to_string()];
    let on = |name: &str| -> &Vec<String> {
        attached
            .get(name)
            .filter(|n| !n.is_empty())
            .unwrap_or(&default)
    };
    let is_internal = |net: &String| ctx.networks.get(net).copied().unwrap_or(false);
    let mut internal_services: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for spec in services.iter_mut() {
        let nets = on(&spec.name);
        if nets.iter().all(is_internal) {
            spec.internal = true;
            for n in nets {
                internal_services
                    .entry(n.clone())
                    .or_default()
                    .push(spec.name.clone());
            }
        }
    }
    for (net, names) in &internal_services {
        ctx.note(
            &["networks".to_string(), net.clone(), "internal".to_string()],
            format!(
                "applied as Berth's `internal` for {}: not proxied, ports never published; \
                 Berth does not block their outbound traffic as a Docker internal network does",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    for spec in services
        .iter()
        .filter(|s| s.internal && !s.ports.is_empty())
    {
        ctx.note(
            &[
                "services".to_string(),
                spec.name.clone(),
                "ports".to_string(),
            ],
            format!(
                "not applied: `{}` is only on internal networks, so its ports are never published",
                spec.name
            ),
        );
    }
    for spec in services.iter_mut().filter(|s| s.internal) {
        spec.ports.clear();
    }
    'pairs: for (i, a) in services.iter().enumerate() {
        for b in &services[i + 1..] {
            let (na, nb) = (on(&a.name), on(&b.name));
            if !na.iter().any(|n| nb.contains(n)) {
                ctx.note(
                    &["networks".to_string()],
                    format!(
                        "not applied: each environment has one network, so services reach each \
                         other by name whatever networks they are on (`{}` and `{}` share none \
                         here)",
                        a.name, b.name
                    ),
                );
                break 'pairs;
            }
        }
    }
}

/// Options of a top-level volume: `external` (also the legacy `external: {name: ...}`) and,
/// with it, `name`; the rest is noted.
pub(super) fn top_volume(
    ctx: &mut Ctx,
    vpath: &[String],
    name: &str,
    cm: &Mapping,
) -> Result<(), InputError> {
    let mut external = false;
    let mut real_name: Option<(String, Vec<String>)> = None;
    for (key, val) in ctx.entries(vpath, cm)? {
        let kpath = child(vpath, key);
        match key {
            "external" => match val {
                Value::Bool(b) => external = *b,
                Value::Mapping(em) => {
                    external = true;
                    for (ekey, ev) in ctx.entries(&kpath, em)? {
                        let epath = child(&kpath, ekey);
                        match ekey {
                            "name" => real_name = Some((ctx.string(&epath, ev)?, epath)),
                            _ => ctx.not_modeled(&epath),
                        }
                    }
                }
                other => {
                    return Err(ctx.err(
                        &kpath,
                        format!(
                            "expected true, false or a mapping with `name`, found {}",
                            kind(other)
                        ),
                    ))
                }
            },
            "name" => real_name = Some((ctx.string(&kpath, val)?, kpath)),
            _ => ctx.note(
                &kpath,
                format!("volume option `{key}` is not modeled by Berth; the volume is created with defaults"),
            ),
        }
    }
    match real_name {
        Some((real, npath)) if !external => ctx.note(
            &npath,
            format!(
                "not applied: Berth names the volumes it creates itself (`{real}` is not used)"
            ),
        ),
        Some((real, npath)) => {
            if !is_named_volume(&real) {
                return Err(ctx.err(&npath, format!("invalid volume name `{real}`")));
            }
            ctx.externals.insert(name.to_string(), real);
        }
        None if external => {
            ctx.externals.insert(name.to_string(), name.to_string());
        }
        None => {}
    }
    Ok(())
}

/// Marks the services' mounts of external volumes (under the volume's own name).
pub(super) fn apply_external_volumes(ctx: &mut Ctx, services: &mut [ServiceSpec]) {
    for spec in services.iter_mut() {
        for v in spec.volumes.iter_mut() {
            if let Some(real) = ctx.externals.get(&v.source) {
                v.external = true;
                v.source = real.clone();
            }
        }
    }
    for (key, real) in &ctx.externals {
        if key != real {
            ctx.named.remove(key);
            ctx.named.insert(real.clone());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Export.

/// A service's `networks` when some service is internal: internal ones only on the internal
/// network, the others on the default one too (so that they reach the internal ones).
pub(super) fn export_service_networks(any_internal: bool, spec: &ServiceSpec) -> Option<Value> {
    if !any_internal {
        return None;
    }
    let mut nets = Vec::new();
    if !spec.internal {
        nets.push(s("default"));
    }
    nets.push(s(EXPORT_INTERNAL_NETWORK));
    Some(Value::Sequence(nets))
}

/// The top-level `networks` of an export.
pub(super) fn export_networks(any_internal: bool) -> Option<Value> {
    if !any_internal {
        return None;
    }
    let mut net = Mapping::new();
    net.insert(s("internal"), Value::Bool(true));
    let mut m = Mapping::new();
    m.insert(s(EXPORT_INTERNAL_NETWORK), Value::Mapping(net));
    Some(Value::Mapping(m))
}

/// The top-level `volumes` of an export: named volumes, external ones marked.
pub(super) fn export_volumes(services: &[ServiceSpec]) -> Option<Value> {
    let mut named: BTreeMap<String, bool> = BTreeMap::new();
    for v in services.iter().flat_map(|s| &s.volumes) {
        if is_named_volume(&v.source) {
            *named.entry(v.source.clone()).or_default() |= v.external;
        }
    }
    if named.is_empty() {
        return None;
    }
    let vols: Mapping = named
        .into_iter()
        .map(|(n, external)| {
            let mut m = Mapping::new();
            if external {
                m.insert(s("external"), Value::Bool(true));
            }
            (s(&n), Value::Mapping(m))
        })
        .collect();
    Some(Value::Mapping(vols))
}
