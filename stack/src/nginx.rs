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
use crate::model::{ProxySettings, Route, RouteTarget, SiteSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

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

const LOG_FORMAT: &str = "berth_multi_site";

/// TLS 1.2 suites (Mozilla "intermediate"); TLS 1.3 suites are OpenSSL's defaults.
const SSL_CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

struct Errors(Vec<RenderError>);

impl Errors {
    fn push(&mut self, site: &str, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(RenderError {
            site: site.to_string(),
            field: field.into(),
            message: message.into(),
        });
    }
}

/// A site as it will be written, after validation.
struct PlannedSite<'a> {
    name: &'a str,
    names: Vec<String>,
    tls: Option<(&'a str, &'a str)>,
    routes: Vec<&'a Route>,
}

/// Render the nginx configuration of `input.environment`. Sites with no hostnames in this
/// environment are left out. Deterministic: the same input gives the same bytes, whatever the
/// order of sites, aliases, routes, upstreams and servers.
pub fn render(input: &RenderInput) -> Result<String, Vec<RenderError>> {
    let mut errors = Errors(Vec::new());
    let env = input.environment;
    let proxy = input.proxy;

    if !input
        .namespace
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        errors.push("", "namespace", "only letters, digits, `-` and `_`");
    }
    if proxy.http_port == 0 {
        errors.push("", "proxy.http_port", "must be a port number (1-65535)");
    }
    if proxy.https_port == Some(0) {
        errors.push("", "proxy.https_port", "must be a port number (1-65535)");
    }
    if !proxy.listen_address.is_empty() && proxy.listen_address.parse::<std::net::IpAddr>().is_err()
    {
        errors.push(
            "",
            "proxy.listen_address",
            "must be an IP address (e.g. 127.0.0.1) or empty for all addresses",
        );
    }
    if proxy.https_port == Some(proxy.http_port) {
        errors.push("", "proxy.https_port", "must differ from the HTTP port");
    }
    if let Some(dir) = input.log_dir {
        if let Err(m) = check_abs_path(dir) {
            errors.push("", "log_dir", m);
        }
    }

    // Upstreams by service name; servers sorted and de-duplicated.
    let mut upstreams: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for up in input.upstreams {
        if let Err(m) = check_service_name(&up.service) {
            errors.push("", format!("upstreams[{}].service", show(&up.service)), m);
            continue;
        }
        if upstreams.contains_key(up.service.as_str()) {
            errors.push(
                "",
                format!("upstreams[{}]", up.service),
                "the service is listed twice",
            );
            continue;
        }
        let mut servers = BTreeSet::new();
        for server in &up.servers {
            match check_server_address(server) {
                Ok(()) => {
                    servers.insert(server.as_str());
                }
                Err(m) => errors.push(
                    "",
                    format!("upstreams[{}].servers[{}]", up.service, show(server)),
                    m,
                ),
            }
        }
        upstreams.insert(up.service.as_str(), servers);
    }

    // Sites, sorted by name.
    let mut sites: Vec<&SiteSpec> = input.sites.iter().collect();
    sites.sort_by(|a, b| a.name.cmp(&b.name));
    let mut seen_site_names = BTreeSet::new();
    let mut host_owner: BTreeMap<String, &str> = BTreeMap::new();
    let mut used_services: BTreeSet<&str> = BTreeSet::new();
    let mut planned = Vec::new();

    for site in sites {
        let name = site.name.as_str();
        if name.trim().is_empty() {
            errors.push(name, "name", "a site needs a name");
        } else if name.chars().any(char::is_control) {
            errors.push(name, "name", "must not contain control characters");
        } else if !seen_site_names.insert(name) {
            errors.push(name, "name", "two sites have this name");
        }
        let Some(hosts) = site.hosts.get(env) else {
            continue;
        };
        if hosts.primary.trim().is_empty() && hosts.aliases.is_empty() {
            continue;
        }

        // Hostnames: primary first, then the aliases sorted.
        let mut names = Vec::new();
        let mut candidates = vec![("hosts.primary".to_string(), &hosts.primary)];
        let mut aliases: Vec<&String> = hosts.aliases.iter().collect();
        aliases.sort();
        candidates.extend(
            aliases
                .into_iter()
                .map(|a| (format!("hosts.aliases[{}]", show(a)), a)),
        );
        for (field, host) in candidates {
            let host = host.to_ascii_lowercase();
            if let Err(m) = check_hostname(&host) {
                errors.push(name, field, m);
                continue;
            }
            match host_owner.get(&host) {
                Some(owner) if *owner == name => errors.push(
                    name,
                    field,
                    format!("`{host}` is listed twice in this site"),
                ),
                Some(owner) => errors.push(
                    name,
                    field,
                    format!("`{host}` is already used by site `{owner}` in environment `{env}`"),
                ),
                None => {
                    host_owner.insert(host.clone(), name);
                    names.push(host);
                }
            }
        }

        // TLS.
        let tls = match site.tls.get(env) {
            Some(t) if !(t.certificate.is_empty() && t.certificate_key.is_empty()) => {
                let mut ok = true;
                for (field, path) in [
                    ("tls.certificate", &t.certificate),
                    ("tls.certificate_key", &t.certificate_key),
                ] {
                    if let Err(m) = check_abs_path(path) {
                        errors.push(name, field, m);
                        ok = false;
                    }
                }
                if proxy.https_port.is_none() {
                    errors.push(
                        name,
                        "tls",
                        format!(
                            "the site has certificates but environment `{env}` has no HTTPS port"
                        ),
                    );
                    ok = false;
                }
                ok.then_some((t.certificate.as_str(), t.certificate_key.as_str()))
            }
            _ => None,
        };

        // Routes: unique paths, longest first.
        let mut paths = BTreeSet::new();
        let mut routes = Vec::new();
        for route in &site.routes {
            let field = format!("routes[{}]", show(&route.path));
            if let Err(m) = check_route_path(&route.path) {
                errors.push(name, format!("{field}.path"), m);
                continue;
            }
            if !paths.insert(route.path.as_str()) {
                errors.push(name, format!("{field}.path"), "two routes have this path");
                continue;
            }
            match &route.target {
                RouteTarget::Service { service } => {
                    if upstreams.contains_key(service.as_str()) {
                        used_services.insert(service.as_str());
                    } else {
                        errors.push(
                            name,
                            format!("{field}.service"),
                            format!("unknown service `{}` in environment `{env}`", show(service)),
                        );
                        continue;
                    }
                }
                RouteTarget::Files { root, expires } => {
                    if !route.path.ends_with('/') {
                        errors.push(
                            name,
                            format!("{field}.path"),
                            "a files route must end with `/` (an `alias` under a prefix without \
                             it lets `..` escape the directory)",
                        );
                        continue;
                    }
                    if let Err(m) = check_abs_path(root) {
                        errors.push(name, format!("{field}.root"), m);
                        continue;
                    }
                    if let Err(m) = check_expires(expires) {
                        errors.push(name, format!("{field}.expires"), m);
                        continue;
                    }
                }
            }
            routes.push(route);
        }
        routes.sort_by(|a, b| b.path.len().cmp(&a.path.len()).then(a.path.cmp(&b.path)));

        planned.push(PlannedSite {
            name,
            names,
            tls,
            routes,
        });
    }

    if !errors.0.is_empty() {
        return Err(errors.0);
    }
    Ok(write_config(input, &upstreams, &used_services, &planned))
}

