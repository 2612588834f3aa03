//! The edge proxy: installing a new nginx configuration safely (test, roll back on failure,
//! reload, wait for the reload to take effect), for nginx on the host or in a container.

mod container;
mod host;
mod workers;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::{Engine, EngineError};

/// Where nginx runs and which file of its configuration Berth manages.
#[derive(Clone, Debug)]
pub enum Proxy {
    /// nginx on this machine. `test` is e.g. `["nginx", "-t", "-c", "/etc/nginx/nginx.conf"]`,
    /// `reload` e.g. `["nginx", "-s", "reload"]`; an empty command is skipped.
    Host {
        config_path: PathBuf,
        test: Vec<String>,
        reload: Vec<String>,
    },
    /// nginx in a container (official image layout): the file is uploaded through Docker,
    /// `nginx -t` and `nginx -s reload` run by exec. Mount a directory there, not the file
    /// alone: Docker replaces files on upload, which a single-file bind mount does not allow.
    Container {
        engine: Engine,
        container: String,
        config_path: String,
    },
}

/// What [`Proxy::apply`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyApplied {
    /// False when the file already held this configuration: nothing was tested or reloaded.
    pub changed: bool,
    /// What `nginx -t` said.
    pub test_output: String,
    /// How Berth knew the reload had taken effect.
    pub reload: ReloadWait,
}

/// How [`Proxy::apply`] waited for nginx to serve the new configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadWait {
    /// Nothing changed, or there is no reload command.
    Skipped,
    /// New worker processes replaced the old ones (read from nginx's pid file, or Docker's
    /// process list for a container): new connections reach the new configuration.
    WorkersReplaced,
    /// nginx's processes could not be watched, so Berth waited a fixed 100 ms.
    Settled,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// `nginx -t` rejected the configuration; the previous file is back in place.
    #[error("nginx rejected the configuration (the previous one is still in place): {0}")]
    Invalid(String),
    /// The configuration is valid and installed but nginx did not reload.
    #[error("nginx did not reload: {0}")]
    Reload(String),
    /// Reading or writing the configuration file failed.
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Proxy {
    /// Installs `config` as the managed file: keeps the old one as `<path>.previous`, puts the
    /// new one in place atomically, runs the test command (on failure restores the old file and
    /// returns [`ProxyError::Invalid`]), reloads, and waits until nginx's new workers run
    /// (see [`ReloadWait`]). Unchanged content is left alone. Applies to one file are serialized.
    pub async fn apply(&self, config: &str) -> Result<ProxyApplied, ProxyError> {
        let lock = file_lock(self.key());
        let _held = lock.lock().await;
        match self {
            Proxy::Host {
                config_path,
                test,
                reload,
            } => host::apply(config_path, test, reload, config).await,
            Proxy::Container {
                engine,
                container,
                config_path,
            } => container::apply(engine, container, config_path, config).await,
        }
    }

    /// The managed file's content, `None` when there is none yet.
    pub async fn current(&self) -> Result<Option<String>, ProxyError> {
        match self {
            Proxy::Host { config_path, .. } => host::read(config_path).await,
            Proxy::Container {
                engine,
                container,
                config_path,
            } => container::read(engine, container, config_path).await,
        }
    }

    fn key(&self) -> String {
        match self {
            Proxy::Host { config_path, .. } => format!("host:{}", config_path.display()),
            Proxy::Container {
                engine,
                container,
                config_path,
            } => format!("{}:{container}:{config_path}", engine.host()),
        }
    }
}

/// One lock per managed file, so two applies never interleave their write, test and restore.
fn file_lock(key: String) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry(key).or_default().clone()
}

/// Command output on one line, for error messages.
pub(crate) fn one_line(output: &str) -> String {
    output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}
