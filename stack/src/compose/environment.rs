//! A service's `environment` (list or map form), and the variables it passes through.
use super::ctx::{child, item, kind, Ctx};
use crate::model::InputError;
use serde_norway::Value;
use std::collections::BTreeMap;

fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('=')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A service's `environment`: the values it sets, and the names it passes through without a
/// value (compose takes those from the shell; in Berth they are the environment's variables
/// the service receives).
type ServiceEnvironment = (BTreeMap<String, String>, Vec<String>);

pub(super) fn environment(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
) -> Result<ServiceEnvironment, InputError> {
    let mut env = BTreeMap::new();
    let mut grants: Vec<String> = Vec::new();
    let mut pass_through = |ctx: &mut Ctx, p: &[String], name: &str| {
        if !crate::interpolate::is_valid_name(name) {
            ctx.note(
                p,
                format!(
                    "`{name}` has no value here (compose takes it from the shell), and Berth's \
                     variables cannot have that name: it is not set"
                ),
            );
        } else if !grants.iter().any(|g| g == name) {
            grants.push(name.to_string());
        }
    };
    match v {
        Value::Null => {}
        Value::Sequence(items) => {
            for (i, it) in items.iter().enumerate() {
                let ipath = item(path, i);
                let text = ctx.string(&ipath, it)?;
                let (name, value) = match text.split_once('=') {
                    Some((n, val)) => (n.trim().to_string(), Some(val.to_string())),
                    None => (text.trim().to_string(), None),
                };
                if !valid_env_name(&name) {
                    return Err(ctx.err(&ipath, format!("invalid variable name `{name}`")));
                }
                if env.contains_key(&name) {
                    return Err(ctx.err(&ipath, format!("`{name}` is set twice")));
                }
                match value {
                    Some(val) => {
                        env.insert(name, val);
                    }
                    None => pass_through(ctx, &ipath, &name),
                }
            }
        }
        Value::Mapping(m) => {
            for (name, val) in ctx.entries(path, m)? {
                let npath = child(path, name);
                if !valid_env_name(name) {
                    return Err(ctx.err(&npath, format!("invalid variable name `{name}`")));
                }
                if val.is_null() {
                    pass_through(ctx, &npath, name);
                    continue;
                }
                env.insert(name.to_string(), ctx.scalar(&npath, val)?);
            }
        }
        other => {
            return Err(ctx.err(
                path,
                format!("expected a list or a mapping, found {}", kind(other)),
            ))
        }
    }
    Ok((env, grants))
}
