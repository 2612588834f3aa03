//! The `eval` commands of [`super::testing::run`]: run a query and compare with the
//! expected lines under it, as Prometheus's promqltest does.
use super::testing::{almost_equal, duration_ms, expand_values, parse_labels, show};
use super::{format_value, Engine, Value};
use crate::model::{Labels, MemSeries};

pub(crate) fn eval_command(
    engine: &Engine,
    db: &MemSeries,
    line: &str,
    expected: &[&str],
) -> Result<(), String> {
    let (cmd, rest) = line.split_once(' ').ok_or("eval without arguments")?;
    let (fail, ordered) = match cmd {
        "eval" => (false, false),
        "eval_ordered" => (false, true),
        "eval_fail" => (true, false),
        c => return Err(format!("unknown command {c:?}")),
    };
    if let Some(rest) = rest.strip_prefix("instant at ") {
        let (at, expr) = rest.split_once(' ').ok_or("no expression")?;
        let result = engine.instant(db, expr, duration_ms(at)?);
        return match (fail, result) {
            (true, Ok(v)) => Err(format!("expected an error, got\n  {}", show(&v))),
            (true, Err(_)) => Ok(()),
            (false, Err(e)) => Err(format!("error: {e}")),
            (false, Ok(v)) => compare_instant(&v, expected, ordered),
        };
    }
    if let Some(rest) = rest.strip_prefix("range from ") {
        let words: Vec<&str> = rest.splitn(6, ' ').collect();
        let [start, "to", end, "step", step, expr] = words[..] else {
            return Err("expected: range from <start> to <end> step <step> <expr>".into());
        };
        let (start, end, step) = (duration_ms(start)?, duration_ms(end)?, duration_ms(step)?);
        let result = engine.range(db, expr, start, end, step);
        return match (fail, result) {
            (true, Ok(_)) => Err("expected an error".into()),
            (true, Err(_)) => Ok(()),
            (false, Err(e)) => Err(format!("error: {e}")),
            (false, Ok(m)) => compare_range(&m, expected, start, step),
        };
    }
    Err(format!("cannot read {rest:?}"))
}

fn compare_instant(v: &Value, expected: &[&str], ordered: bool) -> Result<(), String> {
    let got = || format!("got\n  {}", show(v));
    if let Value::Scalar(_, x) = v {
        let want = match expected {
            [one] => one.parse::<f64>().or_else(|_| number(one)),
            _ => Err(format!("one scalar expected, {}", got())),
        }?;
        return if almost_equal(*x, want) {
            Ok(())
        } else {
            Err(format!("expected {}, {}", format_value(want), got()))
        };
    }
    let Value::Vector(samples) = v else {
        return Err(format!("expected a vector, {}", got()));
    };
    let mut want: Vec<(Labels, f64)> = Vec::new();
    for line in expected {
        let (labels, value) = parse_labels(line)?;
        want.push((labels, number(value.trim())?));
    }
    if want.len() != samples.len() {
        return Err(format!("expected {} samples, {}", want.len(), got()));
    }
    for (i, (labels, value)) in want.iter().enumerate() {
        let found = if ordered {
            samples.get(i).filter(|s| &s.labels == labels)
        } else {
            samples.iter().find(|s| &s.labels == labels)
        };
        match found {
            Some(s) if almost_equal(s.v, *value) => {}
            Some(s) => {
                return Err(format!(
                    "{labels}: expected {}, got {}",
                    format_value(*value),
                    format_value(s.v)
                ))
            }
            None => return Err(format!("{labels} missing or misplaced, {}", got())),
        }
    }
    Ok(())
}

fn compare_range(
    m: &[crate::model::Series],
    expected: &[&str],
    start: i64,
    step: i64,
) -> Result<(), String> {
    let got = || format!("got\n  {}", show(&Value::Matrix(m.to_vec())));
    if m.len() != expected.len() {
        return Err(format!("expected {} series, {}", expected.len(), got()));
    }
    for line in expected {
        let (labels, values) = parse_labels(line)?;
        let want: Vec<(i64, f64)> = expand_values(values)?
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (start + i as i64 * step, v)))
            .collect();
        let Some(s) = m.iter().find(|s| s.labels == labels) else {
            return Err(format!("{labels} missing, {}", got()));
        };
        let same = s.samples.len() == want.len()
            && s.samples
                .iter()
                .zip(&want)
                .all(|(a, b)| a.0 == b.0 && almost_equal(a.1, b.1));
        if !same {
            return Err(format!("{labels}: expected {want:?}, got {:?}", s.samples));
        }
    }
    Ok(())
}

fn number(s: &str) -> Result<f64, String> {
    match s {
        "Inf" | "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("bad number {s:?}")),
    }
}
