//! The form texts of `spec_text` read back into specs (server side: it uses the compose
//! parsers). Errors name the form field and the line.
use super::spec_text::{ServiceText, SiteText};
use crate::error::AppError;
use stack::lifecycle::{Condition, Dependency, Restart, RuntimeOptions, Ulimit, Update};
use stack::model::{
    HealthCheck, Job, JsonAssertion, PortSpec, Resources, Route, RouteTarget, ServiceSpec,
    SiteHosts, SiteSpec, SmokeCheck, TlsFiles, VolumeSpec,
};
use std::collections::BTreeMap;

#[path = "spec_parse_site.rs"]
mod site;
pub use site::{parse_hosts, parse_routes, parse_site, parse_smoke_checks, parse_tls};

type Result<T> = std::result::Result<T, AppError>;

/// The non-blank lines of a textarea with their 1-based numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
}

fn bad(field: &str, line: usize, message: impl std::fmt::Display) -> AppError {
    AppError::invalid(field, format!("line {line}: {message}"))
}

/// An optional number: empty is `None`.
fn number<T: std::str::FromStr>(field: &str, text: &str, what: &str) -> Result<Option<T>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .map_err(|_| AppError::invalid(field, format!("{t:?} is not {what}")))
}

/// Seconds, with an optional `s` suffix.
fn secs(field: &str, text: &str) -> Result<Option<u32>> {
    let t = text.trim();
    number(
        field,
        t.strip_suffix('s').unwrap_or(t),
        "a whole number of seconds",
    )
}

/// `env: word word ...` lines.
fn per_env<'a>(field: &str, text: &'a str) -> Result<Vec<(usize, String, Vec<&'a str>)>> {
    let mut out: Vec<(usize, String, Vec<&str>)> = Vec::new();
    for (n, line) in lines(text) {
        let (env, rest) = line
            .split_once(':')
            .ok_or_else(|| bad(field, n, "expected `environment: ...`"))?;
        let env = env.trim();
        if env.is_empty() || env.contains(char::is_whitespace) {
            return Err(bad(field, n, "expected an environment slug before ':'"));
        }
        if out.iter().any(|(_, e, _)| e == env) {
            return Err(bad(field, n, format!("environment {env} is listed twice")));
        }
        out.push((n, env.to_string(), rest.split_whitespace().collect()));
    }
    Ok(out)
}

fn command(field: &str, line: Option<usize>, text: &str) -> Result<Vec<String>> {
    stack::compose::shell_split(text).map_err(|m| match line {
        Some(n) => bad(field, n, m),
        None => AppError::invalid(field, m),
    })
}

pub fn parse_env(text: &str) -> Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    for (n, line) in lines(text) {
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| bad("env", n, "expected KEY=value"))?;
        if env.insert(k.trim().to_string(), v.to_string()).is_some() {
            return Err(bad("env", n, format!("{} is set twice", k.trim())));
        }
    }
    Ok(env)
}

pub fn parse_ports(text: &str) -> Result<Vec<PortSpec>> {
    lines(text)
        .map(|(n, line)| {
            let line = line.trim();
            let (addr, protocol) = line.split_once('/').unwrap_or((line, ""));
            let port = |s: &str| {
                s.parse::<u16>()
                    .map_err(|_| bad("ports", n, format!("{s:?} is not a port (1-65535)")))
            };
            let parts: Vec<&str> = addr.split(':').collect();
            let (host_ip, host, container) = match parts[..] {
                [c] => ("", "", c),
                [h, c] => ("", h, c),
                [ip, h, c] => (ip, h, c),
                _ => return Err(bad("ports", n, "use [IP:][HOST:]CONTAINER[/PROTOCOL]")),
            };
            Ok(PortSpec {
                host_ip: host_ip.into(),
                host_port: if host.is_empty() {
                    None
                } else {
                    Some(port(host)?)
                },
                container_port: port(container)?,
                protocol: protocol.into(),
            })
        })
        .collect()
}

