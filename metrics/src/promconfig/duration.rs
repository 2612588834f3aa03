//! Prometheus durations (`1m30s`, `500ms`, `1y`): the grammar of `model.ParseDuration` and the
//! spelling of `model.Duration.String` from prometheus/common.

use super::{ConfigError, Problem};
use std::fmt::Write;

const DAY_MS: u64 = 24 * 3_600_000;

/// Biggest first: a duration uses them in this order, each at most once (`1h30m`, not `30m1h`).
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * DAY_MS),
    ("w", 7 * DAY_MS),
    ("d", DAY_MS),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Prometheus holds a duration in nanoseconds in an int64 (about 292 years).
const MAX_MS: u64 = i64::MAX as u64 / 1_000_000;

/// Milliseconds. `0` alone needs no unit; there are no fractions and no signs.
pub fn parse_duration(s: &str) -> Result<i64, ConfigError> {
    let bad = |reason| {
        let value = s.to_string();
        ConfigError::at("", Problem::BadDuration { value, reason })
    };
    match s {
        "0" => return Ok(0),
        "" => return Err(bad("it is empty")),
        _ => {}
    }
    let (mut rest, mut total, mut next_unit) = (s, 0u64, 0);
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("expected a number then a unit (y, w, d, h, m, s, ms)"));
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad("it is too long"))?;
        // A digit is ASCII, so where the unit stops is a character boundary.
        let unit_len = rest[digits..]
            .bytes()
            .take_while(|b| !b.is_ascii_digit())
            .count();
        let unit = &rest[digits..digits + unit_len];
        rest = &rest[digits + unit_len..];
        let position = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(|| {
            bad(match unit {
                "" => "a number needs a unit (y, w, d, h, m, s, ms)",
                _ => "the units are y, w, d, h, m, s and ms",
            })
        })?;
        if position < next_unit {
            return Err(bad("units go from the biggest to the smallest, each once"));
        }
        next_unit = position + 1;
        total = number
            .checked_mul(UNITS[position].1)
            .and_then(|ms| total.checked_add(ms))
            .filter(|&ms| ms <= MAX_MS)
            .ok_or_else(|| bad("it is longer than about 292 years"))?;
    }
    Ok(total as i64)
}

/// The shortest Prometheus spelling: `1m30s`, `15s`, `500ms`, `0s`. Years and weeks only when
/// they divide evenly (`90d` reads better than `12w6d`). Negative values get a leading `-`.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
    }
    let mut left = ms.unsigned_abs();
    for (i, (unit, size)) in UNITS.into_iter().enumerate() {
        let exact_only = i < 2;
        if exact_only && !left.is_multiple_of(size) {
            continue;
        }
        let n = left / size;
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
            left -= n * size;
        }
    }
    out
}
