//! Container options from compose ([`RuntimeOptions`]): `entrypoint`, `user`,
//! `working_dir`, `stop_grace_period`, `shm_size`, `ulimits`, `tmpfs`, `cap_add`,
//! `cap_drop`, `extra_hosts` — import and export.
use super::command::command;
use super::ctx::{child, display, item, kind, Ctx};
use super::units::{duration_secs, format_duration, format_memory, parse_memory};
use super::write::{s, strings};
use crate::lifecycle::{RuntimeOptions, Ulimit};
use crate::model::InputError;
use serde_norway::{Mapping, Value};

/// Applies the service key `key` if it is one of the runtime options; `false` if it is not.
pub(super) fn apply(
    ctx: &mut Ctx,
    path: &[String],
    key: &str,
    v: &Value,
    rt: &mut RuntimeOptions,
) -> Result<bool, InputError> {
    match key {
        "entrypoint" => {
            let argv = command(ctx, path, v)?;
            if argv.is_empty() && !v.is_null() {
                ctx.note(
                    path,
                    "not applied: Berth cannot clear an image's entrypoint; the image's own is used",
                );
            }
            rt.entrypoint = argv;
        }
        "user" => rt.user = ctx.scalar(path, v)?,
        "working_dir" => {
            let dir = ctx.string(path, v)?;
            if !dir.starts_with('/') {
                return Err(ctx.err(
                    path,
                    format!("the working directory `{dir}` must be an absolute path"),
                ));
            }
            rt.working_dir = dir;
        }
        "stop_grace_period" => rt.stop_grace_secs = Some(duration_secs(ctx, path, v)?),
        "shm_size" => {
            rt.shm_size = Some(match v {
                Value::Number(n) => n.as_u64().ok_or_else(|| {
                    ctx.err(
                        path,
                        format!("expected a number of bytes or a size like 64m, found `{n}`"),
                    )
                })?,
                Value::String(text) => parse_memory(text).map_err(|m| ctx.err(path, m))?,
                other => {
                    return Err(ctx.err(
                        path,
                        format!("expected a size like 64m, found {}", kind(other)),
                    ))
                }
            })
        }
        "ulimits" => rt.ulimits = ulimits(ctx, path, v)?,
        "tmpfs" => {
            let mounts = match v {
                Value::String(one) => vec![one.clone()],
                other => list(ctx, path, other)?,
            };
            for (i, m) in mounts.iter().enumerate() {
                if !m.starts_with('/') {
                    let at = if v.is_string() {
                        path.to_vec()
                    } else {
                        item(path, i)
                    };
                    return Err(ctx.err(
                        &at,
                        format!("the tmpfs target `{m}` must be an absolute path in the container"),
                    ));
                }
            }
            rt.tmpfs = mounts;
        }
        "cap_add" => rt.cap_add = list(ctx, path, v)?,
        "cap_drop" => rt.cap_drop = list(ctx, path, v)?,
        "extra_hosts" => rt.extra_hosts = extra_hosts(ctx, path, v)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// A list of distinct strings (compose's `uniqueItems`).
fn list(ctx: &Ctx, path: &[String], v: &Value) -> Result<Vec<String>, InputError> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(items) => items,
        other => return Err(ctx.err(path, format!("expected a list, found {}", kind(other)))),
    };
    let mut out: Vec<String> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let ipath = item(path, i);
        let text = ctx.string(&ipath, it)?;
        if text.trim().is_empty() {
            return Err(ctx.err(&ipath, "empty entry"));
        }
        if out.contains(&text) {
            return Err(ctx.err(&ipath, format!("`{text}` is listed twice")));
        }
        out.push(text);
    }
    Ok(out)
}

fn limit(ctx: &Ctx, path: &[String], v: &Value) -> Result<i64, InputError> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    n.filter(|n| *n >= -1).ok_or_else(|| {
        ctx.err(
            path,
            format!(
                "expected a whole number (-1 for unlimited), found {}",
                display(v)
            ),
        )
    })
}

