//! Two answers of Prometheus's query API compared: same status (and error type), same
//! result type, same label sets, same timestamps, values equal within a relative 1e-9
//! (NaN equals NaN, infinities equal themselves). Results are compared as sets of series,
//! except under a top-level `sort`/`sort_desc`, where the order is part of the answer.
use serde_json::Value;
use std::collections::BTreeMap;

pub const RELATIVE_TOLERANCE: f64 = 1e-9;

type Labels = BTreeMap<String, String>;

/// One series of a vector (one point) or a matrix.
struct Series {
    labels: Labels,
    points: Vec<(f64, String)>,
}

pub fn same_value(a: &str, b: &str) -> bool {
    let (Some(x), Some(y)) = (parse(a), parse(b)) else {
        return a == b;
    };
    if x.is_nan() || y.is_nan() {
        return x.is_nan() && y.is_nan();
    }
    if x.is_infinite() || y.is_infinite() {
        return x == y;
    }
    x == y || (x - y).abs() <= RELATIVE_TOLERANCE * x.abs().max(y.abs())
}

fn parse(v: &str) -> Option<f64> {
    match v {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => v.parse().ok(),
    }
}

fn labels(metric: &Value) -> Labels {
    metric
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn show_labels(l: &Labels) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn point(p: &Value) -> (f64, String) {
    let t = p[0].as_f64().unwrap_or(f64::NAN);
    (t, p[1].as_str().unwrap_or("?").to_string())
}

fn series(result: &Value, kind: &str) -> Vec<Series> {
    let list = result.as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|s| Series {
            labels: labels(&s["metric"]),
            points: match kind {
                "vector" => vec![point(&s["value"])],
                _ => s["values"]
                    .as_array()
                    .map(|v| v.iter().map(point).collect())
                    .unwrap_or_default(),
            },
        })
        .collect()
}

/// Why `berth` and `prom` (whole API answers) differ, or `None` when they agree.
pub fn difference(berth: &Value, prom: &Value, ordered: bool) -> Option<String> {
    let status = |a: &Value| a["status"].as_str().unwrap_or("no JSON answer").to_string();
    match (status(berth).as_str(), status(prom).as_str()) {
        ("success", "success") => {}
        ("error", "error") => {
            let (b, p) = (&berth["errorType"], &prom["errorType"]);
            return (b != p).then(|| format!("both refuse, as {b} (Berth) and {p} (Prometheus)"));
        }
        (b, p) => return Some(format!("status {b} (Berth) but {p} (Prometheus)")),
    }
    let (bd, pd) = (&berth["data"], &prom["data"]);
    let kind = pd["resultType"].as_str().unwrap_or_default();
    if bd["resultType"] != pd["resultType"] {
        return Some(format!(
            "result type {} (Berth) but {kind} (Prometheus)",
            bd["resultType"]
        ));
    }
    match kind {
        "vector" | "matrix" => series_difference(
            series(&bd["result"], kind),
            series(&pd["result"], kind),
            ordered,
        ),
        _ => {
            let (b, p) = (point(&bd["result"]), point(&pd["result"]));
            (b.0 != p.0 || !same_value(&b.1, &p.1))
                .then(|| format!("{kind} {:?} (Berth) but {:?} (Prometheus)", b, p))
        }
    }
}

fn series_difference(
    mut berth: Vec<Series>,
    mut prom: Vec<Series>,
    ordered: bool,
) -> Option<String> {
    if !ordered {
        berth.sort_by(|a, b| a.labels.cmp(&b.labels));
        prom.sort_by(|a, b| a.labels.cmp(&b.labels));
    }
    let names = |list: &[Series]| list.iter().map(|s| s.labels.clone()).collect::<Vec<_>>();
    let (bl, pl) = (names(&berth), names(&prom));
    if bl != pl {
        let only = |a: &[Labels], b: &[Labels]| -> Vec<String> {
            a.iter()
                .filter(|l| !b.contains(l))
                .take(3)
                .map(show_labels)
                .collect()
        };
        let (ob, op) = (only(&bl, &pl), only(&pl, &bl));
        if ob.is_empty() && op.is_empty() {
            return Some(format!("the same {} series in another order", bl.len()));
        }
        return Some(format!(
            "{} series (Berth) vs {} (Prometheus); only Berth: {ob:?}; only Prometheus: {op:?}",
            bl.len(),
            pl.len()
        ));
    }
    for (b, p) in berth.iter().zip(&prom) {
        let label = show_labels(&b.labels);
        if b.points.len() != p.points.len() {
            let times = |s: &Series| s.points.iter().map(|p| p.0).collect::<Vec<_>>();
            return Some(format!(
                "{label}: {} points at {:?} (Berth) vs {} at {:?} (Prometheus)",
                b.points.len(),
                times(b),
                p.points.len(),
                times(p)
            ));
        }
        for (x, y) in b.points.iter().zip(&p.points) {
            if x.0 != y.0 || !same_value(&x.1, &y.1) {
                return Some(format!("{label}: {:?} (Berth) vs {:?} (Prometheus)", x, y));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vector(result: Value) -> Value {
        json!({"status": "success", "data": {"resultType": "vector", "result": result}})
    }

    #[test]
    fn nan_equals_nan_and_values_agree_within_a_relative_tolerance() {
        assert!(same_value("NaN", "NaN") && same_value("+Inf", "+Inf"));
        assert!(same_value("1e12", "1.0000000001e12") && !same_value("1", "1.00001"));
        assert!(!same_value("+Inf", "-Inf") && !same_value("NaN", "0"));
    }

    #[test]
    fn series_compare_as_sets_unless_sorted_and_name_what_differs() {
        let a = json!({"metric": {"x": "1"}, "value": [10, "1"]});
        let b = json!({"metric": {"x": "2"}, "value": [10, "2"]});
        let (ab, ba) = (vector(json!([a, b])), vector(json!([b, a])));
        assert_eq!(difference(&ab, &ba, false), None);
        assert!(difference(&ab, &ba, true)
            .unwrap()
            .contains("another order"));
        let c = json!({"metric": {"x": "2"}, "value": [10, "3"]});
        let diff = difference(&ab, &vector(json!([a, c])), false).unwrap();
        assert!(diff.contains("x=\"2\"") && diff.contains("\"3\""), "{diff}");
        let error = json!({"status": "error", "errorType": "bad_data", "error": "x"});
        assert!(difference(&ab, &error, false)
            .unwrap()
            .contains("status success"));
    }
}