fn write_config(
    input: &RenderInput,
    upstreams: &BTreeMap<&str, BTreeSet<&str>>,
    used: &BTreeSet<&str>,
    sites: &[PlannedSite],
) -> String {
    let proxy = input.proxy;
    let mut out = String::with_capacity(2048 + sites.len() * 2048);
    // `write!` to a String cannot fail.
    let _ = writeln!(
        out,
        "# Generated by Berth for environment `{}`. Do not edit: it is rewritten on every deploy.",
        comment_safe(input.environment)
    );
    out.push_str("# Include it in nginx's `http { }` context.\n\n");

    let prefix = if input.namespace.is_empty() {
        "berth_".to_string()
    } else {
        format!("berth_{}_", input.namespace)
    };
    let log_format = if input.namespace.is_empty() {
        LOG_FORMAT.to_string()
    } else {
        format!("berth_{}_multi_site", input.namespace)
    };
    for service in used {
        let _ = writeln!(out, "upstream {prefix}{service} {{");
        out.push_str("    least_conn;\n");
        let servers = &upstreams[service];
        if servers.is_empty() {
            out.push_str("    # No running servers: a placeholder so requests fail fast.\n");
            let _ = writeln!(out, "    server {DOWN_PLACEHOLDER} down;");
        }
        for server in servers {
            let _ = writeln!(out, "    server {server} max_fails=3 fail_timeout=30s;");
        }
        out.push_str("}\n\n");
    }

    let _ = writeln!(
        out,
        "log_format {log_format} '$remote_addr - $remote_user [$time_local] '\n\
         \x20                        '\"$request\" $status $body_bytes_sent '\n\
         \x20                        '\"$http_referer\" \"$http_user_agent\" '\n\
         \x20                        '\"$http_host\" $request_time';\n"
    );

    let mut redirected: Vec<&str> = Vec::new();
    for site in sites {
        let https_port = proxy.https_port.filter(|_| site.tls.is_some());
        let redirect = https_port.is_some() && proxy.redirect_http;
        let _ = writeln!(out, "# site: {}", comment_safe(site.name));
        out.push_str("server {\n");
        if !redirect {
            let _ = writeln!(out, "    listen {};", listen(proxy, proxy.http_port));
        }
        if let Some(port) = https_port {
            let _ = writeln!(out, "    listen {} ssl http2;", listen(proxy, port));
        }
        let _ = writeln!(out, "    server_name {};", site.names.join(" "));
        out.push_str("    server_tokens off;\n");
        if let Some((cert, key)) = site.tls {
            out.push('\n');
            let _ = writeln!(out, "    ssl_certificate {cert};");
            let _ = writeln!(out, "    ssl_certificate_key {key};");
            out.push_str("    ssl_protocols TLSv1.2 TLSv1.3;\n");
            let _ = writeln!(out, "    ssl_ciphers {SSL_CIPHERS};");
            out.push_str("    ssl_prefer_server_ciphers off;\n");
        }
        let hsts = site.tls.is_some() && proxy.hsts_max_age > 0;
        out.push('\n');
        security_headers(&mut out, "    ", hsts, proxy.hsts_max_age);
        if let Some(dir) = input.log_dir {
            let stem = site.names[0].replace("*.", "wildcard.");
            let dir = dir.trim_end_matches('/');
            out.push('\n');
            let _ = writeln!(out, "    access_log {dir}/{stem}.access.log {log_format};");
            let _ = writeln!(out, "    error_log {dir}/{stem}.error.log;");
        }
        for route in &site.routes {
            out.push('\n');
            let _ = writeln!(out, "    location {} {{", route.path);
            match &route.target {
                RouteTarget::Service { service } => {
                    let _ = writeln!(out, "        proxy_pass http://{prefix}{service};");
                    out.push_str(
                        "        proxy_set_header Host $host;\n\
                         \x20       proxy_set_header X-Real-IP $remote_addr;\n\
                         \x20       proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
                         \x20       proxy_set_header X-Forwarded-Proto $scheme;\n\
                         \x20       proxy_set_header X-Forwarded-Host $host;\n\
                         \x20       proxy_set_header X-Forwarded-Port $server_port;\n\
                         \x20       proxy_connect_timeout 30s;\n\
                         \x20       proxy_send_timeout 60s;\n\
                         \x20       proxy_read_timeout 60s;\n",
                    );
                }
                RouteTarget::Files { root, expires } => {
                    let slash = if root.ends_with('/') { "" } else { "/" };
                    let _ = writeln!(out, "        alias {root}{slash};");
                    let expires = expires.trim();
                    if !expires.is_empty() {
                        let _ = writeln!(out, "        expires {expires};");
                    }
                    let cache = if expires == "max" {
                        "public, immutable"
                    } else {
                        "public"
                    };
                    let _ = writeln!(out, "        add_header Cache-Control \"{cache}\" always;");
                    out.push_str("        # add_header here cancels the server's: repeat them.\n");
                    security_headers(&mut out, "        ", hsts, proxy.hsts_max_age);
                }
            }
            out.push_str("    }\n");
        }
        if !site.routes.iter().any(|r| r.path == "/") {
            out.push_str("\n    location / {\n        return 404;\n    }\n");
        }
        out.push_str("}\n\n");
        if redirect {
            redirected.extend(site.names.iter().map(String::as_str));
        }
    }

    if !redirected.is_empty() {
        out.push_str(
            "# HTTP to HTTPS. `$host`, not `$server_name`: aliases keep their own name.\n",
        );
        out.push_str("server {\n");
        let _ = writeln!(out, "    listen {};", listen(proxy, proxy.http_port));
        let _ = writeln!(out, "    server_name {};", redirected.join(" "));
        out.push_str("    server_tokens off;\n");
        let https = proxy.https_port.unwrap_or(443);
        if https == 443 {
            out.push_str("    return 301 https://$host$request_uri;\n");
        } else {
            let _ = writeln!(out, "    return 301 https://$host:{https}$request_uri;");
        }
        out.push_str("}\n");
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn security_headers(out: &mut String, indent: &str, hsts: bool, max_age: u32) {
    let _ = writeln!(out, "{indent}add_header X-Frame-Options DENY always;");
    let _ = writeln!(
        out,
        "{indent}add_header X-Content-Type-Options nosniff always;"
    );
    let _ = writeln!(
        out,
        "{indent}add_header Referrer-Policy strict-origin-when-cross-origin always;"
    );
    if hsts {
        let _ = writeln!(
            out,
            "{indent}add_header Strict-Transport-Security \"max-age={max_age}; includeSubDomains\" always;"
        );
    }
}

/// For messages: a value with control characters shown escaped, long values cut.
fn show(value: &str) -> String {
    let escaped: String = value.escape_debug().collect();
    if escaped.chars().count() > 80 {
        let cut: String = escaped.chars().take(80).collect();
        format!("{cut}…")
    } else {
        escaped
    }
}

/// Comments end at a newline: keep them on one line.
fn comment_safe(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Characters that break or change an nginx config when written bare.
fn unsafe_char(c: char) -> Option<String> {
    match c {
        ';' | '{' | '}' | '"' | '\'' | '`' | '$' | '#' | '\\' => Some(format!("`{c}`")),
        c if c.is_whitespace() || c.is_control() => {
            Some(format!("{:?}", c).trim_matches('\'').to_string() + " (whitespace or control)")
        }
        c if !c.is_ascii() => Some(format!("`{c}` (non-ASCII)")),
        _ => None,
    }
}

fn reject_unsafe(value: &str) -> Result<(), String> {
    match value.chars().find_map(unsafe_char) {
        Some(c) => Err(format!(
            "contains {c}, which is not allowed in the nginx configuration"
        )),
        None => Ok(()),
    }
}

/// RFC 1123 hostname, lower case; a leading `*.` wildcard is allowed.
pub fn check_hostname(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("a hostname is required".into());
    }
    reject_unsafe(host)?;
    let bare = host.strip_prefix("*.").unwrap_or(host);
    if bare.len() > 253 {
        return Err("a hostname is at most 253 characters".into());
    }
    if bare.contains('*') {
        return Err("a wildcard is only allowed as a leading `*.`".into());
    }
    for label in bare.split('.') {
        if label.is_empty() {
            return Err(format!("`{}` has an empty label", show(host)));
        }
        if label.len() > 63 {
            return Err("a hostname label is at most 63 characters".into());
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "`{}`: a label has only letters, digits and `-`",
                show(host)
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "`{}`: a label cannot start or end with `-`",
                show(host)
            ));
        }
    }
    Ok(())
}

