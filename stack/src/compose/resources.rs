//! `deploy.resources`: CPU and memory limits and reservations — import and export.
use super::ctx::{child, display, Ctx};
use super::units::{format_memory, parse_memory};
use super::write::s;
use crate::model::{InputError, Resources};
use serde_norway::{Mapping, Value};

pub(super) fn resources(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
    res: &mut Resources,
) -> Result<(), InputError> {
    if v.is_null() {
        return Ok(());
    }
    let m = ctx.mapping(path, v)?;
    for (key, v) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        let limits = match key {
            "limits" => true,
            "reservations" => false,
            _ => {
                ctx.not_modeled(&kpath);
                continue;
            }
        };
        if v.is_null() {
            continue;
        }
        let lm = ctx.mapping(&kpath, v)?;
        for (rkey, rv) in ctx.entries(&kpath, lm)? {
            let rpath = child(&kpath, rkey);
            match rkey {
                "cpus" => {
                    let cpus = parse_cpus(ctx, &rpath, rv)?;
                    if limits {
                        res.cpu_limit = Some(cpus);
                    } else {
                        res.cpu_reservation = Some(cpus);
                    }
                }
                "memory" => {
                    let text = ctx.scalar(&rpath, rv)?;
                    let bytes = parse_memory(&text).map_err(|m| ctx.err(&rpath, m))?;
                    if limits {
                        res.memory_limit = Some(bytes);
                    } else {
                        res.memory_reservation = Some(bytes);
                    }
                }
                _ => ctx.not_modeled(&rpath),
            }
        }
    }
    Ok(())
}

fn parse_cpus(ctx: &Ctx, path: &[String], v: &Value) -> Result<f64, InputError> {
    let cpus = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match cpus {
        Some(c) if c.is_finite() && c > 0.0 => Ok(c),
        _ => Err(ctx.err(
            path,
            format!(
                "expected a positive number of CPUs (like 2 or '0.5'), found {}",
                display(v)
            ),
        )),
    }
}

pub(super) fn limits(cpus: Option<f64>, memory: Option<u64>) -> Option<Value> {
    let mut m = Mapping::new();
    if let Some(c) = cpus {
        m.insert(s("cpus"), Value::Number(c.into()));
    }
    if let Some(b) = memory {
        m.insert(s("memory"), s(&format_memory(b)));
    }
    (!m.is_empty()).then_some(Value::Mapping(m))
}
