//! A service's `volumes` (short `src:dst[:ro]` and long syntax) — import and export.
use super::ctx::{child, item, kind, Ctx};
use super::write::s;
use crate::model::{InputError, VolumeSpec};
use serde_norway::{Mapping, Value};

pub(super) fn is_named_volume(source: &str) -> bool {
    !source.is_empty()
        && !source.starts_with(['/', '.', '~', '$'])
        && !source.contains('/')
        && !source.contains('\\')
}

pub(super) fn volumes(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
) -> Result<Vec<VolumeSpec>, InputError> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(items) => items,
        other => return Err(ctx.err(path, format!("expected a list, found {}", kind(other)))),
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let ipath = item(path, i);
        let spec = match it {
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                let (source, target, mode) = match parts.as_slice() {
                    [target] => ("", *target, None),
                    [source, target] => (*source, *target, None),
                    [source, target, mode] => (*source, *target, Some(*mode)),
                    _ => {
                        return Err(ctx.err(
                            &ipath,
                            format!("invalid volume `{s}`: expected source:target[:mode]"),
                        ))
                    }
                };
                if parts.len() > 1 && source.is_empty() {
                    return Err(
                        ctx.err(&ipath, format!("invalid volume `{s}`: the source is empty"))
                    );
                }
                let mut read_only = false;
                if let Some(mode) = mode {
                    for opt in mode.split(',') {
                        match opt {
                            "ro" => read_only = true,
                            "rw" => read_only = false,
                            "" => {
                                return Err(ctx.err(&ipath, format!("invalid volume `{s}`: empty mode")))
                            }
                            other => ctx.note(
                                &ipath,
                                format!("volume option `{other}` is not modeled by Berth; it will not be applied"),
                            ),
                        }
                    }
                }
                VolumeSpec {
                    source: source.to_string(),
                    target: target.to_string(),
                    read_only,
                    external: false,
                }
            }
            Value::Mapping(m) => {
                let mut spec = VolumeSpec::default();
                let mut kind_ok = true;
                for (key, val) in ctx.entries(&ipath, m)? {
                    let kpath = child(&ipath, key);
                    match key {
                        "type" => {
                            let t = ctx.string(&kpath, val)?;
                            if t != "volume" && t != "bind" {
                                ctx.note(
                                    &ipath,
                                    format!("`{t}` mounts are not modeled by Berth; this mount will not be applied"),
                                );
                                kind_ok = false;
                            }
                        }
                        "source" => spec.source = ctx.string(&kpath, val)?,
                        "target" => spec.target = ctx.string(&kpath, val)?,
                        "read_only" => match val {
                            Value::Bool(b) => spec.read_only = *b,
                            other => {
                                return Err(ctx.err(
                                    &kpath,
                                    format!("expected true or false, found {}", kind(other)),
                                ))
                            }
                        },
                        _ => ctx.not_modeled(&kpath),
                    }
                }
                if !kind_ok {
                    continue;
                }
                spec
            }
            other => {
                return Err(ctx.err(
                    &ipath,
                    format!("expected a string or a mapping, found {}", kind(other)),
                ))
            }
        };
        if !spec.target.starts_with('/') {
            return Err(ctx.err(
                &ipath,
                format!(
                    "the target `{}` must be an absolute path in the container",
                    spec.target
                ),
            ));
        }
        if is_named_volume(&spec.source) {
            ctx.named.insert(spec.source.clone());
        }
        out.push(spec);
    }
    Ok(out)
}

pub(super) fn volume_value(v: &VolumeSpec) -> Value {
    if v.source.contains(':') || v.target.contains(':') || (v.source.is_empty() && v.read_only) {
        let mut m = Mapping::new();
        m.insert(
            s("type"),
            s(if is_named_volume(&v.source) || v.source.is_empty() {
                "volume"
            } else {
                "bind"
            }),
        );
        if !v.source.is_empty() {
            m.insert(s("source"), s(&v.source));
        }
        m.insert(s("target"), s(&v.target));
        if v.read_only {
            m.insert(s("read_only"), Value::Bool(true));
        }
        return Value::Mapping(m);
    }
    let mut out = if v.source.is_empty() {
        v.target.clone()
    } else {
        format!("{}:{}", v.source, v.target)
    };
    if v.read_only {
        out.push_str(":ro");
    }
    s(&out)
}
