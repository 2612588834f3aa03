//! Answers in Prometheus's JSON, written straight into a string: a 30-day panel's answer
//! holds tens of thousands of points, and building a JSON tree for it first cost more than
//! evaluating the query. Times are seconds as a JSON number (milliseconds kept, as
//! `1435781430.781`), values strings in Go's `'f', -1` form (see [`format_value`]), series
//! `{"metric":{...},"values":[...]}` with labels in their sorted order.
use std::fmt::Write as _;

use super::{format_value, Value};
use crate::model::{Labels, Series};

/// A JSON string literal: `"`, `\` and control characters escaped.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        from = i + 1;
    }
    out.push_str(&s[from..]);
    out.push('"');
}

/// A time in milliseconds as seconds: `12`, `12.5`, `-0.001`.
pub fn write_time(out: &mut String, ms: i64) {
    if ms < 0 {
        out.push('-');
    }
    let abs = ms.unsigned_abs();
    out.push_str(itoa::Buffer::new().format(abs / 1000));
    let frac = abs % 1000;
    if frac != 0 {
        let digits = [frac / 100, frac / 10 % 10, frac % 10];
        let used = if digits[2] != 0 {
            3
        } else if digits[1] != 0 {
            2
        } else {
            1
        };
        out.push('.');
        for d in &digits[..used] {
            out.push(char::from(b'0' + *d as u8));
        }
    }
}

/// A sample value as Prometheus writes it: a JSON string.
pub fn write_value(out: &mut String, v: f64) {
    out.push('"');
    if v.is_finite() {
        // ryu's shortest digits, as Go's `'f', -1` writes them: `1.0` is `1`; an exponent
        // (below 1e-5 or from 1e16) goes through `fmt`, which writes the plain digits.
        let mut b = ryu::Buffer::new();
        let s = b.format_finite(v);
        if s.contains('e') {
            let _ = write!(out, "{v}");
        } else {
            out.push_str(s.strip_suffix(".0").unwrap_or(s));
        }
    } else {
        out.push_str(&format_value(v));
    }
    out.push('"');
}

/// `[time, "value"]`.
pub fn write_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    write_time(out, t);
    out.push(',');
    write_value(out, v);
    out.push(']');
}

/// A series' labels as a JSON object.
pub fn write_metric(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, &l.name);
        out.push(':');
        write_str(out, &l.value);
    }
    out.push('}');
}

/// A matrix: `[{"metric":{...},"values":[[t,"v"],...]},...]`.
pub fn write_matrix(out: &mut String, series: &[Series]) {
    out.reserve(series.iter().map(|s| 64 + s.samples.len() * 24).sum());
    out.push('[');
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_metric(out, &s.labels);
        out.push_str(",\"values\":[");
        for (j, &(t, v)) in s.samples.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_point(out, t, v);
        }
        out.push_str("]}");
    }
    out.push(']');
}

/// An instant query's `data`: `{"resultType":...,"result":...}`.
pub fn write_data(out: &mut String, v: &Value) {
    out.push_str("{\"resultType\":\"");
    out.push_str(v.result_type());
    out.push_str("\",\"result\":");
    match v {
        Value::Scalar(t, x) => write_point(out, *t, *x),
        Value::String(t, s) => {
            out.push('[');
            write_time(out, *t);
            out.push(',');
            write_str(out, s);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_metric(out, &s.labels);
                out.push_str(",\"value\":");
                write_point(out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => write_matrix(out, series),
    }
    out.push('}');
}

/// A range query's `data`.
pub fn write_range_data(out: &mut String, series: &[Series]) {
    out.push_str("{\"resultType\":\"matrix\",\"result\":");
    write_matrix(out, series);
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::InstantSample;

    #[test]
    fn strings_times_and_values_are_written_as_prometheus_writes_them() {
        let mut out = String::new();
        write_str(&mut out, "a\"b\\c\nd\u{1}é\t");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é\t""#);
        for (ms, want) in [
            (0, "0"),
            (1_000, "1"),
            (1_500, "1.5"),
            (1_435_781_430_781, "1435781430.781"),
            (10, "0.01"),
            (-1_500, "-1.5"),
            (-1, "-0.001"),
        ] {
            out.clear();
            write_time(&mut out, ms);
            assert_eq!(out, want);
        }
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match x % 4 {
                0 if f64::from_bits(x).is_finite() => f64::from_bits(x),
                0 => -((x >> 11) as f64),
                1 => (x % 1_000_000) as f64 / 1_000.0,
                2 => (x >> 20) as f64,
                _ => (x % 100_000) as f64 * 1e-9,
            };
            out.clear();
            write_value(&mut out, v);
            // The shortest digits that read back to `v`, never an exponent (where two are
            // equally short, ryu and `fmt` may pick different last digits).
            let digits = out.trim_matches('"');
            assert!(!digits.contains(['e', 'E']), "{out}");
            assert_eq!(
                digits.parse::<f64>().unwrap().to_bits(),
                v.to_bits(),
                "{out}"
            );
            assert_eq!(digits.len(), format_value(v).len(), "{out} vs {v}");
        }
        for (v, want) in [
            (1.0, "\"1\""),
            (-0.0, "\"-0\""),
            (1e15, "\"1000000000000000\""),
            (1e16, "\"10000000000000000\""),
            (123.456, "\"123.456\""),
            (0.1, "\"0.1\""),
            (-2.5e-7, "\"-0.00000025\""),
            (1e21, "\"1000000000000000000000\""),
            (f64::NAN, "\"NaN\""),
            (f64::INFINITY, "\"+Inf\""),
            (f64::NEG_INFINITY, "\"-Inf\""),
        ] {
            out.clear();
            write_value(&mut out, v);
            assert_eq!(out, want);
        }
    }

    #[test]
    fn answers_have_prometheus_shapes() {
        let l = Labels::new([("__name__", "up"), ("job", "a\"b")]);
        let mut out = String::new();
        write_range_data(
            &mut out,
            &[Series {
                labels: l.clone(),
                samples: vec![(1_000, 1.0), (2_500, 0.5)],
            }],
        );
        assert_eq!(
            out,
            r#"{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a\"b"},"values":[[1,"1"],[2.5,"0.5"]]}]}"#
        );
        out.clear();
        write_data(
            &mut out,
            &Value::Vector(vec![InstantSample {
                labels: l,
                t: 3_000,
                v: f64::NAN,
            }]),
        );
        assert_eq!(
            out,
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\"b"},"value":[3,"NaN"]}]}"#
        );
        out.clear();
        write_data(&mut out, &Value::Scalar(1_000, 2.0));
        assert_eq!(out, r#"{"resultType":"scalar","result":[1,"2"]}"#);
        out.clear();
        write_data(&mut out, &Value::String(1_000, "x".into()));
        assert_eq!(out, r#"{"resultType":"string","result":[1,"x"]}"#);
        out.clear();
        write_range_data(&mut out, &[]);
        assert_eq!(out, r#"{"resultType":"matrix","result":[]}"#);
    }
}
