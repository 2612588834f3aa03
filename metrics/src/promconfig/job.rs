//! `global` and one `scrape_configs` entry, with Prometheus's defaulting of interval, timeout
//! and limits.

use super::node::Node;
use super::target::{check_label_name, check_target};
use super::{ConfigError, Problem, ScrapeJob, StaticTarget};

/// What `global` hands down to every job.
pub(super) struct Defaults {
    interval_ms: i64,
    timeout_ms: i64,
    sample_limit: Option<u64>,
    label_limit: Option<u64>,
}

/// Prometheus's own: scrape every minute, time out after 10 s.
impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            interval_ms: 60_000,
            timeout_ms: 10_000,
            sample_limit: None,
            label_limit: None,
        }
    }
}

pub(super) fn parse_global(
    node: &Node<'_>,
    unsupported: &mut Vec<String>,
) -> Result<Defaults, ConfigError> {
    let builtin = Defaults::default();
    let (mut interval, mut timeout) = (None, None);
    let mut defaults = Defaults::default();
    for (key, value) in node.entries()? {
        match key.as_str() {
            "scrape_interval" => interval = Some(value.duration()?),
            "scrape_timeout" => timeout = Some((value.duration()?, value.path)),
            "sample_limit" => defaults.sample_limit = limit(&value)?,
            "label_limit" => defaults.label_limit = limit(&value)?,
            _ => unsupported.push(value.path),
        }
    }
    defaults.interval_ms = nonzero(interval).unwrap_or(builtin.interval_ms);
    defaults.timeout_ms = timeout_within(timeout, defaults.interval_ms, builtin.timeout_ms)?;
    Ok(defaults)
}

pub(super) fn parse_job(
    node: &Node<'_>,
    defaults: &Defaults,
    unsupported: &mut Vec<String>,
) -> Result<ScrapeJob, ConfigError> {
    if node.value.is_null() {
        return Err(node.err(Problem::EmptyScrapeConfig));
    }
    let mut job = ScrapeJob {
        job_name: String::new(),
        scheme: "http".into(),
        metrics_path: "/metrics".into(),
        params: Vec::new(),
        interval_ms: 0,
        timeout_ms: 0,
        honor_labels: false,
        honor_timestamps: true,
        sample_limit: defaults.sample_limit,
        label_limit: defaults.label_limit,
        targets: Vec::new(),
    };
    let (mut interval, mut timeout) = (None, None);
    for (key, value) in node.entries()? {
        match key.as_str() {
            "job_name" => job.job_name = value.text()?,
            "static_configs" => job.targets = static_configs(&value, unsupported)?,
            "metrics_path" => job.metrics_path = metrics_path(&value)?,
            "scheme" => job.scheme = scheme(&value)?,
            "scrape_interval" => interval = Some(value.duration()?),
            "scrape_timeout" => timeout = Some((value.duration()?, value.path)),
            "honor_labels" => job.honor_labels = value.flag()?,
            "honor_timestamps" => job.honor_timestamps = value.flag()?,
            "params" => job.params = params(&value)?,
            "sample_limit" => job.sample_limit = limit(&value)?.or(defaults.sample_limit),
            "label_limit" => job.label_limit = limit(&value)?.or(defaults.label_limit),
            _ => unsupported.push(value.path),
        }
    }
    if job.job_name.is_empty() {
        return Err(node.err(Problem::MissingJobName));
    }
    job.interval_ms = nonzero(interval).unwrap_or(defaults.interval_ms);
    job.timeout_ms = timeout_within(timeout, job.interval_ms, defaults.timeout_ms)?;
    Ok(job)
}

/// A duration of 0 is "not set" in Prometheus.
fn nonzero(ms: Option<i64>) -> Option<i64> {
    ms.filter(|&ms| ms != 0)
}

/// An explicit timeout over the interval is an error; an inherited one is cut to the interval.
fn timeout_within(
    explicit: Option<(i64, String)>,
    interval_ms: i64,
    inherited_ms: i64,
) -> Result<i64, ConfigError> {
    match explicit.filter(|(ms, _)| *ms != 0) {
        Some((timeout_ms, path)) if timeout_ms > interval_ms => {
            let problem = Problem::TimeoutOverInterval {
                timeout_ms,
                interval_ms,
            };
            Err(ConfigError::at(path, problem))
        }
        Some((timeout_ms, _)) => Ok(timeout_ms),
        None => Ok(inherited_ms.min(interval_ms)),
    }
}

/// `0` is no limit.
fn limit(node: &Node<'_>) -> Result<Option<u64>, ConfigError> {
    Ok(Some(node.unsigned()?).filter(|&n| n != 0))
}

fn scheme(node: &Node<'_>) -> Result<String, ConfigError> {
    match node.text()?.as_str() {
        scheme @ ("http" | "https") => Ok(scheme.into()),
        other => Err(node.err(Problem::BadScheme(other.into()))),
    }
}

fn metrics_path(node: &Node<'_>) -> Result<String, ConfigError> {
    // The value is not echoed: a mistaken URL here may carry credentials.
    let path = node.text()?;
    match path.starts_with('/') {
        true => Ok(path),
        false => Err(node.err(Problem::BadMetricsPath)),
    }
}

fn params(node: &Node<'_>) -> Result<Vec<(String, String)>, ConfigError> {
    let mut pairs = Vec::new();
    for (name, values) in node.entries()? {
        for value in values.items()? {
            pairs.push((name.clone(), value.text()?));
        }
    }
    Ok(pairs)
}

fn static_configs(
    node: &Node<'_>,
    unsupported: &mut Vec<String>,
) -> Result<Vec<StaticTarget>, ConfigError> {
    let mut targets = Vec::new();
    for group in node.items()? {
        let (mut addresses, mut labels) = (Vec::new(), Vec::new());
        for (key, value) in group.entries()? {
            match key.as_str() {
                "targets" => addresses = value.items()?,
                "labels" => labels = group_labels(&value)?,
                _ => unsupported.push(value.path),
            }
        }
        for address in addresses {
            let text = address.text()?;
            check_target(&text).map_err(|problem| address.err(problem))?;
            targets.push(StaticTarget {
                address: text,
                labels: labels.clone(),
            });
        }
    }
    Ok(targets)
}

fn group_labels(node: &Node<'_>) -> Result<Vec<(String, String)>, ConfigError> {
    let mut labels = Vec::new();
    for (name, value) in node.entries()? {
        check_label_name(&name).map_err(|problem| value.err(problem))?;
        labels.push((name, value.text()?));
    }
    labels.sort();
    Ok(labels)
}
