//! Prometheus's test notation, for tests here and elsewhere: `load 5m` blocks of series
//! (`metric{a="b"} 0+10x10 _ stale 3`) into [`MemSeries`], and a runner for scripts in the
//! style of Prometheus's `promql/testdata/*.test` (`load`, `clear`, `eval instant at …`,
//! `eval_ordered`, `eval_fail`, `eval range from … to … step …`).
//!
//! Values: `7` one sample; `1+2x3` four samples 1 3 5 7 (`-` counts down; `7x3` repeats);
//! `_` skips a slot and `_x3` three; `stale` writes a staleness marker; `Inf`, `-Inf`,
//! `NaN` as numbers. Sample `i` of a series is at `i × interval` from time 0.
use super::{format_value, Engine, Value};
use crate::model::{stale_nan, Labels, MemSeries, Series};

/// Milliseconds of a Prometheus duration (`1h30m`, `5m`, `250ms`, `0`); a bare number is
/// seconds.
pub fn duration_ms(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1000.0).round() as i64);
    }
    let mut total = 0i64;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad duration {s:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            u => return Err(format!("bad duration unit {u:?} in {s:?}")),
        };
        total += n * unit;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

fn number(s: &str) -> Result<f64, String> {
    match s {
        "Inf" | "+Inf" | "inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        "NaN" | "nan" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("bad number {s:?}")),
    }
}

/// The values of a series description, `None` for a skipped slot.
pub fn expand_values(desc: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for tok in desc.split_whitespace() {
        if tok == "_" {
            out.push(None);
        } else if let Some(n) = tok.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|_| format!("bad repeat in {tok:?}"))?;
            out.extend(std::iter::repeat_n(None, n));
        } else if tok == "stale" {
            out.push(Some(stale_nan()));
        } else if let Some((base, times)) = tok.rsplit_once('x') {
            let times: usize = times
                .parse()
                .map_err(|_| format!("bad repeat in {tok:?}"))?;
            // The sign of the step is the first + or - after the start (not an exponent's).
            let b = base.as_bytes();
            let split = (1..b.len())
                .find(|&i| (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E'));
            let (start, step) = match split {
                Some(i) => (number(&base[..i])?, number(&base[i..])?),
                None => (number(base)?, 0.0),
            };
            let mut v = start;
            for _ in 0..=times {
                out.push(Some(v));
                v += step;
            }
        } else {
            out.push(Some(number(tok)?));
        }
    }
    Ok(out)
}

/// `name{a="b", c="d"}`, `{__name__="x"}` or `name` followed by the rest of the line.
pub fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let s = s.trim_start();
    let name_end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len());
    let mut pairs: Vec<(String, String)> = Vec::new();
    if name_end > 0 {
        pairs.push(("__name__".into(), s[..name_end].into()));
    }
    let mut rest = &s[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        let mut name = String::new();
        let end = loop {
            let Some((i, c)) = chars.next() else {
                return Err(format!("unclosed braces in {s:?}"));
            };
            match c {
                '}' => break i,
                ',' | ' ' | '\t' | '=' => {}
                '"' => {
                    let mut value = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '\\')) => match chars.next() {
                                Some((_, 'n')) => value.push('\n'),
                                Some((_, c)) => value.push(c),
                                None => return Err(format!("bad escape in {s:?}")),
                            },
                            Some((_, '"')) => break,
                            Some((_, c)) => value.push(c),
                            None => return Err(format!("unclosed quote in {s:?}")),
                        }
                    }
                    pairs.push((std::mem::take(&mut name), value));
                }
                c => name.push(c),
            }
        };
        rest = &body[end + 1..];
    }
    Ok((Labels::new(pairs), rest))
}

/// Series from `load <interval>` lines (the `load` line itself optional, 1 m then).
pub fn load(text: &str) -> Result<MemSeries, String> {
    let mut out = MemSeries::default();
    load_into(&mut out, text)?;
    Ok(out)
}

fn load_into(db: &mut MemSeries, text: &str) -> Result<(), String> {
    let mut interval = 60_000;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(d) = line.strip_prefix("load ") {
            interval = duration_ms(d)?;
            continue;
        }
        let (labels, values) = parse_labels(line)?;
        let samples: Vec<(i64, f64)> = expand_values(values)?
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as i64 * interval, v)))
            .collect();
        match db.0.iter_mut().find(|s| s.labels == labels) {
            Some(s) => {
                s.samples.extend(samples);
                s.samples.sort_by_key(|x| x.0);
            }
            None => db.0.push(Series { labels, samples }),
        }
    }
    Ok(())
}

/// Prometheus's test tolerance: both NaN, or relative difference under 1e-6.
pub fn almost_equal(a: f64, b: f64) -> bool {
    if (a.is_nan() && b.is_nan()) || a == b {
        return true;
    }
    let diff = (a - b).abs();
    let min_normal = f64::MIN_POSITIVE;
    if a == 0.0 || b == 0.0 || diff < min_normal {
        return diff < 1e-6 * min_normal;
    }
    diff / (a.abs() + b.abs()) < 1e-6
}

/// Runs a test script; the error names the failing command and why.
pub fn run(script: &str) -> Result<(), String> {
    let engine = Engine::default();
    let mut db = MemSeries::default();
    let lines: Vec<&str> = script.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // A command's block: the following indented, non-empty lines.
        let mut block = Vec::new();
        while i < lines.len() && lines[i].starts_with([' ', '\t']) && !lines[i].trim().is_empty() {
            block.push(lines[i].trim());
            i += 1;
        }
        if line == "clear" {
            db = MemSeries::default();
        } else if line.starts_with("load ") {
            load_into(&mut db, &format!("{line}\n{}", block.join("\n")))?;
        } else if line.starts_with("eval") {
            super::testing_eval::eval_command(&engine, &db, line, &block)
                .map_err(|e| format!("line {i}: {line}\n  {e}"))?;
        } else {
            return Err(format!("line {i}: unknown command {line:?}"));
        }
    }
    Ok(())
}

/// A value for messages.
pub(crate) fn show(v: &Value) -> String {
    match v {
        Value::Scalar(_, v) => format_value(*v),
        Value::String(_, s) => format!("{s:?}"),
        Value::Vector(s) => s
            .iter()
            .map(|s| format!("{} {}", s.labels, format_value(s.v)))
            .collect::<Vec<_>>()
            .join("\n  "),
        Value::Matrix(m) => m
            .iter()
            .map(|s| format!("{} {:?}", s.labels, s.samples))
            .collect::<Vec<_>>()
            .join("\n  "),
    }
}
