//! The demo's knobs, read once at start from `PORT` and the `DEMO_*` environment variables.

use crate::exporters::Exporters;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `DEMO_VERSION`: reported by every endpoint and the `X-Demo-Version` header.
    pub version: String,
    /// `PORT`.
    pub port: u16,
    /// `DEMO_START_UNHEALTHY=1`: `/api/health` answers 503 from the start.
    pub start_unhealthy: bool,
    /// `DEMO_CRASH=1`: exit 3 before listening.
    pub crash: bool,
    /// `DEMO_CRASH_AFTER_SECS=N`: exit 3 N seconds after start.
    pub crash_after: Option<Duration>,
    /// `DEMO_STARTUP_DELAY_MS=N`: a slow boot before listening.
    pub startup_delay: Duration,
    /// `DEMO_SLOW_MS=N`: extra latency on every request.
    pub slow: Duration,
    /// `DEMO_FAIL_FEED=1`: `/api/feed` answers 500.
    pub fail_feed: bool,
    /// `DEMO_ACCESS_LOG=0` silences the per-request log line (for long benchmarks).
    pub access_log: bool,
    /// `DEMO_PRINT_VAR=NAME`: prints `NAME=<value of NAME>` on stdout at start and on every
    /// request (a test switch: it proves that Berth masks what a container prints).
    pub print_var: Option<(String, String)>,
    /// `DEMO_EXPORTERS=node,elasticsearch` (or `all`): `/metrics` also imitates these
    /// exporters, for the seed's memory, disk and OpenSearch rules.
    pub exporters: Exporters,
    /// `DEMO_CLOCK_OFFSET_SECS=N`: the imitated exporters start N seconds into their cycles,
    /// so demos started together can be in different phases (one alerting, one not).
    pub clock_offset: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            version: "dev".into(),
            port: 8000,
            start_unhealthy: false,
            crash: false,
            crash_after: None,
            startup_delay: Duration::ZERO,
            slow: Duration::ZERO,
            fail_feed: false,
            access_log: true,
            print_var: None,
            exporters: Exporters::default(),
            clock_offset: Duration::ZERO,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the config from any variable source, so tests need not touch the process env.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let millis = |name| number::<u64>(&get, name).map(|v| v.map(Duration::from_millis));
        Ok(Self {
            version: get("DEMO_VERSION")
                .map(|v| sanitize_version(&v))
                .unwrap_or(defaults.version),
            port: number(&get, "PORT")?.unwrap_or(defaults.port),
            start_unhealthy: flag(&get, "DEMO_START_UNHEALTHY"),
            crash: flag(&get, "DEMO_CRASH"),
            crash_after: number::<u64>(&get, "DEMO_CRASH_AFTER_SECS")?.map(Duration::from_secs),
            startup_delay: millis("DEMO_STARTUP_DELAY_MS")?.unwrap_or_default(),
            slow: millis("DEMO_SLOW_MS")?.unwrap_or_default(),
            fail_feed: flag(&get, "DEMO_FAIL_FEED"),
            access_log: get("DEMO_ACCESS_LOG").is_none_or(|v| !is_off(&v)),
            print_var: get("DEMO_PRINT_VAR").filter(|n| !n.is_empty()).map(|n| {
                let value = get(&n).unwrap_or_default();
                (n, value)
            }),
            exporters: Exporters::parse(&get("DEMO_EXPORTERS").unwrap_or_default())
                .map_err(|e| ConfigError(format!("DEMO_EXPORTERS: {e}")))?,
            clock_offset: number::<u64>(&get, "DEMO_CLOCK_OFFSET_SECS")?
                .map(Duration::from_secs)
                .unwrap_or_default(),
        })
    }
}

/// True for `1`, `true`, `yes`, `on` (any case).
pub fn flag(get: &impl Fn(&str) -> Option<String>, name: &str) -> bool {
    get(name).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

fn is_off(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "0" | "false" | "no" | "off"
    )
}

fn number<T: FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<T>, ConfigError> {
    match get(name) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => {
            v.trim().parse().map(Some).map_err(|_| {
                ConfigError(format!("{name} must be a non-negative integer, got {v:?}"))
            })
        }
    }
}

/// The version goes into a response header, so only visible ASCII survives.
fn sanitize_version(raw: &str) -> String {
    let clean: String = raw.chars().filter(|c| c.is_ascii_graphic()).collect();
    if clean.is_empty() {
        "dev".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn an_empty_environment_gives_the_defaults() {
        assert_eq!(from(&[]).unwrap(), Config::default());
    }

    #[test]
    fn every_knob_is_read() {
        let c = from(&[
            ("DEMO_VERSION", "v2"),
            ("PORT", "9000"),
            ("DEMO_START_UNHEALTHY", "1"),
            ("DEMO_CRASH", "true"),
            ("DEMO_CRASH_AFTER_SECS", "5"),
            ("DEMO_STARTUP_DELAY_MS", "250"),
            ("DEMO_SLOW_MS", "40"),
            ("DEMO_FAIL_FEED", "yes"),
            ("DEMO_ACCESS_LOG", "0"),
            ("DEMO_EXPORTERS", "node, elasticsearch"),
            ("DEMO_CLOCK_OFFSET_SECS", "200"),
        ])
        .unwrap();
        assert_eq!(c.version, "v2");
        assert_eq!(c.port, 9000);
        assert!(c.start_unhealthy && c.crash && c.fail_feed && !c.access_log);
        assert_eq!(c.crash_after, Some(Duration::from_secs(5)));
        assert_eq!(c.startup_delay, Duration::from_millis(250));
        assert_eq!(c.slow, Duration::from_millis(40));
        assert_eq!(c.exporters, Exporters::ALL);
        assert_eq!(c.clock_offset, Duration::from_secs(200));
    }

    #[test]
    fn exporters_are_a_list_and_an_unknown_one_is_an_error() {
        let only = |v| from(&[("DEMO_EXPORTERS", v)]).map(|c| c.exporters);
        let node = Exporters {
            node: true,
            ..Exporters::default()
        };
        assert_eq!(only("node"), Ok(node));
        assert_eq!(only("all"), Ok(Exporters::ALL));
        assert_eq!(only(""), Ok(Exporters::default()));
        let err = only("node,mysql").unwrap_err().to_string();
        assert!(
            err.contains("DEMO_EXPORTERS") && err.contains("mysql"),
            "{err}"
        );
    }

    #[test]
    fn print_var_names_the_variable_to_print() {
        let c = from(&[("DEMO_PRINT_VAR", "API_KEY"), ("API_KEY", "k-1\nk-2")]).unwrap();
        assert_eq!(c.print_var, Some(("API_KEY".into(), "k-1\nk-2".into())));
        assert_eq!(from(&[]).unwrap().print_var, None);
    }

    #[test]
    fn a_bad_number_is_an_error_naming_the_variable() {
        let err = from(&[("PORT", "eighty")]).unwrap_err();
        assert!(err.to_string().contains("PORT"));
    }

    #[test]
    fn flags_other_than_truthy_values_are_off() {
        assert!(!from(&[("DEMO_CRASH", "0")]).unwrap().crash);
    }

    #[test]
    fn the_version_keeps_only_visible_ascii() {
        let c = from(&[("DEMO_VERSION", "v1\r\nX-Evil: 1")]).unwrap();
        assert_eq!(c.version, "v1X-Evil:1");
    }
}
