//! Configuration from the environment (the contract in PRODUCT.md).
use berth_core::state::Settings;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    database_url: Option<String>,
    /// `BERTH_MASTER_KEY`: the key(s) sealing secrets, else `<data dir>/master.key`.
    pub master_key: Option<String>,
    pub public_url: Option<String>,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// `BERTH_ACCESS_LOG_LISTEN`: the UDP syslog socket the managed nginx sends its
    /// per-site request log to (default `127.0.0.1:0`: a free loopback port, the same one
    /// again after a restart when it is free); `off`: none.
    pub access_log_listen: Option<SocketAddr>,
    /// `BERTH_METRICS_ALLOW_LOOPBACK=1`: static scrape targets and remote write/read URLs may
    /// be loopback addresses (exporters on the Berth machine itself). Off by default: a
    /// project's maintainer is not trusted with what listens on Berth's own loopback.
    pub metrics_allow_loopback: bool,
    /// `BERTH_METRICS_MAX_QUERIES`: PromQL queries evaluated at once (Prometheus's
    /// `--query.max-concurrency`); 0 or unset: twice the CPU count.
    pub metrics_max_queries: usize,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn minutes(name: &str, default: u64) -> anyhow::Result<Duration> {
    match env(name) {
        None => Ok(Duration::from_secs(default * 60)),
        Some(v) => {
            let n: u64 = v
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{name} must be a whole number of minutes"))?;
            anyhow::ensure!(n > 0, "{name} must be above zero");
            Ok(Duration::from_secs(n * 60))
        }
    }
}

fn flag(name: &str) -> anyhow::Result<bool> {
    match env(name).as_deref().map(str::trim) {
        None | Some("0" | "false" | "no") => Ok(false),
        Some("1" | "true" | "yes") => Ok(true),
        Some(_) => anyhow::bail!("{name} must be 1 or 0"),
    }
}

fn access_log_listen() -> anyhow::Result<Option<SocketAddr>> {
    match env("BERTH_ACCESS_LOG_LISTEN").as_deref().map(str::trim) {
        None => Ok(Some(SocketAddr::from(([127, 0, 0, 1], 0)))),
        Some("off") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            anyhow::anyhow!(
                "BERTH_ACCESS_LOG_LISTEN must be an address like 127.0.0.1:5514, or off"
            )
        }),
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let listen = env("BERTH_LISTEN").unwrap_or_else(|| "127.0.0.1:3000".into());
        let listen = listen
            .parse()
            .map_err(|_| anyhow::anyhow!("BERTH_LISTEN must be an address like 127.0.0.1:3000"))?;
        let public_url = env("BERTH_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string());
        if let Some(u) = &public_url {
            anyhow::ensure!(
                u.starts_with("http://") || u.starts_with("https://"),
                "BERTH_PUBLIC_URL must start with http:// or https://"
            );
        }
        Ok(Config {
            listen,
            data_dir: PathBuf::from(env("BERTH_DATA_DIR").unwrap_or_else(|| "./data".into())),
            database_url: env("BERTH_DATABASE_URL"),
            master_key: env("BERTH_MASTER_KEY"),
            public_url,
            session_idle: minutes("BERTH_SESSION_IDLE_MINUTES", 30)?,
            session_absolute: minutes("BERTH_SESSION_MAX_MINUTES", 12 * 60)?,
            body_limit: 1024 * 1024,
            access_log_listen: access_log_listen()?,
            metrics_allow_loopback: flag("BERTH_METRICS_ALLOW_LOOPBACK")?,
            metrics_max_queries: match env("BERTH_METRICS_MAX_QUERIES") {
                None => 0,
                Some(v) => v.trim().parse().map_err(|_| {
                    anyhow::anyhow!("BERTH_METRICS_MAX_QUERIES must be a whole number")
                })?,
            },
        })
    }

    /// A configuration for tests and tools: everything default but these.
    pub fn for_data_dir(data_dir: PathBuf, database_url: Option<String>) -> Config {
        Config {
            listen: "127.0.0.1:0".parse().expect("valid addr"),
            data_dir,
            database_url,
            master_key: None,
            public_url: None,
            session_idle: Duration::from_secs(30 * 60),
            session_absolute: Duration::from_secs(12 * 3600),
            body_limit: 1024 * 1024,
            access_log_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            metrics_allow_loopback: false,
            metrics_max_queries: 0,
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("berth.db").display()
            )
        })
    }

    pub fn settings(&self) -> Settings {
        Settings {
            public_url: self.public_url.clone(),
            session_idle: self.session_idle,
            session_absolute: self.session_absolute,
        }
    }
}
