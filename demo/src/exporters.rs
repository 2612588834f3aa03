//! `DEMO_EXPORTERS`: series named like node_exporter's and elasticsearch_exporter's, added to
//! `/metrics` so the seed's memory, disk and OpenSearch alert rules have data to answer with.
//!
//! Every value is a function of the time since the demo started, nothing random: two scrapers
//! that hit the demo at nearly the same moment read nearly the same values, and a test can ask
//! what any moment looks like. The cycles are minutes long so that each alert condition is
//! both true and false within a short run.

pub mod elasticsearch;
pub mod node;

use std::time::Duration;

/// Which exporters `/metrics` imitates besides the demo's own `django_*` series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exporters {
    pub node: bool,
    pub elasticsearch: bool,
}

impl Exporters {
    pub const ALL: Exporters = Exporters {
        node: true,
        elasticsearch: true,
    };

    /// A comma-separated list of `node`, `elasticsearch`, or `all`; empty or `none` is none.
    pub fn parse(list: &str) -> Result<Exporters, String> {
        let mut on = Exporters::default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "node" => on.node = true,
                "elasticsearch" => on.elasticsearch = true,
                "all" => on = Exporters::ALL,
                "none" => {}
                _ => {
                    return Err(format!(
                        "unknown exporter {name:?} (known: node, elasticsearch, all, none)"
                    ))
                }
            }
        }
        Ok(on)
    }

    /// Appends the chosen exporters' families as they stand `uptime` after the start.
    pub fn render(&self, out: &mut String, uptime: Duration) {
        if self.node {
            node::render(out, uptime);
        }
        if self.elasticsearch {
            elasticsearch::render(out, uptime);
        }
    }
}

/// A smooth wave between -1 and 1 with the given period, 0 at the start and rising.
fn wave(uptime: Duration, period_secs: f64) -> f64 {
    (std::f64::consts::TAU * uptime.as_secs_f64() / period_secs).sin()
}

/// Where in a repeating cycle of `period_secs` the demo is, in seconds.
fn phase(uptime: Duration, period_secs: u64) -> u64 {
    uptime.as_secs() % period_secs
}

/// Byte counts as the kernel reports them: whole 4 KiB pages.
fn pages(bytes: f64) -> u64 {
    (bytes.max(0.0) as u64) / 4096 * 4096
}
