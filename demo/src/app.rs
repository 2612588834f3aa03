//! Routing, and the state the handlers share: turns a parsed request into a response.

pub mod control;
pub mod pages;

use crate::config::Config;
use crate::http::query;
use crate::http::request::Head;
use crate::http::response::Response;
use crate::metrics::Metrics;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What `/_demo/crash` and `DEMO_CRASH_AFTER_SECS` call; tests swap out `process::exit`.
pub type ExitHook = Arc<dyn Fn(i32) + Send + Sync>;

pub struct State {
    pub config: Config,
    pub metrics: Metrics,
    healthy: AtomicBool,
    slow_ms: AtomicU64,
    /// Latency for one site only (`/_demo/slow?site=`), over `slow_ms`.
    slow_sites: Mutex<BTreeMap<String, u64>>,
    exit: ExitHook,
    started: Instant,
}

impl State {
    pub fn new(config: Config) -> Self {
        Self {
            healthy: AtomicBool::new(!config.start_unhealthy),
            slow_ms: AtomicU64::new(config.slow.as_millis() as u64),
            slow_sites: Mutex::default(),
            metrics: Metrics::default(),
            exit: Arc::new(|code| std::process::exit(code)),
            started: Instant::now(),
            config,
        }
    }

    pub fn with_exit_hook(mut self, hook: ExitHook) -> Self {
        self.exit = hook;
        self
    }

    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::SeqCst)
    }

    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::SeqCst);
    }

    pub fn slow(&self) -> Duration {
        Duration::from_millis(self.slow_ms.load(Ordering::SeqCst))
    }

    pub fn set_slow(&self, slow: Duration) {
        self.slow_ms
            .store(slow.as_millis() as u64, Ordering::SeqCst);
    }

    /// Extra latency for `site` alone (zero removes it); other sites keep [`State::slow`].
    pub fn set_slow_site(&self, site: &str, slow: Duration) {
        let mut sites = self
            .slow_sites
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match slow.is_zero() {
            true => sites.remove(site),
            false => sites.insert(site.to_string(), slow.as_millis() as u64),
        };
    }

    /// The latency a request for `site` gets: the site's own, else everyone's.
    pub fn slow_for(&self, site: &str) -> Duration {
        let sites = self
            .slow_sites
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sites
            .get(site)
            .map_or_else(|| self.slow(), |ms| Duration::from_millis(*ms))
    }

    pub fn exit_hook(&self) -> ExitHook {
        Arc::clone(&self.exit)
    }

    /// Time since the state was built, plus `DEMO_CLOCK_OFFSET_SECS`: the clock the imitated
    /// exporters' values follow.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed() + self.config.clock_offset
    }
}

/// A request whose head, site and body were read and validated by the connection.
pub struct Request<'a> {
    pub head: &'a Head,
    pub site: &'a str,
    pub body: &'a [u8],
}

impl Request<'_> {
    /// A parameter from the query string, else from a form-encoded body.
    pub fn param(&self, name: &str) -> Option<String> {
        query::param(&self.head.query, name)
            .or_else(|| query::param(&String::from_utf8_lossy(self.body), name))
    }
}

/// A response, and the `view` label it is counted under in the metrics.
pub struct Routed {
    pub response: Response,
    pub view: &'static str,
}

type Handler = fn(&State, &Request<'_>) -> Response;

struct Route {
    path: &'static str,
    view: &'static str,
    post: bool,
    handler: Handler,
}

const fn route(path: &'static str, view: &'static str, post: bool, handler: Handler) -> Route {
    Route {
        path,
        view,
        post,
        handler,
    }
}

const ROUTES: [Route; 8] = [
    route("/", "index", false, pages::index),
    route("/api/health", "health", false, pages::health),
    route("/api/feed", "feed", false, pages::feed),
    route("/api/version", "version", false, pages::version),
    route("/metrics", "metrics", false, pages::metrics),
    route("/_demo/health", "demo_health", true, control::health),
    route("/_demo/slow", "demo_slow", true, control::slow),
    route("/_demo/crash", "demo_crash", true, control::crash),
];

pub fn handle(state: &State, req: &Request<'_>) -> Routed {
    let path = normalize(&req.head.path);
    // The control endpoints stay fast so a test can always turn the slowness off again.
    if !path.starts_with("/_demo/") {
        std::thread::sleep(state.slow_for(req.site));
    }
    let Some(route) = ROUTES.iter().find(|r| r.path == path) else {
        let response = pages::not_found(&req.head.path);
        return Routed {
            response,
            view: "not_found",
        };
    };
    let method = req.head.method.as_str();
    let allowed = match route.post {
        true => method == "POST",
        false => method == "GET" || method == "HEAD",
    };
    let response = match allowed {
        true => (route.handler)(state, req),
        false => method_not_allowed(route.post),
    };
    Routed {
        response,
        view: route.view,
    }
}

/// `/api/health/` is `/api/health`, as Django's `APPEND_SLASH` would have it.
fn normalize(path: &str) -> &str {
    match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    }
}

fn method_not_allowed(post: bool) -> Response {
    let allow = if post { "POST" } else { "GET, HEAD" };
    Response::error(405, "method not allowed").with_header("Allow", allow)
}
