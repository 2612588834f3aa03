//! Per-site request metrics from the managed nginx's access log: Berth listens on a UDP
//! syslog socket (`BERTH_ACCESS_LOG_LISTEN`), the nginx configuration it renders sends one
//! line per request there (the format is `stack::nginx::access_log`), and the counts are
//! stored every scrape interval as `berth_http_*` series with `project`, `environment` and
//! `job="nginx"`, so an environment has QPS, latency and error rate per site even when its
//! app exports nothing.
//!
//! # Trust
//! Anything that reaches the socket can send datagrams (a local process; a container when
//! the socket listens on a bridge address). A line names its environment by id and carries
//! a token, an HMAC of that id under a key derived from the instance's secret salt (kept in
//! the database, so it survives restarts): a line with a wrong token, for an environment that
//! does not exist, or that does not parse is counted in [`Stats`] and dropped. Labels are
//! bounded: `site` is the `server` block's name (never the client's `Host`),
//! `method` one of eight, `code` a status in 100–599, and at most
//! [`aggregate::MAX_SITES`] sites per environment.
pub mod aggregate;
mod flush;
mod receive;

use super::super::AppState;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use stack::nginx::AccessLogSink;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio_util::sync::CancellationToken;

/// The name every series gets as `job`.
pub const JOB: &str = "nginx";

/// What Berth knows of an environment to label its series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EnvRef {
    pub(crate) project: String,
    pub(crate) slug: String,
    pub(crate) interval_ms: i64,
}

/// How many datagrams arrived and why some were dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub received: u64,
    pub counted: u64,
    /// Not Berth's format, or a field out of range.
    pub malformed: u64,
    /// A token that is not the environment's.
    pub bad_token: u64,
    /// An environment that does not exist (any more).
    pub unknown_environment: u64,
    /// The environment already counts the most sites it may.
    pub too_many_sites: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    counted: AtomicU64,
    malformed: AtomicU64,
    bad_token: AtomicU64,
    unknown_environment: AtomicU64,
    too_many_sites: AtomicU64,
}

/// The socket's address, the key, and the counts so far.
pub struct Collector {
    addr: SocketAddr,
    key: [u8; 32],
    totals: Mutex<aggregate::Totals>,
    envs: RwLock<HashMap<i64, EnvRef>>,
    counters: Counters,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

type HmacSha256 = Hmac<Sha256>;

impl Collector {
    fn new(addr: SocketAddr, salt: &[u8]) -> Collector {
        let mut m = <HmacSha256 as Mac>::new_from_slice(salt).expect("HMAC takes any key");
        m.update(b"berth access log v1");
        Collector {
            addr,
            key: m.finalize().into_bytes().into(),
            totals: Mutex::default(),
            envs: RwLock::default(),
            counters: Counters::default(),
        }
    }

    /// Where the socket listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn mac(&self, env_id: i64) -> HmacSha256 {
        let mut m = <HmacSha256 as Mac>::new_from_slice(&self.key).expect("HMAC takes any key");
        m.update(&env_id.to_be_bytes());
        m
    }

    /// What the nginx configuration of environment `env_id` sends, and where. A socket on
    /// every address (`0.0.0.0`, `::`) is reached on loopback by an nginx on this machine.
    pub fn sink(&self, env_id: i64) -> AccessLogSink {
        let tag = self.mac(env_id).finalize().into_bytes();
        let mut server = self.addr;
        if server.ip().is_unspecified() {
            server.set_ip(match server {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        AccessLogSink {
            server,
            environment_id: env_id,
            token: hex::encode(&tag[..16]),
        }
    }

    /// Whether `token` (hex) is environment `env_id`'s, compared in constant time.
    fn verify(&self, env_id: i64, token: &str) -> bool {
        match hex::decode(token) {
            Ok(bytes) if bytes.len() == 16 => {
                self.mac(env_id).verify_truncated_left(&bytes).is_ok()
            }
            _ => false,
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            received: l(&c.received),
            counted: l(&c.counted),
            malformed: l(&c.malformed),
            bad_token: l(&c.bad_token),
            unknown_environment: l(&c.unknown_environment),
            too_many_sites: l(&c.too_many_sites),
        }
    }

    fn set_envs(&self, envs: HashMap<i64, EnvRef>) {
        *self.envs.write().expect("access log environments") = envs;
    }

    fn env(&self, id: i64) -> Option<EnvRef> {
        self.envs
            .read()
            .expect("access log environments")
            .get(&id)
            .cloned()
    }
}

/// Binds the socket on `listen` and starts receiving and storing; both stop with `stop`.
/// With port 0, the port of the last start (kept in `<data dir>/access-log.port`) is tried
/// first, so an nginx configured before a restart still reaches Berth. Returns the bound
/// address; the rendered nginx configurations use it.
pub async fn start(
    state: &AppState,
    listen: SocketAddr,
    data_dir: &Path,
    stop: CancellationToken,
) -> Result<SocketAddr, String> {
    let salt = super::super::deploy::fingerprint::salt(&state.db)
        .await
        .map_err(|e| format!("access log: the instance key could not be read: {e}"))?;
    let remembered = data_dir.join("access-log.port");
    let mut socket = None;
    if listen.port() == 0 {
        let port = std::fs::read_to_string(&remembered)
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok())
            .filter(|p| *p != 0);
        if let Some(port) = port {
            socket = tokio::net::UdpSocket::bind(SocketAddr::new(listen.ip(), port))
                .await
                .ok();
        }
    }
    let socket = match socket {
        Some(s) => s,
        None => tokio::net::UdpSocket::bind(listen)
            .await
            .map_err(|e| format!("access log: cannot listen on UDP {listen}: {e}"))?,
    };
    let addr = socket.local_addr().map_err(|e| e.to_string())?;
    if listen.port() == 0 {
        let _ = std::fs::write(&remembered, addr.port().to_string());
    }
    let collector = Arc::new(Collector::new(addr, &salt));
    flush::refresh_envs(state, &collector).await;
    state.metrics.set_access_log(collector.clone());
    tokio::spawn(receive::run(socket, collector.clone(), stop.clone()));
    tokio::spawn(flush::run(state.clone(), collector, stop));
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_the_environments_own() {
        let c = Collector::new("127.0.0.1:9".parse().unwrap(), b"salt");
        let sink = c.sink(7);
        assert_eq!(sink.token.len(), 32);
        assert!(c.verify(7, &sink.token));
        assert!(!c.verify(8, &sink.token), "another environment's token");
        assert!(!c.verify(7, &c.sink(8).token));
        assert!(!c.verify(7, &sink.token[..30]));
        assert!(!c.verify(7, "zz"));
        let other = Collector::new("127.0.0.1:9".parse().unwrap(), b"other salt");
        assert!(!other.verify(7, &sink.token), "another instance's key");
    }

    #[test]
    fn a_socket_on_every_address_is_named_by_its_loopback() {
        let c = Collector::new("0.0.0.0:5514".parse().unwrap(), b"salt");
        assert_eq!(c.sink(1).server, "127.0.0.1:5514".parse().unwrap());
        let c = Collector::new("[::]:5514".parse().unwrap(), b"salt");
        assert_eq!(c.sink(1).server, "[::1]:5514".parse().unwrap());
        let c = Collector::new("172.17.0.1:5514".parse().unwrap(), b"salt");
        assert_eq!(c.sink(1).server, "172.17.0.1:5514".parse().unwrap());
    }
}