pub fn parse_volumes(text: &str) -> Result<Vec<VolumeSpec>> {
    lines(text)
        .map(|(n, line)| {
            let mut rest = line.trim();
            let (mut read_only, mut external) = (false, false);
            loop {
                if let Some(r) = rest.strip_suffix(":ro") {
                    (rest, read_only) = (r, true);
                } else if let Some(r) = rest.strip_suffix(":rw") {
                    rest = r;
                } else if let Some(r) = rest.strip_suffix(":external") {
                    (rest, external) = (r, true);
                } else {
                    break;
                }
            }
            let (source, target) = rest
                .split_once(':')
                .ok_or_else(|| bad("volumes", n, "expected source:/target[:ro][:external]"))?;
            Ok(VolumeSpec {
                source: source.into(),
                target: target.into(),
                read_only,
                external,
            })
        })
        .collect()
}

pub fn parse_jobs(text: &str) -> Result<Vec<Job>> {
    lines(text)
        .map(|(n, line)| {
            let (name, cmd) = line
                .split_once(':')
                .ok_or_else(|| bad("pre_deploy", n, "expected `name: command`"))?;
            Ok(Job {
                name: name.trim().into(),
                command: command("pre_deploy", Some(n), cmd)?,
                timeout_secs: 0,
            })
        })
        .collect()
}

fn memory(field: &str, text: &str) -> Result<Option<u64>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    stack::compose::parse_memory(t)
        .map(Some)
        .map_err(|m| AppError::invalid(field, m))
}

fn health(t: &ServiceText) -> Result<Option<HealthCheck>> {
    let fields = [
        &t.health_path,
        &t.health_command,
        &t.health_interval,
        &t.health_timeout,
        &t.health_retries,
        &t.health_start_period,
    ];
    if fields.iter().all(|f| f.trim().is_empty()) {
        return Ok(None);
    }
    let h = HealthCheck {
        http_path: t.health_path.trim().into(),
        command: command("health_command", None, &t.health_command)?,
        interval_secs: secs("health_interval", &t.health_interval)?.unwrap_or(0),
        timeout_secs: secs("health_timeout", &t.health_timeout)?.unwrap_or(0),
        retries: number("health_retries", &t.health_retries, "a whole number")?.unwrap_or(0),
        start_period_secs: secs("health_start_period", &t.health_start_period)?.unwrap_or(0),
    };
    if !h.http_path.is_empty() && !h.command.is_empty() {
        return Err(AppError::invalid(
            "health_path",
            "give an HTTP path or a command, not both",
        ));
    }
    Ok(Some(h))
}

/// `all` (or nothing): every application variable; `listed`: only the names given.
pub fn parse_inherit(mode: &str, names: &str) -> Result<Option<Vec<String>>> {
    match mode.trim() {
        "" | "all" => Ok(None),
        "listed" => {
            let mut out: Vec<String> = Vec::new();
            for name in names.split(|c: char| c == ',' || c.is_whitespace()) {
                if name.is_empty() || out.iter().any(|n| n == name) {
                    continue;
                }
                if !stack::interpolate::is_valid_name(name) {
                    return Err(AppError::invalid(
                        "inherit",
                        format!("`{name}` is not a variable name ([A-Za-z_][A-Za-z0-9_]*)"),
                    ));
                }
                out.push(name.to_string());
            }
            Ok(Some(out))
        }
        _ => Err(AppError::invalid("inherit", "choose all or listed")),
    }
}

/// `name` or `name: condition` per line (condition: service_started, service_healthy,
/// service_completed_successfully; default service_healthy).
pub fn parse_depends_on(text: &str) -> Result<Vec<Dependency>> {
    lines(text)
        .map(|(n, line)| {
            let (service, cond) = match line.split_once(':') {
                Some((s, c)) => (s.trim(), c.trim()),
                None => (line.trim(), ""),
            };
            if !stack::compose::is_valid_service_name(service) {
                return Err(bad("depends_on", n, format!("`{service}` is not a service name")));
            }
            let condition = if cond.is_empty() {
                Condition::ServiceHealthy
            } else {
                Condition::parse(cond).ok_or_else(|| {
                    bad(
                        "depends_on",
                        n,
                        "condition: service_started, service_healthy or service_completed_successfully",
                    )
                })?
            };
            Ok(Dependency {
                service: service.into(),
                condition,
            })
        })
        .collect()
}

