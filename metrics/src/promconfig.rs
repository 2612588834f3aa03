//! Importing static scrape targets from a Prometheus `prometheus.yml`.
//!
//! [`parse_prometheus_yml`] reads what Berth can scrape itself: each `scrape_configs` job's
//! `static_configs` and scrape settings, with `global`'s interval and timeout (and limits) as
//! defaults, resolved the way Prometheus resolves them. Anything else (rules, alerting, remote
//! write, relabelling, service discovery, auth, TLS, unknown keys) is not an error: its key path
//! comes back in [`ImportedConfig::unsupported`] so the UI can say what was ignored. Values
//! under those keys are never read, and no error carries a value that may be a credential.
use std::fmt;

mod duration;
mod job;
mod node;
mod target;

pub use duration::{format_duration, parse_duration};

use job::Defaults;
use node::Node;

/// What a `prometheus.yml` holds that Berth can use, and the key paths of what it ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportedConfig {
    pub jobs: Vec<ScrapeJob>,
    /// Key paths such as `alerting`, `global.evaluation_interval` or
    /// `scrape_configs[1].relabel_configs`, in the order they appear.
    pub unsupported: Vec<String>,
}

/// One `scrape_configs` entry, its defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScrapeJob {
    pub job_name: String,
    /// `http` or `https`.
    pub scheme: String,
    pub metrics_path: String,
    /// URL query parameters, one pair per value, in file order.
    pub params: Vec<(String, String)>,
    pub interval_ms: i64,
    /// Never more than `interval_ms`.
    pub timeout_ms: i64,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    /// `None` is no limit (Prometheus's `0`).
    pub sample_limit: Option<u64>,
    pub label_limit: Option<u64>,
    pub targets: Vec<StaticTarget>,
}

/// A `host:port` from `static_configs`, with that group's labels sorted by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticTarget {
    pub address: String,
    pub labels: Vec<(String, String)>,
}

/// Why a file was refused, and where: `path` is a key path like
/// `scrape_configs[2].static_configs[0].targets[1]` (empty for the file as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub problem: Problem,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path.as_str() {
            "" => write!(f, "{}", self.problem),
            path => write!(f, "{path}: {}", self.problem),
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("not valid YAML: {0}")]
    Yaml(String),
    #[error("expected {0}")]
    WrongType(&'static str),
    #[error("a scrape config cannot be empty")]
    EmptyScrapeConfig,
    #[error("job_name is required")]
    MissingJobName,
    #[error("job_name {name:?} is already used by scrape_configs[{first}]")]
    DuplicateJobName { name: String, first: usize },
    /// `target` is `None` when it held userinfo (`user:password@`), which is not shown.
    #[error("{} is not host:port: {reason}", shown(.target))]
    BadTarget {
        target: Option<String>,
        reason: &'static str,
    },
    #[error("{value:?} is not a duration: {reason}")]
    BadDuration { value: String, reason: &'static str },
    #[error(
        "{name:?} is not a valid label name (letters, digits and _, not starting with a digit)"
    )]
    BadLabelName { name: String },
    #[error("{name:?} starts with __, which is reserved for Prometheus's internal labels")]
    ReservedLabelName { name: String },
    #[error("scheme must be http or https, got {0:?}")]
    BadScheme(String),
    #[error("metrics_path must be a path starting with /")]
    BadMetricsPath,
    #[error("scrape_timeout ({}) is greater than scrape_interval ({})",
        format_duration(*.timeout_ms), format_duration(*.interval_ms))]
    TimeoutOverInterval { timeout_ms: i64, interval_ms: i64 },
}

fn shown(target: &Option<String>) -> String {
    match target {
        Some(t) => format!("{t:?}"),
        None => "a target with user:password@ in it (not shown)".into(),
    }
}

impl ConfigError {
    fn at(path: impl Into<String>, problem: Problem) -> Self {
        Self {
            path: path.into(),
            problem,
        }
    }
}

/// Reads a `prometheus.yml`. An empty file is an empty config, as in Prometheus.
pub fn parse_prometheus_yml(text: &str) -> Result<ImportedConfig, ConfigError> {
    let yaml_error = |e: serde_norway::Error| ConfigError::at("", Problem::Yaml(e.to_string()));
    let mut doc: serde_norway::Value = serde_norway::from_str(text).map_err(yaml_error)?;
    doc.apply_merge().map_err(yaml_error)?;
    let entries = Node::root(&doc).entries()?;

    // The defaults come from `global` wherever it sits; its ignored keys are listed in place.
    let mut global_unsupported = Vec::new();
    let defaults = match entries.iter().find(|(key, _)| key == "global") {
        Some((_, global)) => job::parse_global(global, &mut global_unsupported)?,
        None => Defaults::default(),
    };
    let mut config = ImportedConfig::default();
    for (key, node) in entries {
        match key.as_str() {
            "global" => config.unsupported.append(&mut global_unsupported),
            "scrape_configs" => parse_scrape_configs(&node, &defaults, &mut config)?,
            _ => config.unsupported.push(node.path),
        }
    }
    Ok(config)
}

fn parse_scrape_configs(
    node: &Node<'_>,
    defaults: &Defaults,
    config: &mut ImportedConfig,
) -> Result<(), ConfigError> {
    // Every entry becomes a job or an error, so a job's index is its entry's index.
    for item in node.items()? {
        let job = job::parse_job(&item, defaults, &mut config.unsupported)?;
        if let Some(first) = config.jobs.iter().position(|j| j.job_name == job.job_name) {
            let problem = Problem::DuplicateJobName {
                name: job.job_name,
                first,
            };
            return Err(ConfigError::at(item.child("job_name"), problem));
        }
        config.jobs.push(job);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
