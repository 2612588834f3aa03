//! Compose's memory sizes (`4G`) and durations (`1m30s`): parsing and formatting.
use super::ctx::Ctx;
use crate::model::InputError;
use serde_norway::Value;

/// Parses a compose memory size (`4G`, `512M`, `1g`, `1024k`, `1.5gb`, `2GiB`, `1048576`)
/// into bytes; units are binary (1k = 1024).
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let bad =
        || format!("invalid memory size `{text}`: use a number of bytes or a size like 512M, 4G");
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(bad());
    }
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return Err(bad()),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bytes = value * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("memory size `{text}` is too large"));
    }
    Ok(bytes as u64)
}

/// Formats bytes for a compose file: the largest binary unit that divides it exactly.
pub fn format_memory(bytes: u64) -> String {
    for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        let size = 1u64 << shift;
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// Parses a compose duration (`30s`, `1m30s`, `1h`, `500ms`, `1.5s`) into seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let bad = || format!("invalid duration `{text}`: use forms like 30s, 1m30s, 500ms");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if n_end == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..n_end].parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..u_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(bad()),
        };
        total += number * factor;
        rest = &rest[u_end..];
    }
    Ok(total)
}

/// Formats whole seconds as a compose duration (`90` → `1m30s`).
pub fn format_duration(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

pub(super) fn duration_secs(ctx: &mut Ctx, path: &[String], v: &Value) -> Result<u32, InputError> {
    let text = ctx.string(path, v)?;
    let secs = parse_duration(&text).map_err(|m| ctx.err(path, m))?;
    if secs > u32::MAX as f64 {
        return Err(ctx.err(path, format!("duration `{text}` is too long")));
    }
    let whole = secs.ceil();
    if whole != secs {
        ctx.note(
            path,
            format!("`{text}` rounded up to {whole} s: Berth counts whole seconds"),
        );
    }
    Ok(whole as u32)
}
