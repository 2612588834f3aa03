//! A service's `healthcheck`, with compose's defaults for what it leaves out.
use super::ctx::{child, display, item, kind, Ctx};
use super::units::duration_secs;
use super::{DEFAULT_HEALTH_INTERVAL_SECS, DEFAULT_HEALTH_RETRIES, DEFAULT_HEALTH_TIMEOUT_SECS};
use crate::model::{HealthCheck, InputError};
use serde_norway::Value;

pub(super) fn healthcheck(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
) -> Result<Option<HealthCheck>, InputError> {
    let m = match v {
        Value::Null => return Ok(None),
        other => ctx.mapping(path, other)?,
    };
    let mut hc = HealthCheck {
        interval_secs: DEFAULT_HEALTH_INTERVAL_SECS,
        timeout_secs: DEFAULT_HEALTH_TIMEOUT_SECS,
        retries: DEFAULT_HEALTH_RETRIES,
        ..Default::default()
    };
    let mut disabled = false;
    for (key, val) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        match key {
            "test" => match val {
                Value::String(s) => {
                    hc.command = vec!["/bin/sh".into(), "-c".into(), s.clone()];
                }
                Value::Sequence(items) => {
                    let words = items
                        .iter()
                        .enumerate()
                        .map(|(i, w)| ctx.scalar(&item(&kpath, i), w))
                        .collect::<Result<Vec<_>, _>>()?;
                    match words.first().map(String::as_str) {
                        Some("CMD") if words.len() > 1 => hc.command = words[1..].to_vec(),
                        Some("CMD-SHELL") if words.len() > 1 => {
                            hc.command = vec!["/bin/sh".into(), "-c".into(), words[1..].join(" ")];
                        }
                        Some("NONE") => disabled = true,
                        _ => {
                            return Err(ctx.err(
                                &kpath,
                                "expected [\"CMD\", program, args...], [\"CMD-SHELL\", \"command\"] or [\"NONE\"]",
                            ))
                        }
                    }
                }
                other => {
                    return Err(ctx.err(
                        &kpath,
                        format!("expected a string or a list, found {}", kind(other)),
                    ))
                }
            },
            "interval" => hc.interval_secs = duration_secs(ctx, &kpath, val)?,
            "timeout" => hc.timeout_secs = duration_secs(ctx, &kpath, val)?,
            "start_period" => hc.start_period_secs = duration_secs(ctx, &kpath, val)?,
            "retries" => {
                hc.retries = match val {
                    Value::Number(n) => n.as_u64().and_then(|r| u32::try_from(r).ok()),
                    _ => None,
                }
                .ok_or_else(|| {
                    ctx.err(
                        &kpath,
                        format!(
                            "retries must be a non-negative integer, found {}",
                            display(val)
                        ),
                    )
                })?;
            }
            "disable" => match val {
                Value::Bool(b) => disabled = *b,
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
    Ok(if disabled { None } else { Some(hc) })
}