/// One option per line: `entrypoint: CMD`, `user: U[:G]`, `working_dir: /dir`,
/// `shm_size: 256m`, `ulimit NAME: SOFT[:HARD]`, `tmpfs: /target[:options]`,
/// `cap_add: CAP…`, `cap_drop: CAP…`, `extra_host: host:ip`.
pub fn parse_runtime(text: &str, stop_grace: &str) -> Result<RuntimeOptions> {
    let mut rt = RuntimeOptions {
        stop_grace_secs: number("stop_grace", stop_grace, "seconds (0-240)")?,
        ..Default::default()
    };
    if rt.stop_grace_secs.is_some_and(|s| s > 240) {
        return Err(AppError::invalid("stop_grace", "seconds (0-240)"));
    }
    for (n, line) in lines(text) {
        let (key, value) = line
            .split_once(':')
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| bad("runtime", n, "expected `option: value`"))?;
        let words = || value.split_whitespace().map(str::to_string);
        match key {
            "entrypoint" => rt.entrypoint = command("runtime", Some(n), value)?,
            "user" => rt.user = value.into(),
            "working_dir" => rt.working_dir = value.into(),
            "shm_size" => {
                rt.shm_size = Some(
                    stack::compose::parse_memory(value).map_err(|m| bad("runtime", n, m))?,
                )
            }
            "tmpfs" => rt.tmpfs.push(value.into()),
            "cap_add" => rt.cap_add.extend(words()),
            "cap_drop" => rt.cap_drop.extend(words()),
            "extra_host" => rt.extra_hosts.push(value.into()),
            k if k.starts_with("ulimit ") => {
                let name = k["ulimit ".len()..].trim();
                let num = |v: &str| {
                    v.trim()
                        .parse::<i64>()
                        .map_err(|_| bad("runtime", n, "ulimit: SOFT[:HARD], whole numbers"))
                };
                let (soft, hard) = match value.split_once(':') {
                    Some((a, b)) => (num(a)?, num(b)?),
                    None => (num(value)?, num(value)?),
                };
                rt.ulimits.insert(name.into(), Ulimit { soft, hard });
            }
            other => {
                return Err(bad(
                    "runtime",
                    n,
                    format!("unknown option `{other}` (entrypoint, user, working_dir, shm_size, ulimit NAME, tmpfs, cap_add, cap_drop, extra_host)"),
                ))
            }
        }
    }
    Ok(rt)
}

pub fn parse_service(t: &ServiceText) -> Result<ServiceSpec> {
    let replicas = number("replicas", &t.replicas, "a whole number from 0 to 100")?;
    Ok(ServiceSpec {
        name: t.name.trim().into(),
        image: t.image.trim().into(),
        replicas: replicas.unwrap_or(1),
        command: command("command", None, &t.command)?,
        env: parse_env(&t.env)?,
        inherit: parse_inherit(&t.inherit_mode, &t.inherit)?,
        ports: parse_ports(&t.ports)?,
        volumes: parse_volumes(&t.volumes)?,
        resources: Resources {
            cpu_limit: number("cpu_limit", &t.cpu_limit, "a number of CPUs")?,
            memory_limit: memory("memory_limit", &t.memory_limit)?,
            cpu_reservation: number("cpu_reservation", &t.cpu_reservation, "a number of CPUs")?,
            memory_reservation: memory("memory_reservation", &t.memory_reservation)?,
        },
        health: health(t)?,
        pre_deploy: parse_jobs(&t.pre_deploy)?,
        http_port: number("http_port", &t.http_port, "a port (1-65535)")?,
        update: match t.update.trim() {
            "" | "auto" => None,
            u => Some(Update::parse(u).ok_or_else(|| {
                AppError::invalid(
                    "update",
                    "rolling, recreate or manual (empty: by its shape)",
                )
            })?),
        },
        depends_on: parse_depends_on(&t.depends_on)?,
        restart: match t.restart.trim() {
            "" => None,
            r => Some(Restart::parse(r).ok_or_else(|| {
                AppError::invalid(
                    "restart",
                    "no, always, unless-stopped, on-failure or on-failure:N",
                )
            })?),
        },
        internal: matches!(t.internal.trim(), "on" | "true" | "1"),
        runtime: parse_runtime(&t.runtime, &t.stop_grace)?,
        metrics: stack::scrape::ScrapeSpec::parse(&t.metrics)
            .map_err(|m| AppError::invalid("metrics", m))?,
    })
}

#[cfg(test)]
#[path = "spec_parse_tests.rs"]
mod tests;
