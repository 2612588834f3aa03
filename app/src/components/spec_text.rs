//! The text formats of the site and service forms, both ways: a spec shown as the text that
//! pre-fills an edit form. `spec_parse` (server side) reads the text back into the spec.
//!
//! Site: `hosts` lines `production: site-a.com www.site-a.com` (primary first, then
//! aliases); `routes` lines `/api/ -> service authoring` or `/static/ -> files /app/static/ 1y`;
//! `smoke_checks` lines `/api/feed?size=1 | .items non-empty | .debug.site == ${HOST}`;
//! `tls` lines `production: /path/site.crt /path/site.key`.
//! Service: `env` lines `KEY=value`; `ports` lines `127.0.0.1:8080:80/tcp`, `8080:80`, `80`;
//! `volumes` lines `source:/target[:ro]`; `pre_deploy` lines `migrate: python manage.py migrate`.
use stack::model::{
    Job, JsonAssertion, PortSpec, Route, RouteTarget, SiteHosts, SmokeCheck, TlsFiles, VolumeSpec,
};
use std::collections::BTreeMap;

/// `None` as empty, else the value.
pub fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

pub fn hosts_text(hosts: &BTreeMap<String, SiteHosts>) -> String {
    hosts
        .iter()
        .map(|(env, h)| {
            let names: Vec<&str> = std::iter::once(h.primary.as_str())
                .chain(h.aliases.iter().map(String::as_str))
                .collect();
            format!("{env}: {}", names.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn routes_text(routes: &[Route]) -> String {
    routes
        .iter()
        .map(|r| match &r.target {
            RouteTarget::Service { service } => format!("{} -> service {service}", r.path),
            RouteTarget::Files { root, expires } if expires.is_empty() => {
                format!("{} -> files {root}", r.path)
            }
            RouteTarget::Files { root, expires } => format!("{} -> files {root} {expires}", r.path),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn smoke_text(checks: &[SmokeCheck]) -> String {
    checks
        .iter()
        .map(|c| {
            let mut parts = vec![c.path.clone()];
            parts.extend(c.assertions.iter().map(|a| match a {
                JsonAssertion::NonEmpty { pointer } => format!("{pointer} non-empty"),
                JsonAssertion::Equals { pointer, value } => format!("{pointer} == {value}"),
            }));
            parts.join(" | ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn tls_text(tls: &BTreeMap<String, TlsFiles>) -> String {
    tls.iter()
        .map(|(env, t)| format!("{env}: {} {}", t.certificate, t.certificate_key))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One shell word, quoted only when it must be (no expansion happens, so `$` is plain).
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || "-_./:=@%+,${}".contains(c)
                || (!c.is_ascii() && !c.is_whitespace())
        });
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// argv as a shell-like command line (`stack::compose::shell_split` reads it back).
pub fn command_text(argv: &[String]) -> String {
    argv.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

pub fn env_text(env: &BTreeMap<String, String>) -> String {
    env.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn ports_text(ports: &[PortSpec]) -> String {
    ports
        .iter()
        .map(|p| {
            let mut s = match (p.host_ip.as_str(), p.host_port) {
                ("", None) => p.container_port.to_string(),
                ("", Some(h)) => format!("{h}:{}", p.container_port),
                (ip, h) => format!("{ip}:{}:{}", opt(h), p.container_port),
            };
            if !p.protocol.is_empty() {
                s = format!("{s}/{}", p.protocol);
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn volumes_text(volumes: &[VolumeSpec]) -> String {
    volumes
        .iter()
        .map(|v| {
            let ro = if v.read_only { ":ro" } else { "" };
            let ext = if v.external { ":external" } else { "" };
            format!("{}:{}{ro}{ext}", v.source, v.target)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn jobs_text(jobs: &[Job]) -> String {
    jobs.iter()
        .map(|j| format!("{}: {}", j.name, command_text(&j.command)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Bytes in the largest binary unit that divides them exactly (`4G`), as compose writes it.
pub fn memory_text(bytes: Option<u64>) -> String {
    let Some(bytes) = bytes else {
        return String::new();
    };
    for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        if bytes > 0 && bytes % (1u64 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// A site as the form's fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SiteText {
    pub name: String,
    pub hosts: String,
    pub routes: String,
    pub health_path: String,
    pub smoke_checks: String,
    pub tls: String,
    pub cache_timeout_secs: String,
}

impl SiteText {
    pub fn of(s: &stack::model::SiteSpec) -> Self {
        SiteText {
            name: s.name.clone(),
            hosts: hosts_text(&s.hosts),
            routes: routes_text(&s.routes),
            health_path: s.health_path.clone(),
            smoke_checks: smoke_text(&s.smoke_checks),
            tls: tls_text(&s.tls),
            cache_timeout_secs: s.cache_timeout_secs.to_string(),
        }
    }
}

/// A service as the form's fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceText {
    pub name: String,
    pub image: String,
    pub replicas: String,
    pub command: String,
    pub env: String,
    /// `all` (every application variable) or `listed` (only the names in `inherit`).
    pub inherit_mode: String,
    /// Names, separated by spaces, commas or lines.
    pub inherit: String,
    pub ports: String,
    pub volumes: String,
    pub cpu_limit: String,
    pub memory_limit: String,
    pub cpu_reservation: String,
    pub memory_reservation: String,
    pub http_port: String,
    pub health_path: String,
    pub health_command: String,
    pub health_interval: String,
    pub health_timeout: String,
    pub health_retries: String,
    pub health_start_period: String,
    pub pre_deploy: String,
    /// empty (by the service's shape), `rolling`, `recreate` or `manual`.
    pub update: String,
    /// `service` or `service: condition`, one per line.
    pub depends_on: String,
    /// empty (Berth's default, unless-stopped) or a compose restart policy.
    pub restart: String,
    /// `on` when the service is not reachable through the proxy.
    pub internal: String,
    /// Seconds between SIGTERM and SIGKILL; empty: the environment's setting.
    pub stop_grace: String,
    /// `option: value` lines (see `spec_parse::parse_runtime`).
    pub runtime: String,
    /// empty (`/metrics` on the HTTP port), `off`, `/path`, `:port` or `:port/path`.
    pub metrics: String,
}

/// The dependencies as form lines.
pub fn depends_text(deps: &[stack::lifecycle::Dependency]) -> String {
    deps.iter()
        .map(|d| format!("{}: {}", d.service, d.condition.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The runtime options as form lines (stop grace has its own field).
pub fn runtime_text(rt: &stack::lifecycle::RuntimeOptions) -> String {
    let mut out = Vec::new();
    if !rt.entrypoint.is_empty() {
        out.push(format!("entrypoint: {}", command_text(&rt.entrypoint)));
    }
    if !rt.user.is_empty() {
        out.push(format!("user: {}", rt.user));
    }
    if !rt.working_dir.is_empty() {
        out.push(format!("working_dir: {}", rt.working_dir));
    }
    if let Some(b) = rt.shm_size {
        out.push(format!("shm_size: {b}"));
    }
    for (name, u) in &rt.ulimits {
        out.push(format!("ulimit {name}: {}:{}", u.soft, u.hard));
    }
    out.extend(rt.tmpfs.iter().map(|t| format!("tmpfs: {t}")));
    if !rt.cap_add.is_empty() {
        out.push(format!("cap_add: {}", rt.cap_add.join(" ")));
    }
    if !rt.cap_drop.is_empty() {
        out.push(format!("cap_drop: {}", rt.cap_drop.join(" ")));
    }
    out.extend(rt.extra_hosts.iter().map(|h| format!("extra_host: {h}")));
    out.join("\n")
}

impl ServiceText {
    pub fn of(s: &stack::model::ServiceSpec) -> Self {
        let h = s.health.clone().unwrap_or_default();
        let secs = |v: u32| {
            if s.health.is_some() {
                v.to_string()
            } else {
                String::new()
            }
        };
        ServiceText {
            name: s.name.clone(),
            image: s.image.clone(),
            replicas: s.replicas.to_string(),
            command: command_text(&s.command),
            env: env_text(&s.env),
            inherit_mode: if s.inherit.is_some() { "listed" } else { "all" }.into(),
            inherit: s.inherit.clone().unwrap_or_default().join("\n"),
            ports: ports_text(&s.ports),
            volumes: volumes_text(&s.volumes),
            cpu_limit: opt(s.resources.cpu_limit),
            memory_limit: memory_text(s.resources.memory_limit),
            cpu_reservation: opt(s.resources.cpu_reservation),
            memory_reservation: memory_text(s.resources.memory_reservation),
            http_port: opt(s.http_port),
            health_path: h.http_path.clone(),
            health_command: command_text(&h.command),
            health_interval: secs(h.interval_secs),
            health_timeout: secs(h.timeout_secs),
            health_retries: secs(h.retries),
            health_start_period: secs(h.start_period_secs),
            pre_deploy: jobs_text(&s.pre_deploy),
            update: s.update.map(|u| u.as_str().to_string()).unwrap_or_default(),
            depends_on: depends_text(&s.depends_on),
            restart: s.restart.map(|r| r.render()).unwrap_or_default(),
            internal: if s.internal { "on" } else { "" }.into(),
            stop_grace: opt(s.runtime.stop_grace_secs),
            runtime: runtime_text(&s.runtime),
            metrics: s.metrics.to_string(),
        }
    }
}
