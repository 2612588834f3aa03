//! Prometheus's JSON for answers: times as seconds (a JSON number), values as strings,
//! series as `{"metric": {...}, "value"|"values": ...}`.
use metrics::model::{Labels, Series};
use metrics::promql::{format_value, Value};
use serde_json::{json, Map, Value as Json};

/// Seconds as Prometheus writes a sample's time: a JSON number, milliseconds kept.
pub(super) fn ts(ms: i64) -> Json {
    if ms % 1000 == 0 {
        json!(ms / 1000)
    } else {
        serde_json::Number::from_f64(ms as f64 / 1000.0)
            .map(Json::Number)
            .unwrap_or(Json::Null)
    }
}

pub(super) fn metric(labels: &Labels) -> Json {
    let mut m = Map::new();
    for l in labels.iter() {
        m.insert(l.name.to_string(), Json::String(l.value.to_string()));
    }
    Json::Object(m)
}

pub(super) fn matrix(series: &[Series]) -> Json {
    Json::Array(
        series
            .iter()
            .map(|s| {
                json!({
                    "metric": metric(&s.labels),
                    "values": s.samples.iter().map(|(t, v)| json!([ts(*t), format_value(*v)])).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

pub(super) fn value_json(v: &Value) -> Json {
    match v {
        Value::Scalar(t, v) => {
            json!({ "resultType": "scalar", "result": [ts(*t), format_value(*v)] })
        }
        Value::String(t, s) => json!({ "resultType": "string", "result": [ts(*t), s] }),
        Value::Vector(samples) => json!({
            "resultType": "vector",
            "result": samples.iter().map(|s| json!({
                "metric": metric(&s.labels),
                "value": [ts(s.t), format_value(s.v)],
            })).collect::<Vec<_>>(),
        }),
        Value::Matrix(series) => json!({ "resultType": "matrix", "result": matrix(series) }),
    }
}