/// A service name usable in `upstream berth_<name>`.
fn check_service_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err("a service name has 1 to 63 characters".into());
    }
    reject_unsafe(name)?;
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("a service name has only letters, digits, `-` and `_`".into());
    }
    Ok(())
}

/// `host:port` or `[v6]:port`.
fn check_server_address(server: &str) -> Result<(), String> {
    reject_unsafe(server)?;
    let (host, port) = if let Some(rest) = server.strip_prefix('[') {
        let (v6, port) = rest.split_once("]:").ok_or("expected `[address]:port`")?;
        v6.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("`{v6}` is not an IPv6 address"))?;
        ("", port)
    } else {
        server.rsplit_once(':').ok_or("expected `host:port`")?
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 => {}
        _ => return Err(format!("`{}` is not a port number", show(port))),
    }
    if !host.is_empty() || !server.starts_with('[') {
        check_hostname(&host.to_ascii_lowercase())?;
    }
    Ok(())
}

/// A location prefix: starts with `/`, no `..` segment, only URL-safe characters.
fn check_route_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("must start with `/`".into());
    }
    reject_unsafe(path)?;
    if path.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err("must not contain `.` or `..` segments".into());
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/-._~%+,=:@!*()".contains(*c)))
    {
        return Err(format!("`{c}` is not allowed in a route path"));
    }
    Ok(())
}

