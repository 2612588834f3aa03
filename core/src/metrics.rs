//! The app side of metrics: what Berth scrapes (its replicas, static targets, itself), the
//! scheduler that scrapes them without blocking the web server or the deploy runner, the
//! embedded storage it writes to (`metrics::tsdb`), settings and targets (audited), and
//! PromQL answers scoped to what the caller may read. The storage and the evaluator are the
//! pure `metrics` crate.
pub mod access_log;
pub mod config;
pub mod docker;
pub mod import;
pub mod outbound;
pub mod query;
pub mod remote;
pub mod scheduler;
pub mod scrape;
pub mod settings;
pub mod targets;

use ::metrics::tsdb::Tsdb;
use berth_model::ScrapeTargetView;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use targets::Target;

/// The outcome of a target's last scrape.
#[derive(Clone, Debug, Default)]
pub struct Health {
    pub last_scrape: Option<i64>,
    pub report: scrape::Report,
}

/// Renders Berth's own `/metrics` (the server crate owns them).
pub type SelfSource = Arc<dyn Fn() -> String + Send + Sync>;

/// Metrics state shared by the scheduler and the readers.
#[derive(Default)]
pub struct Hub {
    tsdb: OnceLock<Arc<Tsdb>>,
    targets: Mutex<Vec<Target>>,
    health: Mutex<HashMap<String, Health>>,
    wake: tokio::sync::Notify,
    self_source: OnceLock<SelfSource>,
    /// Set while the storage refuses writes (disk full): what the pages say.
    storage_error: Mutex<Option<String>>,
    /// Remote write, by environment.
    remote: Mutex<HashMap<i64, remote::Status>>,
    /// Bumped when a secret value changes: the scheduler reads the secrets to mask again.
    secrets_generation: std::sync::atomic::AtomicU64,
    /// Slots for queries running at once (see [`query::limit`]).
    query_slots: OnceLock<Arc<tokio::sync::Semaphore>>,
    /// The nginx access log socket, once bound.
    access_log: OnceLock<Arc<access_log::Collector>>,
    /// Loopback allowed for user-chosen addresses (see [`outbound`]).
    allow_loopback: std::sync::atomic::AtomicBool,
    /// Each caller's share of the query slots (see [`query::limit::Callers`]).
    query_callers: query::limit::Callers,
    /// How many query slots there are in all (0: not set, the default).
    max_queries: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("open", &self.tsdb.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// Opens the storage under `dir` (once; later calls keep the first).
    pub fn open(&self, dir: &Path) -> Result<(), String> {
        if self.tsdb.get().is_some() {
            return Ok(());
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tsdb = Tsdb::open(dir, ::metrics::tsdb::Options::default())
            .map_err(|e| format!("metrics storage at {}: {e}", dir.display()))?;
        let _ = self.tsdb.set(Arc::new(tsdb));
        Ok(())
    }

    /// The storage, once opened.
    pub fn tsdb(&self) -> Option<Arc<Tsdb>> {
        self.tsdb.get().cloned()
    }

    /// Sets how many queries run at once (before the first query; later calls change
    /// nothing).
    pub fn set_max_queries(&self, n: usize) {
        self.max_queries
            .store(n.max(1), std::sync::atomic::Ordering::Relaxed);
        let _ = self
            .query_slots
            .set(Arc::new(tokio::sync::Semaphore::new(n.max(1))));
    }

    /// The slots queries run in ([`query::limit::default_slots`] of them unless set).
    pub fn query_slots(&self) -> Arc<tokio::sync::Semaphore> {
        self.query_slots
            .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(query::limit::default_slots())))
            .clone()
    }

    /// The slots of one caller (a user, by id): at most half of all, so that no one caller
    /// holds every slot.
    pub(crate) fn caller_slots(&self, caller: &str) -> Arc<tokio::sync::Semaphore> {
        let total = match self.max_queries.load(std::sync::atomic::Ordering::Relaxed) {
            0 => query::limit::default_slots(),
            n => n,
        };
        self.query_callers.slots(caller, total)
    }

    /// Where Berth's own metrics come from.
    pub fn set_self_source(&self, source: SelfSource) {
        let _ = self.self_source.set(source);
    }

    pub(crate) fn self_metrics(&self) -> Option<String> {
        self.self_source.get().map(|f| f())
    }

    /// Sets what user-chosen addresses (static targets, remote URLs) may reach.
    pub fn set_outbound(&self, policy: outbound::Policy) {
        self.allow_loopback
            .store(policy.allow_loopback, std::sync::atomic::Ordering::SeqCst);
    }

    /// What user-chosen addresses may reach.
    pub fn outbound(&self) -> outbound::Policy {
        outbound::Policy {
            allow_loopback: self
                .allow_loopback
                .load(std::sync::atomic::Ordering::SeqCst),
        }
    }

