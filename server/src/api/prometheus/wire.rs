//! Prometheus's JSON for `/series`: each series' labels as an object. Query answers are
//! written by `metrics::promql::json`, straight into the body.
use metrics::model::Labels;
use serde_json::{Map, Value as Json};

pub(super) fn metric(labels: &Labels) -> Json {
    let mut m = Map::new();
    for l in labels.iter() {
        m.insert(l.name.to_string(), Json::String(l.value.to_string()));
    }
    Json::Object(m)
}