/// An absolute file-system path without `..`.
fn check_abs_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("must be an absolute path".into());
    }
    reject_unsafe(path)?;
    if path.split('/').any(|seg| seg == "..") {
        return Err("must not contain `..`".into());
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/-._~+,=:@".contains(*c)))
    {
        return Err(format!("`{c}` is not allowed in a path"));
    }
    Ok(())
}

/// nginx `expires`: empty (none), `off`, `epoch`, `max`, or a time like `30d`, `1y`, `12h`.
fn check_expires(expires: &str) -> Result<(), String> {
    let e = expires.trim();
    if e.is_empty() || matches!(e, "off" | "epoch" | "max") {
        return Ok(());
    }
    let digits = e.trim_end_matches(|c: char| "smhdwMy".contains(c));
    let unit = &e[digits.len()..];
    if !digits.is_empty()
        && digits.len() <= 9
        && digits.bytes().all(|b| b.is_ascii_digit())
        && unit.len() <= 1
    {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an nginx time (e.g. `30d`, `1y`, `max`, `off`)",
            show(expires)
        ))
    }
}

/// A `listen` argument: `port`, `127.0.0.1:port` or `[::1]:port`.
fn listen(proxy: &ProxySettings, port: u16) -> String {
    match proxy.listen_address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(a)) => format!("[{a}]:{port}"),
        Ok(a) => format!("{a}:{port}"),
        Err(_) => port.to_string(),
    }
}