/// `ulimits`: `name: N` (soft and hard) or `name: {soft: N, hard: M}`.
fn ulimits(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
) -> Result<std::collections::BTreeMap<String, Ulimit>, InputError> {
    let mut out = std::collections::BTreeMap::new();
    let m = match v {
        Value::Null => return Ok(out),
        other => ctx.mapping(path, other)?,
    };
    for (name, val) in ctx.entries(path, m)? {
        let npath = child(path, name);
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(ctx.err(
                &npath,
                format!("invalid ulimit name `{name}`: expected lowercase letters, like nofile"),
            ));
        }
        let u = match val {
            Value::Mapping(lm) => {
                let (mut soft, mut hard) = (None, None);
                for (key, lv) in ctx.entries(&npath, lm)? {
                    let kpath = child(&npath, key);
                    match key {
                        "soft" => soft = Some(limit(ctx, &kpath, lv)?),
                        "hard" => hard = Some(limit(ctx, &kpath, lv)?),
                        _ => ctx.not_modeled(&kpath),
                    }
                }
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Ulimit { soft, hard },
                    _ => return Err(ctx.err(&npath, "expected both `soft` and `hard`")),
                }
            }
            other => {
                let n = limit(ctx, &npath, other)?;
                Ulimit { soft: n, hard: n }
            }
        };
        out.insert(name.to_string(), u);
    }
    Ok(out)
}

/// `extra_hosts`: a list of `host:ip` or `host=ip` (several IPs comma-separated, IPv6 in
/// brackets or not), or a mapping `host: ip` / `host: [ips]`; each becomes `host:ip`.
fn extra_hosts(ctx: &mut Ctx, path: &[String], v: &Value) -> Result<Vec<String>, InputError> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |ctx: &Ctx, at: &[String], host: &str, ips: &str| {
        let host = host.trim();
        if host.is_empty() || host.contains([':', '=']) || host.contains(char::is_whitespace) {
            return Err(ctx.err(at, format!("invalid host name `{host}`")));
        }
        for ip in ips.split(',') {
            let ip = ip.trim();
            let ip = ip
                .strip_prefix('[')
                .and_then(|i| i.strip_suffix(']'))
                .unwrap_or(ip);
            if ip.is_empty() {
                return Err(ctx.err(at, format!("the host `{host}` has no IP address")));
            }
            let entry = format!("{host}:{ip}");
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
        Ok(())
    };
    match v {
        Value::Null => {}
        Value::Sequence(items) => {
            for (i, it) in items.iter().enumerate() {
                let ipath = item(path, i);
                let text = ctx.string(&ipath, it)?;
                let Some((host, ips)) = text.split_once('=').or_else(|| text.split_once(':'))
                else {
                    return Err(ctx.err(
                        &ipath,
                        format!("invalid extra host `{text}`: expected host:ip or host=ip"),
                    ));
                };
                add(ctx, &ipath, host, ips)?;
            }
        }
        Value::Mapping(m) => {
            for (host, val) in ctx.entries(path, m)? {
                let hpath = child(path, host);
                match val {
                    Value::Sequence(ips) => {
                        for (i, ip) in ips.iter().enumerate() {
                            let ip = ctx.string(&item(&hpath, i), ip)?;
                            add(ctx, &hpath, host, &ip)?;
                        }
                    }
                    other => {
                        let ip = ctx.string(&hpath, other)?;
                        add(ctx, &hpath, host, &ip)?;
                    }
                }
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

/// Writes the options that are set into the service mapping `m`.
pub(super) fn export(rt: &RuntimeOptions, m: &mut Mapping) {
    if !rt.entrypoint.is_empty() {
        m.insert(s("entrypoint"), strings(&rt.entrypoint));
    }
    if !rt.user.is_empty() {
        m.insert(s("user"), s(&rt.user));
    }
    if !rt.working_dir.is_empty() {
        m.insert(s("working_dir"), s(&rt.working_dir));
    }
    if let Some(secs) = rt.stop_grace_secs {
        m.insert(s("stop_grace_period"), s(&format_duration(secs)));
    }
    if let Some(bytes) = rt.shm_size {
        m.insert(s("shm_size"), s(&format_memory(bytes)));
    }
    if !rt.ulimits.is_empty() {
        let u: Mapping = rt
            .ulimits
            .iter()
            .map(|(name, u)| {
                let v = if u.soft == u.hard {
                    Value::Number(u.soft.into())
                } else {
                    let mut l = Mapping::new();
                    l.insert(s("soft"), Value::Number(u.soft.into()));
                    l.insert(s("hard"), Value::Number(u.hard.into()));
                    Value::Mapping(l)
                };
                (s(name), v)
            })
            .collect();
        m.insert(s("ulimits"), Value::Mapping(u));
    }
    for (key, items) in [
        ("tmpfs", &rt.tmpfs),
        ("cap_add", &rt.cap_add),
        ("cap_drop", &rt.cap_drop),
        ("extra_hosts", &rt.extra_hosts),
    ] {
        if !items.is_empty() {
            m.insert(s(key), strings(items));
        }
    }
}
