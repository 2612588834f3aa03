//! The edge proxy configuration of an environment, generated from its sites and services.
//!
//! The reference shape is the seed's `nginx/multi-site.conf`: upstreams, a log format, one
//! `server` block per site with its hostnames, TLS, security headers and routes, and an
//! HTTP→HTTPS redirect. [`render`] produces a file meant to be included in nginx's `http { }`
//! context (like a `sites-enabled/` file); [`validate_with_nginx`] checks it with `nginx -t`.
//!
//! # An injection boundary
//! Hostnames, paths, file names and upstream addresses come from users. Nginx has no quoting
//! that would make arbitrary text safe, so every value written into the file is checked
//! against a strict character set first (no `;`, `{`, `}`, quotes, `$`, `#`, `\`, whitespace or
//! control characters), and [`render`] refuses the whole config when anything fails. Nothing
//! is escaped: a value is either plainly safe or rejected with a [`RenderError`].
//!
//! # Differences from the seed, on purpose
//! - The redirect server uses `$host`, not `$server_name`: `$server_name` is the *first* name
//!   of the block, so a request for an alias (`www.site-a.com`) would be sent to another host.
//! - When a site is redirected, its own block listens on the HTTPS port only, so the port-80
//!   redirect block does not conflict with it (nginx would warn and ignore one of them).
//! - The seed's `ssl_ciphers` (`…-GCM-SHA512`) name suites that do not exist; a current
//!   TLS 1.2 list is used instead (TLS 1.3 suites are not configured by `ssl_ciphers`).
//! - `X-XSS-Protection` is obsolete (and harmful in old browsers); `Referrer-Policy` is sent.
//! - The seed's `proxy_cache_*` lines do nothing without a `proxy_cache` zone; they are left out.
//! - `add_header` in a `location` cancels every `add_header` inherited from the `server`, so
//!   file locations (which add `Cache-Control`) repeat the security headers.
//! - A site with no `/` route gets `location / { return 404; }` rather than nginx's default
//!   document root.
//!
//! # Upstreams without servers
//! A service used by a route but with no running servers (scaled to 0, not deployed yet) gets
//! `server 127.0.0.1:9 down;` — a placeholder so that `nginx -t` still passes (an `upstream`
//! block needs at least one server) and requests to it fail fast with 502 instead of hanging.
use crate::model::{ProxySettings, SiteSpec};

pub mod access_log;
mod plan;
mod validate;
mod values;
mod write;

pub use access_log::AccessLogSink;
pub use plan::render;
pub use validate::{find_nginx, validate_with_nginx, NGINX_CHECK_TIMEOUT};
pub use values::check_hostname;

/// The servers of one service, as nginx reaches them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Upstream {
    /// The service name (as in routes).
    pub service: String,
    /// `host:port`: `127.0.0.1:49153`, `container:8000`, `[::1]:8000`.
    pub servers: Vec<String>,
}

/// Everything [`render`] needs.
#[derive(Clone, Copy, Debug)]
pub struct RenderInput<'a> {
    /// Environment slug: picks `SiteSpec::hosts[environment]` and `SiteSpec::tls[environment]`.
    pub environment: &'a str,
    /// Makes the upstream and log-format names unique when one nginx serves several
    /// environments (`shop_production` → `upstream berth_shop_production_web`); empty: none.
    pub namespace: &'a str,
    pub sites: &'a [SiteSpec],
    pub upstreams: &'a [Upstream],
    pub proxy: &'a ProxySettings,
    /// Directory for per-site `access_log` and `error_log` files (none: nginx's defaults).
    pub log_dir: Option<&'a str>,
    /// Where nginx sends Berth's metrics access log (per-site request metrics; see
    /// [`access_log`]), besides any file log; none: not sent.
    pub access_log: Option<&'a AccessLogSink>,
}

/// Why a config was not rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{field}: {message}", if site.is_empty() { String::new() } else { format!("site `{site}`: ") })]
pub struct RenderError {
    /// The site's name; empty for environment-level settings (ports, log dir, upstreams).
    pub site: String,
    /// e.g. `hosts.primary`, `routes[/api/].path`, `tls.certificate`, `proxy.http_port`.
    pub field: String,
    pub message: String,
}

/// The outcome of `nginx -t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NginxCheck {
    pub ok: bool,
    /// What nginx printed (stderr, then stdout).
    pub output: String,
}

/// The placeholder server of an upstream with no servers (see the module docs).
pub const DOWN_PLACEHOLDER: &str = "127.0.0.1:9";
