//! [`render`]: every value of the input checked, the sites planned (hostnames, TLS, routes
//! in order), then written out by [`super::write`].
use super::values::{
    check_abs_path, check_expires, check_hostname, check_route_path, check_server_address,
    check_service_name, show,
};
use super::write::write_config;
use super::{RenderError, RenderInput};
use crate::model::{Route, RouteTarget, SiteSpec};
use std::collections::{BTreeMap, BTreeSet};

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
pub(super) struct PlannedSite<'a> {
    pub(super) name: &'a str,
    pub(super) names: Vec<String>,
    pub(super) tls: Option<(&'a str, &'a str)>,
    pub(super) routes: Vec<&'a Route>,
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

    if let Some(sink) = input.access_log {
        if let Err(m) = sink.check() {
            errors.push("", "access_log", m);
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
