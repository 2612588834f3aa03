//! A service's `ports` (short `[ip:][host:]container[/proto]` and long syntax) — import
//! and export.
use super::ctx::{child, item, kind, Ctx};
use super::write::s;
use crate::model::{InputError, PortSpec};
use serde_norway::{Mapping, Value};

pub(super) fn parse_port(ctx: &Ctx, path: &[String], text: &str) -> Result<u16, InputError> {
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(ctx.err(
            path,
            format!("invalid port `{text}`: expected a number from 1 to 65535"),
        )),
    }
}

fn check_protocol(ctx: &Ctx, path: &[String], proto: &str) -> Result<String, InputError> {
    let p = proto.to_ascii_lowercase();
    match p.as_str() {
        "tcp" | "udp" | "sctp" => Ok(p),
        _ => Err(ctx.err(
            path,
            format!("invalid protocol `{proto}`: expected tcp or udp"),
        )),
    }
}

pub(super) fn ports(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
) -> Result<Vec<PortSpec>, InputError> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(items) => items,
        other => return Err(ctx.err(path, format!("expected a list, found {}", kind(other)))),
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let ipath = item(path, i);
        match it {
            Value::Number(n) => out.push(PortSpec {
                container_port: parse_port(ctx, &ipath, &n.to_string())?,
                protocol: "tcp".into(),
                ..Default::default()
            }),
            Value::String(s) => {
                if s.contains('-') {
                    ctx.note(&ipath, format!("port ranges (`{s}`) are not modeled by Berth; this mapping will not be applied"));
                    continue;
                }
                let (rest, protocol) = match s.rsplit_once('/') {
                    Some((r, p)) => (r, check_protocol(ctx, &ipath, p)?),
                    None => (s.as_str(), "tcp".to_string()),
                };
                let (host_ip, rest) = if let Some(after) = rest.strip_prefix('[') {
                    let Some((ip, r)) = after.split_once("]:") else {
                        return Err(ctx.err(&ipath, format!("invalid port mapping `{s}`")));
                    };
                    (ip.to_string(), r)
                } else {
                    (String::new(), rest)
                };
                let parts: Vec<&str> = rest.split(':').collect();
                let (ip, host, container) = match parts.as_slice() {
                    [c] if host_ip.is_empty() => (String::new(), None, *c),
                    [h, c] => (host_ip.clone(), Some(*h), *c),
                    [ip, h, c] if host_ip.is_empty() => (ip.to_string(), Some(*h), *c),
                    _ => {
                        return Err(ctx.err(
                            &ipath,
                            format!(
                            "invalid port mapping `{s}`: expected [ip:][host:]container[/protocol]"
                        ),
                        ))
                    }
                };
                let host_port = match host {
                    None | Some("") => None,
                    Some(h) => Some(parse_port(ctx, &ipath, h)?),
                };
                out.push(PortSpec {
                    host_ip: ip,
                    host_port,
                    container_port: parse_port(ctx, &ipath, container)?,
                    protocol,
                });
            }
            Value::Mapping(m) => {
                let mut spec = PortSpec {
                    protocol: "tcp".into(),
                    ..Default::default()
                };
                let mut target = None;
                let mut skip = false;
                for (key, val) in ctx.entries(&ipath, m)? {
                    let kpath = child(&ipath, key);
                    match key {
                        "target" => {
                            target = Some(parse_port(ctx, &kpath, &ctx.scalar(&kpath, val)?)?)
                        }
                        "published" => {
                            let p = ctx.scalar(&kpath, val)?;
                            if p.contains('-') {
                                ctx.note(&ipath, format!("port ranges (`{p}`) are not modeled by Berth; this mapping will not be applied"));
                                skip = true;
                            } else if !p.is_empty() {
                                spec.host_port = Some(parse_port(ctx, &kpath, &p)?);
                            }
                        }
                        "host_ip" => spec.host_ip = ctx.string(&kpath, val)?,
                        "protocol" => {
                            spec.protocol = check_protocol(ctx, &kpath, &ctx.string(&kpath, val)?)?
                        }
                        _ => ctx.not_modeled(&kpath),
                    }
                }
                if skip {
                    continue;
                }
                spec.container_port = target
                    .ok_or_else(|| ctx.err(&ipath, "missing `target` (the container port)"))?;
                out.push(spec);
            }
            other => {
                return Err(ctx.err(
                    &ipath,
                    format!(
                        "expected a string, number or mapping, found {}",
                        kind(other)
                    ),
                ))
            }
        }
    }
    Ok(out)
}

/// Ports in long syntax: a short `80:80` is a base-60 number to YAML 1.1 parsers.
pub(super) fn port_value(p: &PortSpec) -> Value {
    let mut m = Mapping::new();
    m.insert(s("target"), Value::Number(p.container_port.into()));
    if let Some(h) = p.host_port {
        m.insert(s("published"), s(&h.to_string()));
    }
    if !p.host_ip.is_empty() {
        m.insert(s("host_ip"), s(&p.host_ip));
    }
    m.insert(
        s("protocol"),
        s(if p.protocol.is_empty() {
            "tcp"
        } else {
            &p.protocol
        }),
    );
    Value::Mapping(m)
}