/// The nginx binary: the first `nginx` on `PATH`, else the usual sbin locations.
pub fn find_nginx() -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    from_path
        .into_iter()
        .map(|dir| dir.join("nginx"))
        .chain(
            [
                "/usr/sbin/nginx",
                "/usr/local/sbin/nginx",
                "/usr/local/nginx/sbin/nginx",
            ]
            .map(PathBuf::from),
        )
        .find(|p| p.is_file())
}

/// Check a config from [`render`] with the real `nginx -t`.
///
/// The config is wrapped in a minimal `nginx.conf` (its own `pid`, `error_log`, temp paths
/// and `events {}`, the config included inside `http { }`) in a private temporary directory,
/// so this needs no root and touches nothing of the system's nginx. Nginx opens every file
/// the config names: TLS certificates and keys must exist and be readable, and the log
/// directory writable, or the check fails saying so.
///
/// Returns `Err` with kind `NotFound` when nginx is not installed.
pub fn validate_with_nginx(config: &str) -> Result<NginxCheck, std::io::Error> {
    let nginx = find_nginx().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "nginx not installed here (looked on PATH and in /usr/sbin, /usr/local/sbin)",
        )
    })?;
    let dir = TempDir::new("berth-nginx-check")?;
    let root = dir.path();
    let r = root.display();
    std::fs::write(root.join("berth.conf"), config)?;
    let main = format!(
        "pid {r}/nginx.pid;\n\
         error_log {r}/error.log;\n\
         events {{}}\n\
         http {{\n\
         \x20   access_log {r}/access.log;\n\
         \x20   client_body_temp_path {r}/body;\n\
         \x20   proxy_temp_path {r}/proxy;\n\
         \x20   fastcgi_temp_path {r}/fastcgi;\n\
         \x20   uwsgi_temp_path {r}/uwsgi;\n\
         \x20   scgi_temp_path {r}/scgi;\n\
         \x20   include {r}/berth.conf;\n\
         }}\n"
    );
    std::fs::write(root.join("nginx.conf"), main)?;
    let mut child = Command::new(&nginx)
        .arg("-t")
        .arg("-p")
        .arg(root)
        .arg("-e")
        .arg(root.join("error.log"))
        .arg("-c")
        .arg(root.join("nginx.conf"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // A file the config names on a hung mount must not hold the caller forever.
    let deadline = std::time::Instant::now() + NGINX_CHECK_TIMEOUT;
    while child.try_wait()?.is_none() {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "nginx -t did not finish in {} s",
                    NGINX_CHECK_TIMEOUT.as_secs()
                ),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = child.wait_with_output()?;
    let mut output = String::from_utf8_lossy(&out.stderr).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stdout));
    Ok(NginxCheck {
        ok: out.status.success(),
        output,
    })
}

/// How long `nginx -t` may take.
pub const NGINX_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// A private directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> std::io::Result<TempDir> {
        use rand::Rng;
        let base = std::env::temp_dir();
        for _ in 0..16 {
            let suffix: u64 = rand::thread_rng().gen();
            let path = base.join(format!("{prefix}-{suffix:016x}"));
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            match builder.create(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "could not create a temporary directory",
        ))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
