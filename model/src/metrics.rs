//! What the metrics pages and API show: scrape targets and their health, an environment's
//! metrics settings, and what an import of a `prometheus.yml` did.
use serde::{Deserialize, Serialize};

/// One target Berth scrapes, with the outcome of its last scrape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScrapeTargetView {
    /// The static target's id; `None` for a replica (found from what runs).
    pub id: Option<i64>,
    /// `replica` (a service's container) or `static`.
    pub kind: String,
    pub job: String,
    pub instance: String,
    /// Scheme, address and path (never credentials).
    pub url: String,
    /// The labels every series of this target carries (job, instance, project, ...).
    pub labels: Vec<(String, String)>,
    pub interval_ms: i64,
    pub timeout_ms: i64,
    /// `up`, `down` or `unknown` (not scraped yet).
    pub health: String,
    pub last_scrape: Option<i64>,
    pub last_duration_ms: Option<f64>,
    pub last_samples: Option<u64>,
    /// Why the last scrape failed (or what it dropped); empty when it went well.
    pub last_error: String,
}

/// How an environment's metrics are collected and kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct MetricsSettings {
    /// Scrape the `/metrics` of every service replica (each service may opt out).
    pub scrape_replicas: bool,
    pub interval_ms: i64,
    pub timeout_ms: i64,
    /// Raw samples are kept this long.
    pub retention_raw_days: i64,
    /// 5-minute rollups are kept this long.
    pub retention_rollup_days: i64,
    /// Prometheus remote write: the environment's samples are also sent here (Prometheus
    /// with `--web.enable-remote-write-receiver`, VictoriaMetrics, Mimir); empty: nowhere.
    pub remote_write_url: String,
    /// Prometheus remote read (e.g. `http://prometheus:9090/api/v1/read`): the query API
    /// reads this environment's series from here as well as from the embedded storage;
    /// empty: nowhere.
    pub remote_read_url: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            scrape_replicas: true,
            interval_ms: 15_000,
            timeout_ms: 10_000,
            retention_raw_days: 15,
            retention_rollup_days: 90,
            remote_write_url: String::new(),
            remote_read_url: String::new(),
        }
    }
}

/// A static target as a maintainer adds it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct NewScrapeTarget {
    pub job_name: String,
    /// `host:port`.
    pub address: String,
    /// `http` (default) or `https`.
    pub scheme: String,
    /// Default `/metrics`.
    pub metrics_path: String,
    pub params: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    /// Default: the environment's interval.
    pub interval_ms: Option<i64>,
    pub timeout_ms: Option<i64>,
    pub honor_labels: bool,
    /// Default true.
    pub honor_timestamps: Option<bool>,
    /// 0: Berth's limit.
    pub sample_limit: u64,
}

/// What importing a `prometheus.yml` did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrometheusImportView {
    /// Jobs imported (their targets replace the environment's static targets of that job).
    pub jobs: Vec<String>,
    pub targets: usize,
    /// Keys Berth does not act on, by path (`rule_files`, `scrape_configs[1].relabel_configs`).
    pub unsupported: Vec<String>,
}

/// One series of a query's chart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartSeries {
    /// `name{a="b"}`.
    pub label: String,
    /// `(unix ms, value)`.
    pub points: Vec<(i64, f64)>,
}

/// What the query box shows: the instant answer as a table, the last hour as a chart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryResultView {
    pub expr: String,
    /// `vector`, `scalar`, `string` or `matrix`.
    pub result_type: String,
    /// `(series, value)`, values as Prometheus writes them.
    pub rows: Vec<(String, String)>,
    pub chart: Vec<ChartSeries>,
    /// Prometheus's error type and message, when the query failed.
    pub error: Option<String>,
    /// How many rows were left out of the table.
    pub truncated: usize,
}
