//! elasticsearch_exporter's cluster health and per-index document counts, for the seed's
//! `OpenSearchIndexDown` rule and its Grafana table
//! `elasticsearch_indices_docs{index=~"news_.*_articles.*"}`.

use super::phase;
use crate::metrics::header;
use std::fmt::Write;
use std::time::Duration;

/// The seed's `cluster.name`.
pub const CLUSTER: &str = "multi-site-cluster";

pub const COLORS: [&str; 3] = ["green", "yellow", "red"];

/// A 10-minute cycle as (seconds into it where the color ends, color): yellow while replicas
/// allocate after the start, then green, then a red minute and a yellow recovery. Each
/// not-green spell outlasts the rule's `for: 2m`.
pub const HEALTH_CYCLE: [(u64, &str); 5] = [
    (180, "yellow"),
    (360, "green"),
    (420, "red"),
    (510, "yellow"),
    (600, "green"),
];

pub fn health(uptime: Duration) -> &'static str {
    let at = phase(uptime, HEALTH_CYCLE[HEALTH_CYCLE.len() - 1].0);
    let spell = HEALTH_CYCLE.iter().find(|(until, _)| at < *until);
    spell.map_or("green", |(_, color)| *color)
}

/// (index, documents at the start, new documents a second). One index per seed site, named as
/// the seed's `setup_sites` names them, plus a system index the dashboard's regex leaves out.
pub const INDICES: [(&str, u64, f64); 5] = [
    ("news_localhost_articles", 12_480, 0.2),
    ("news_site_a_local_articles", 245_310, 1.5),
    ("news_site_b_local_articles", 98_760, 0.8),
    ("news_portal_local_articles", 51_200, 0.5),
    (".kibana_1", 12, 0.0),
];

pub fn docs(start: u64, per_sec: f64, uptime: Duration) -> u64 {
    start + (per_sec * uptime.as_secs_f64()) as u64
}

pub fn render(out: &mut String, uptime: Duration) {
    let name = "elasticsearch_cluster_health_status";
    let help = "Whether all primary and replica shards are allocated.";
    header(out, name, "gauge", help);
    let now = health(uptime);
    for color in COLORS {
        let on = u8::from(color == now);
        let _ = writeln!(
            out,
            "{name}{{cluster=\"{CLUSTER}\",color=\"{color}\"}} {on}"
        );
    }
    // A gauge in the real exporter too; it only grows here because nothing is deleted.
    let name = "elasticsearch_indices_docs";
    header(out, name, "gauge", "Count of documents in the index.");
    for (index, start, per_sec) in INDICES {
        let n = docs(start, per_sec, uptime);
        let _ = writeln!(out, "{name}{{cluster=\"{CLUSTER}\",index=\"{index}\"}} {n}");
    }
}