    /// The nginx access log socket is bound (once; later calls keep the first).
    pub fn set_access_log(&self, c: Arc<access_log::Collector>) {
        let _ = self.access_log.set(c);
    }

    /// The nginx access log socket and its counts, once bound.
    pub fn access_log(&self) -> Option<Arc<access_log::Collector>> {
        self.access_log.get().cloned()
    }

    /// A secret value was written: what scrapes mask is read again before the next scrape
    /// of any target.
    pub fn secrets_changed(&self) {
        self.secrets_generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.changed();
    }

    pub(crate) fn secrets_generation(&self) -> u64 {
        self.secrets_generation
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Targets or settings changed: the scheduler looks again now.
    pub fn changed(&self) {
        self.wake.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    pub(crate) fn set_targets(&self, list: Vec<Target>) {
        let keys: std::collections::HashSet<&str> = list.iter().map(|t| t.key.as_str()).collect();
        self.health
            .lock()
            .expect("metrics health")
            .retain(|k, _| keys.contains(k.as_str()));
        *self.targets.lock().expect("metrics targets") = list;
    }

    pub(crate) fn record(&self, key: &str, at: i64, report: scrape::Report) {
        {
            let mut e = self.storage_error.lock().expect("metrics storage error");
            if report.storage_full {
                if e.is_none() {
                    tracing::error!(error = %report.error, "the metrics storage refused a write: scrapes pause until it takes writes again");
                }
                *e = Some(report.error.clone());
            } else if report.up {
                *e = None;
            }
        }
        self.health.lock().expect("metrics health").insert(
            key.to_string(),
            Health {
                last_scrape: Some(at),
                report,
            },
        );
    }

    pub(crate) fn set_remote_status(&self, s: HashMap<i64, remote::Status>) {
        *self.remote.lock().expect("metrics remote") = s;
    }

    /// How remote write of environment `env_id` goes, when it has one.
    pub fn remote_status(&self, env_id: i64) -> Option<remote::Status> {
        self.remote
            .lock()
            .expect("metrics remote")
            .get(&env_id)
            .cloned()
    }

    /// Why the storage refuses writes, while it does.
    pub fn storage_error(&self) -> Option<String> {
        self.storage_error
            .lock()
            .expect("metrics storage error")
            .clone()
    }

    /// Whether scrapes should wait (the storage refused the last write).
    pub(crate) fn paused(&self) -> bool {
        self.storage_error().is_some()
    }

    /// The targets of environment `env_id` with their health.
    pub fn target_views(&self, env_id: i64) -> Vec<ScrapeTargetView> {
        let targets = self.targets.lock().expect("metrics targets").clone();
        // While the storage refuses writes, every target but Berth's own (which probes for
        // space) waits: say so instead of the last scrape's outcome.
        let paused = self.paused();
        let health = self.health.lock().expect("metrics health");
        let mut out: Vec<ScrapeTargetView> = targets
            .iter()
            .filter(|t| t.env_id == Some(env_id))
            .map(|t| {
                let h = health.get(&t.key);
                ScrapeTargetView {
                    id: t.static_id,
                    kind: t.kind.as_str().to_string(),
                    job: t.job().to_string(),
                    instance: t.instance().to_string(),
                    url: display_url(&t.url),
                    labels: t
                        .labels
                        .iter()
                        .map(|l| (l.name.to_string(), l.value.to_string()))
                        .collect(),
                    interval_ms: t.interval_ms,
                    timeout_ms: t.timeout_ms,
                    health: match h {
                        _ if paused && t.kind != targets::Kind::Berth => "paused",
                        None => "unknown",
                        Some(h) if h.report.up => "up",
                        Some(_) => "down",
                    }
                    .to_string(),
                    last_scrape: h.and_then(|h| h.last_scrape),
                    last_duration_ms: h.map(|h| h.report.duration_ms),
                    last_samples: h.map(|h| h.report.samples),
                    last_error: match h {
                        _ if paused && t.kind != targets::Kind::Berth => PAUSED.to_string(),
                        Some(h) if h.report.storage_full => PAUSED.to_string(),
                        Some(h) => h.report.error.clone(),
                        None => String::new(),
                    },
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.job, &a.instance).cmp(&(&b.job, &b.instance)));
        out
    }
}

/// What a target says while the storage refuses writes (the storage's own error names
/// files of the server: it goes to the log, not to every project's viewers).
const PAUSED: &str = "scrapes paused: the metrics storage is out of disk space (or refused a \
                      write); they resume by themselves once there is room";

/// A URL as shown: scheme, host, path; query parameters (which may hold a token) left out.
pub(crate) fn display_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            if u.query().is_some() {
                u.set_query(Some("…"));
            }
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}
