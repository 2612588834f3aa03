//! `docker-compose.yml` import (into [`ServiceSpec`]s plus a report of everything Berth does
//! not model) and export.
//!
//! # What is imported
//! `image`, `command` (string, split like a shell would, or list), `environment` (list or
//! map form), `volumes` (short `src:dst[:ro]` and long syntax), `ports` (short
//! `[ip:][host:]container[/proto]` and long syntax), `healthcheck` (`test` as `CMD`,
//! `CMD-SHELL` or string; `interval`, `timeout`, `start_period`, `retries`; `disable`),
//! `deploy.replicas` and `deploy.resources.{limits,reservations}.{cpus,memory}`.
//! Which of the environment's variables a service receives follows compose: with an
//! `env_file`, all of them; without, only the names `environment` passes through without a
//! value (plus what its values reference). [`export`] writes it back the same way.
//!
//! How containers live ([`crate::lifecycle`]):
//! - `depends_on`, list form (each `service_started`, compose's default for it) or map form
//!   with a `condition` (`service_started`, `service_healthy`,
//!   `service_completed_successfully`); `restart: true` and `required: false` are noted (an
//!   optional dependency on a service the file does not have is dropped, with a note). A
//!   dependency on an unknown service, on itself, or a cycle is an error.
//! - `restart` (`no`, also the YAML boolean `false`; `always`; `unless-stopped`;
//!   `on-failure[:N]`), else `deploy.restart_policy` (`condition` none, on-failure or any;
//!   `max_attempts`).
//! - `deploy.update_config.order`: `start-first` is a rolling update, `stop-first` a
//!   recreate; `x-berth: {update: manual}` (or rolling, recreate) wins over it.
//! - Container options ([`crate::lifecycle::RuntimeOptions`]): `entrypoint` (like
//!   `command`), `user`, `working_dir`, `stop_grace_period` (whole seconds, rounded up),
//!   `shm_size` (bytes or `64m`), `ulimits` (`nofile: N` or `{soft, hard}`), `tmpfs` (string
//!   or list), `cap_add`, `cap_drop`, `extra_hosts` (list of `host:ip` / `host=ip`, or a
//!   `host: ip` mapping; stored as `host:ip`).
//! - Top-level `volumes` with `external: true` (or the legacy `external: {name}`; `name`):
//!   the services' mounts of it are [`VolumeSpec::external`](crate::model::VolumeSpec::external), under the volume's own name.
//! - `networks`, top-level and per service: Berth gives each environment one network, so a
//!   service attached only to networks declared `internal: true` becomes
//!   [`ServiceSpec::internal`] and every other network setting (drivers, aliases, addresses,
//!   services kept apart on different networks) is noted. A service naming an undeclared
//!   network is an error, as in compose.
//!
//! Every other key is listed in [`ComposeImport::unsupported`] with its path and line —
//! never silently dropped. Extension keys (`x-...`) are ignored with a note, except
//! `x-berth` on a service, Berth's own extension that [`export`] writes for what compose
//! cannot say: `http_port`, `health_path`, the `pre_deploy` jobs and `update: manual`.
//!
//! # Defaults
//! A service without `deploy.replicas` gets 1 replica. A health check gets compose's
//! defaults for what it leaves out (interval 30 s, timeout 30 s, 3 retries, start period
//! 0 s); durations are rounded up to whole seconds (with a note when that changes them).
//! A `healthcheck` without `test` keeps the image's own test (an empty command).
use crate::model::ServiceSpec;
use serde::{Deserialize, Serialize};

mod command;
mod ctx;
mod environment;
mod health;
mod locate;
mod networks;
mod policy;
mod ports;
mod read;
mod resources;
mod runtime;
mod units;
mod volumes;
mod write;

pub use command::shell_split;
pub use read::import;
pub use units::{format_duration, format_memory, parse_duration, parse_memory};
pub use write::export;

/// The result of importing a compose file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ComposeImport {
    /// In the order of the file.
    pub services: Vec<ServiceSpec>,
    /// Keys Berth does not model (or only notes about), in the order found.
    pub unsupported: Vec<Unsupported>,
    /// Named volumes: declared at the top level or used by a service (external ones under
    /// their own name); sorted.
    pub named_volumes: Vec<String>,
}

/// A key of the file Berth does not apply, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsupported {
    /// e.g. `services.nginx.ulimits`, `version`, `services.app.ports[2]`.
    pub path: String,
    /// 1-based; 0 when unknown.
    pub line: usize,
    pub message: String,
}

/// The compose health check defaults (seconds, retries).
pub const DEFAULT_HEALTH_INTERVAL_SECS: u32 = 30;
pub const DEFAULT_HEALTH_TIMEOUT_SECS: u32 = 30;
pub const DEFAULT_HEALTH_RETRIES: u32 = 3;

/// Whether `name` is a valid service name: lowercase letters, digits, `-` and `_`, starting
/// with a letter or digit, at most 63 characters (it becomes a DNS name on the network).
pub fn is_valid_service_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}
