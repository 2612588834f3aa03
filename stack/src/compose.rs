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
//!   the services' mounts of it are [`VolumeSpec::external`], under the volume's own name.
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
use crate::model::{HealthCheck, InputError, Job, PortSpec, Resources, ServiceSpec, VolumeSpec};
use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};

mod networks;
mod policy;
mod runtime;

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

// ---------------------------------------------------------------------------------------
// Locating a key path in the source text (best effort: block-style YAML).

/// The 1-based line of `path` (`["services", "nginx", "ports", "[1]"]`) in `lines`, or the
/// line of the deepest ancestor found; 0 when not even the first key is found.
fn locate(lines: &[&str], path: &[String]) -> usize {
    fn split(line: &str) -> (usize, &str) {
        let t = line.trim_start();
        (line.len() - t.len(), t)
    }
    /// Indentation and content with leading `- ` item markers stripped.
    fn effective(line: &str) -> (usize, &str) {
        let (mut indent, mut t) = split(line);
        while let Some(rest) = t.strip_prefix("- ") {
            let r = rest.trim_start();
            indent += t.len() - r.len();
            t = r;
        }
        (indent, t)
    }
    fn is_key(content: &str, key: &str) -> bool {
        for candidate in [key.to_string(), format!("\"{key}\""), format!("'{key}'")] {
            if let Some(rest) = content.strip_prefix(&candidate) {
                let rest = rest.trim_start();
                if rest == ":" || rest.starts_with(": ") || rest.starts_with(":\t") {
                    return true;
                }
            }
        }
        false
    }
    let mut start = 0usize;
    let mut parent: isize = -1;
    let mut inclusive = true;
    let mut found = 0usize;
    for seg in path {
        let index = seg
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse::<usize>().ok());
        let mut level: Option<usize> = None;
        let mut count = 0usize;
        let mut hit = None;
        let mut i = start;
        while i < lines.len() {
            let (raw_indent, raw) = split(lines[i]);
            if raw.is_empty() || raw.starts_with('#') {
                i += 1;
                continue;
            }
            let first = inclusive && i == start;
            let is_dash = raw == "-" || raw.starts_with("- ");
            if !first {
                let ends = (raw_indent as isize) < parent
                    || ((raw_indent as isize) == parent && !(index.is_some() && is_dash));
                if ends {
                    break;
                }
            }
            match index {
                Some(n) => {
                    // On the item line itself, the dash starts after the parent's text.
                    if is_dash {
                        let lvl = *level.get_or_insert(raw_indent);
                        if raw_indent == lvl {
                            if count == n {
                                hit = Some((i, raw_indent as isize, true));
                                break;
                            }
                            count += 1;
                        }
                    }
                }
                None => {
                    let (indent, content) = if first {
                        effective(lines[i])
                    } else {
                        split(lines[i])
                    };
                    let lvl = *level.get_or_insert(indent);
                    if indent == lvl && is_key(content, seg) {
                        hit = Some((i, indent as isize, false));
                        break;
                    }
                }
            }
            i += 1;
        }
        match hit {
            Some((line, indent, item)) => {
                found = line + 1;
                parent = indent;
                if item {
                    start = line;
                    inclusive = true;
                } else {
                    start = line + 1;
                    inclusive = false;
                }
            }
            None => return found,
        }
    }
    found
}

// ---------------------------------------------------------------------------------------
// Import.

struct Ctx<'a> {
    file: &'a str,
    lines: Vec<&'a str>,
    unsupported: Vec<Unsupported>,
    named: BTreeSet<String>,
    /// The services of the file (for optional dependencies).
    service_names: BTreeSet<String>,
    /// Where each `(service, dependency)` is written, for errors.
    dependency_paths: BTreeMap<(String, String), Vec<String>>,
    /// Top-level networks: whether each is `internal`.
    networks: BTreeMap<String, bool>,
    /// The networks each service names (absent: only `default`).
    attached: BTreeMap<String, Vec<String>>,
    /// External top-level volumes: their key in the file → the volume's own name.
    externals: BTreeMap<String, String>,
}

fn join(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path {
        if !out.is_empty() && !seg.starts_with('[') {
            out.push('.');
        }
        out.push_str(seg);
    }
    out
}

fn child(path: &[String], seg: impl Into<String>) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(seg.into());
    p
}

fn item(path: &[String], i: usize) -> Vec<String> {
    child(path, format!("[{i}]"))
}

impl Ctx<'_> {
    fn err(&self, path: &[String], message: impl Into<String>) -> InputError {
        InputError {
            file: self.file.to_string(),
            line: locate(&self.lines, path),
            field: join(path),
            message: message.into(),
        }
    }

    fn note(&mut self, path: &[String], message: impl Into<String>) {
        self.unsupported.push(Unsupported {
            path: join(path),
            line: locate(&self.lines, path),
            message: message.into(),
        });
    }

    fn not_modeled(&mut self, path: &[String]) {
        let key = path.last().cloned().unwrap_or_default();
        if key.starts_with("x-") {
            self.note(path, "extension key ignored");
        } else {
            self.note(
                path,
                format!("`{key}` is not modeled by Berth; it will not be applied"),
            );
        }
    }

    fn mapping<'v>(&self, path: &[String], v: &'v Value) -> Result<&'v Mapping, InputError> {
        match v {
            Value::Mapping(m) => Ok(m),
            other => Err(self.err(path, format!("expected a mapping, found {}", kind(other)))),
        }
    }

    /// The mapping's entries with string keys (an error for any other key).
    fn entries<'v>(
        &self,
        path: &[String],
        m: &'v Mapping,
    ) -> Result<Vec<(&'v str, &'v Value)>, InputError> {
        m.iter()
            .map(|(k, v)| match k {
                Value::String(s) => Ok((s.as_str(), v)),
                other => {
                    Err(self.err(path, format!("keys must be strings, found {}", kind(other))))
                }
            })
            .collect()
    }

    fn string(&self, path: &[String], v: &Value) -> Result<String, InputError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.err(path, format!("expected a string, found {}", kind(other)))),
        }
    }

    /// A string, number or boolean, as text.
    fn scalar(&self, path: &[String], v: &Value) -> Result<String, InputError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(self.err(
                path,
                format!(
                    "expected a string, number or boolean, found {}",
                    kind(other)
                ),
            )),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Imports a compose file. `file_name` only appears in errors.
pub fn import(file_name: &str, yaml: &str) -> Result<ComposeImport, InputError> {
    let mut ctx = Ctx {
        file: file_name,
        lines: yaml.lines().collect(),
        unsupported: Vec::new(),
        named: BTreeSet::new(),
        service_names: BTreeSet::new(),
        dependency_paths: BTreeMap::new(),
        networks: BTreeMap::new(),
        attached: BTreeMap::new(),
        externals: BTreeMap::new(),
    };
    let yaml_err = |e: serde_norway::Error| InputError {
        file: file_name.to_string(),
        line: e.location().map(|l| l.line()).unwrap_or(0),
        field: String::new(),
        message: format!("malformed YAML: {e}"),
    };
    let mut doc: Value = serde_norway::from_str(yaml).map_err(yaml_err)?;
    doc.apply_merge().map_err(yaml_err)?;
    let root = match &doc {
        Value::Mapping(m) => m,
        Value::Null => return Err(ctx.err(&[], "the file is empty: expected a `services` mapping")),
        other => {
            return Err(ctx.err(
                &[],
                format!("expected a mapping with `services`, found {}", kind(other)),
            ))
        }
    };
    let mut services_value = None;
    for (key, value) in ctx.entries(&[], root)? {
        let path = vec![key.to_string()];
        match key {
            "services" => services_value = Some(value),
            "version" => ctx.note(
                &path,
                "ignored: `version` is obsolete in the Compose Specification and Berth does not need it",
            ),
            "name" => ctx.note(&path, "ignored: Berth names the stack after its project"),
            "volumes" => top_volumes(&mut ctx, &path, value)?,
            "networks" => networks::top_networks(&mut ctx, &path, value)?,
            k if k.starts_with("x-") => ctx.note(&path, "extension key ignored"),
            "configs" | "secrets" | "include" => ctx.not_modeled(&path),
            _ => ctx.note(&path, "unknown top-level key; ignored"),
        }
    }
    let services_path = vec!["services".to_string()];
    let services = match services_value {
        None => return Err(ctx.err(&[], "missing `services`: the file defines no services")),
        Some(v) => ctx.mapping(&services_path, v)?,
    };
    if services.is_empty() {
        return Err(ctx.err(&services_path, "no services are defined"));
    }
    let entries = ctx.entries(&services_path, services)?;
    ctx.service_names = entries.iter().map(|(n, _)| n.to_string()).collect();
    let mut out = Vec::new();
    for (name, value) in entries {
        let path = child(&services_path, name);
        if !is_valid_service_name(name) {
            return Err(ctx.err(
                &path,
                format!(
                    "invalid service name `{name}`: use lowercase letters, digits, `-` and `_`, \
                     starting with a letter or digit, at most 63 characters"
                ),
            ));
        }
        out.push(service(&mut ctx, &path, name, value)?);
    }
    networks::apply_external_volumes(&mut ctx, &mut out);
    let attached = std::mem::take(&mut ctx.attached);
    networks::apply_networks(&mut ctx, &mut out, &attached);
    policy::check(&ctx, &out)?;
    Ok(ComposeImport {
        services: out,
        unsupported: ctx.unsupported,
        named_volumes: ctx.named.into_iter().collect(),
    })
}

fn top_volumes(ctx: &mut Ctx, path: &[String], value: &Value) -> Result<(), InputError> {
    if value.is_null() {
        return Ok(());
    }
    let m = ctx.mapping(path, value)?;
    for (name, config) in ctx.entries(path, m)? {
        let vpath = child(path, name);
        ctx.named.insert(name.to_string());
        match config {
            Value::Null => {}
            Value::Mapping(cm) => networks::top_volume(ctx, &vpath, name, cm)?,
            other => {
                return Err(ctx.err(&vpath, format!("expected a mapping, found {}", kind(other))))
            }
        }
    }
    Ok(())
}

fn service(
    ctx: &mut Ctx,
    path: &[String],
    name: &str,
    value: &Value,
) -> Result<ServiceSpec, InputError> {
    let m = match value {
        Value::Mapping(m) => m,
        Value::Null => return Err(ctx.err(path, "empty service: it needs at least an `image`")),
        other => return Err(ctx.err(path, format!("expected a mapping, found {}", kind(other)))),
    };
    let mut spec = ServiceSpec {
        name: name.to_string(),
        replicas: 1,
        ..Default::default()
    };
    let mut has_build = false;
    let mut has_env_file = false;
    let mut grants = Vec::new();
    let mut health_seen = false;
    let mut berth_ext = None;
    let mut restart_policy = None;
    for (key, v) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        if runtime::apply(ctx, &kpath, key, v, &mut spec.runtime)? {
            continue;
        }
        match key {
            "image" => {
                spec.image = ctx.string(&kpath, v)?.trim().to_string();
                if spec.image.is_empty() {
                    return Err(ctx.err(&kpath, "the image is empty"));
                }
            }
            "deploy" => deploy(ctx, &kpath, v, &mut spec, &mut restart_policy)?,
            "depends_on" => spec.depends_on = policy::depends_on(ctx, name, &kpath, v)?,
            "restart" => spec.restart = Some(policy::restart(ctx, &kpath, v)?),
            "networks" => {
                let nets = networks::service_networks(ctx, &kpath, v)?;
                ctx.attached.insert(name.to_string(), nets);
            }
            "environment" => (spec.env, grants) = environment(ctx, &kpath, v)?,
            "volumes" => spec.volumes = volumes(ctx, &kpath, v)?,
            "ports" => spec.ports = ports(ctx, &kpath, v)?,
            "healthcheck" => {
                health_seen = true;
                spec.health = healthcheck(ctx, &kpath, v)?;
            }
            "command" => spec.command = command(ctx, &kpath, v)?,
            "x-berth" => berth_ext = Some((kpath, v)),
            k if k.starts_with("x-") => ctx.note(&kpath, "extension key ignored"),
            "build" => {
                has_build = true;
                ctx.note(
                    &kpath,
                    "not supported: Berth deploys images from a registry; build and push the image in CI",
                );
            }
            // Import the .env file itself as the environment's variables.
            "env_file" => has_env_file = true,
            "container_name" => ctx.note(
                &kpath,
                "not supported: Berth names containers itself (replicas need distinct names)",
            ),
            _ => ctx.not_modeled(&kpath),
        }
    }
    // `deploy.restart_policy` stands in for a missing `restart`.
    if let Some((ppath, Some(policy))) = restart_policy {
        if spec.restart.is_none() {
            spec.restart = Some(policy);
        } else {
            ctx.note(&ppath, "ignored: the service's `restart` applies");
        }
    }
    // As in compose: without an `env_file` a container gets only what its `environment`
    // names; with one, every variable (the file's, imported as the environment's).
    spec.inherit = (!has_env_file).then_some(grants);
    if let Some((kpath, v)) = berth_ext {
        extension(ctx, &kpath, v, &mut spec, health_seen)?;
    }
    if spec.image.is_empty() {
        let message = if has_build {
            "missing: Berth deploys images from a registry (`build` is not supported); add `image`"
        } else {
            "missing: every service needs an image"
        };
        return Err(ctx.err(&child(path, "image"), message));
    }
    Ok(spec)
}

/// A `deploy.restart_policy` (where it is written, and the policy).
type RestartPolicy = Option<(Vec<String>, Option<crate::lifecycle::Restart>)>;

fn deploy(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
    spec: &mut ServiceSpec,
    restart_policy: &mut RestartPolicy,
) -> Result<(), InputError> {
    if v.is_null() {
        return Ok(());
    }
    let m = ctx.mapping(path, v)?;
    for (key, v) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        match key {
            "replicas" => {
                spec.replicas = match v {
                    Value::Number(n) if n.as_u64().is_some() => {
                        u32::try_from(n.as_u64().unwrap_or(0))
                            .map_err(|_| ctx.err(&kpath, format!("replicas {n} is too large")))?
                    }
                    Value::Number(n) if n.as_i64().is_some() => {
                        return Err(ctx.err(
                            &kpath,
                            format!("replicas must be a non-negative integer, found {n}"),
                        ))
                    }
                    Value::Number(n) => {
                        return Err(ctx.err(
                            &kpath,
                            format!("replicas must be a non-negative integer, found {n}"),
                        ))
                    }
                    other => {
                        return Err(ctx.err(
                            &kpath,
                            format!(
                                "replicas must be a non-negative integer, found {}",
                                kind(other)
                            ),
                        ))
                    }
                };
            }
            "resources" => resources(ctx, &kpath, v, &mut spec.resources)?,
            "restart_policy" => {
                let policy = policy::restart_policy(ctx, &kpath, v)?;
                *restart_policy = Some((kpath, policy));
            }
            "update_config" => {
                if let Some(u) = policy::update_config(ctx, &kpath, v)? {
                    spec.update = Some(u);
                }
            }
            _ => ctx.not_modeled(&kpath),
        }
    }
    Ok(())
}

fn resources(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
    res: &mut Resources,
) -> Result<(), InputError> {
    if v.is_null() {
        return Ok(());
    }
    let m = ctx.mapping(path, v)?;
    for (key, v) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        let limits = match key {
            "limits" => true,
            "reservations" => false,
            _ => {
                ctx.not_modeled(&kpath);
                continue;
            }
        };
        if v.is_null() {
            continue;
        }
        let lm = ctx.mapping(&kpath, v)?;
        for (rkey, rv) in ctx.entries(&kpath, lm)? {
            let rpath = child(&kpath, rkey);
            match rkey {
                "cpus" => {
                    let cpus = parse_cpus(ctx, &rpath, rv)?;
                    if limits {
                        res.cpu_limit = Some(cpus);
                    } else {
                        res.cpu_reservation = Some(cpus);
                    }
                }
                "memory" => {
                    let text = ctx.scalar(&rpath, rv)?;
                    let bytes = parse_memory(&text).map_err(|m| ctx.err(&rpath, m))?;
                    if limits {
                        res.memory_limit = Some(bytes);
                    } else {
                        res.memory_reservation = Some(bytes);
                    }
                }
                _ => ctx.not_modeled(&rpath),
            }
        }
    }
    Ok(())
}

fn parse_cpus(ctx: &Ctx, path: &[String], v: &Value) -> Result<f64, InputError> {
    let cpus = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match cpus {
        Some(c) if c.is_finite() && c > 0.0 => Ok(c),
        _ => Err(ctx.err(
            path,
            format!(
                "expected a positive number of CPUs (like 2 or '0.5'), found {}",
                display(v)
            ),
        )),
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::Bool(b) => format!("`{b}`"),
        other => kind(other).to_string(),
    }
}

/// Parses a compose memory size (`4G`, `512M`, `1g`, `1024k`, `1.5gb`, `2GiB`, `1048576`)
/// into bytes; units are binary (1k = 1024).
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let bad =
        || format!("invalid memory size `{text}`: use a number of bytes or a size like 512M, 4G");
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(bad());
    }
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return Err(bad()),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bytes = value * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("memory size `{text}` is too large"));
    }
    Ok(bytes as u64)
}

/// Formats bytes for a compose file: the largest binary unit that divides it exactly.
pub fn format_memory(bytes: u64) -> String {
    for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        let size = 1u64 << shift;
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('=')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A service's `environment`: the values it sets, and the names it passes through without a
/// value (compose takes those from the shell; in Berth they are the environment's variables
/// the service receives).
type ServiceEnvironment = (BTreeMap<String, String>, Vec<String>);

fn environment(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
) -> Result<ServiceEnvironment, InputError> {
    let mut env = BTreeMap::new();
    let mut grants: Vec<String> = Vec::new();
    let mut pass_through = |ctx: &mut Ctx, p: &[String], name: &str| {
        if !crate::interpolate::is_valid_name(name) {
            ctx.note(
                p,
                format!(
                    "`{name}` has no value here (compose takes it from the shell), and Berth's \
                     variables cannot have that name: it is not set"
                ),
            );
        } else if !grants.iter().any(|g| g == name) {
            grants.push(name.to_string());
        }
    };
    match v {
        Value::Null => {}
        Value::Sequence(items) => {
            for (i, it) in items.iter().enumerate() {
                let ipath = item(path, i);
                let text = ctx.string(&ipath, it)?;
                let (name, value) = match text.split_once('=') {
                    Some((n, val)) => (n.trim().to_string(), Some(val.to_string())),
                    None => (text.trim().to_string(), None),
                };
                if !valid_env_name(&name) {
                    return Err(ctx.err(&ipath, format!("invalid variable name `{name}`")));
                }
                if env.contains_key(&name) {
                    return Err(ctx.err(&ipath, format!("`{name}` is set twice")));
                }
                match value {
                    Some(val) => {
                        env.insert(name, val);
                    }
                    None => pass_through(ctx, &ipath, &name),
                }
            }
        }
        Value::Mapping(m) => {
            for (name, val) in ctx.entries(path, m)? {
                let npath = child(path, name);
                if !valid_env_name(name) {
                    return Err(ctx.err(&npath, format!("invalid variable name `{name}`")));
                }
                if val.is_null() {
                    pass_through(ctx, &npath, name);
                    continue;
                }
                env.insert(name.to_string(), ctx.scalar(&npath, val)?);
            }
        }
        other => {
            return Err(ctx.err(
                path,
                format!("expected a list or a mapping, found {}", kind(other)),
            ))
        }
    }
    Ok((env, grants))
}

fn is_named_volume(source: &str) -> bool {
    !source.is_empty()
        && !source.starts_with(['/', '.', '~', '$'])
        && !source.contains('/')
        && !source.contains('\\')
}

fn volumes(ctx: &mut Ctx, path: &[String], v: &Value) -> Result<Vec<VolumeSpec>, InputError> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(items) => items,
        other => return Err(ctx.err(path, format!("expected a list, found {}", kind(other)))),
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let ipath = item(path, i);
        let spec = match it {
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                let (source, target, mode) = match parts.as_slice() {
                    [target] => ("", *target, None),
                    [source, target] => (*source, *target, None),
                    [source, target, mode] => (*source, *target, Some(*mode)),
                    _ => {
                        return Err(ctx.err(
                            &ipath,
                            format!("invalid volume `{s}`: expected source:target[:mode]"),
                        ))
                    }
                };
                if parts.len() > 1 && source.is_empty() {
                    return Err(
                        ctx.err(&ipath, format!("invalid volume `{s}`: the source is empty"))
                    );
                }
                let mut read_only = false;
                if let Some(mode) = mode {
                    for opt in mode.split(',') {
                        match opt {
                            "ro" => read_only = true,
                            "rw" => read_only = false,
                            "" => {
                                return Err(ctx.err(&ipath, format!("invalid volume `{s}`: empty mode")))
                            }
                            other => ctx.note(
                                &ipath,
                                format!("volume option `{other}` is not modeled by Berth; it will not be applied"),
                            ),
                        }
                    }
                }
                VolumeSpec {
                    source: source.to_string(),
                    target: target.to_string(),
                    read_only,
                    external: false,
                }
            }
            Value::Mapping(m) => {
                let mut spec = VolumeSpec::default();
                let mut kind_ok = true;
                for (key, val) in ctx.entries(&ipath, m)? {
                    let kpath = child(&ipath, key);
                    match key {
                        "type" => {
                            let t = ctx.string(&kpath, val)?;
                            if t != "volume" && t != "bind" {
                                ctx.note(
                                    &ipath,
                                    format!("`{t}` mounts are not modeled by Berth; this mount will not be applied"),
                                );
                                kind_ok = false;
                            }
                        }
                        "source" => spec.source = ctx.string(&kpath, val)?,
                        "target" => spec.target = ctx.string(&kpath, val)?,
                        "read_only" => match val {
                            Value::Bool(b) => spec.read_only = *b,
                            other => {
                                return Err(ctx.err(
                                    &kpath,
                                    format!("expected true or false, found {}", kind(other)),
                                ))
                            }
                        },
                        _ => ctx.not_modeled(&kpath),
                    }
                }
                if !kind_ok {
                    continue;
                }
                spec
            }
            other => {
                return Err(ctx.err(
                    &ipath,
                    format!("expected a string or a mapping, found {}", kind(other)),
                ))
            }
        };
        if !spec.target.starts_with('/') {
            return Err(ctx.err(
                &ipath,
                format!(
                    "the target `{}` must be an absolute path in the container",
                    spec.target
                ),
            ));
        }
        if is_named_volume(&spec.source) {
            ctx.named.insert(spec.source.clone());
        }
        out.push(spec);
    }
    Ok(out)
}

fn parse_port(ctx: &Ctx, path: &[String], text: &str) -> Result<u16, InputError> {
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(ctx.err(
            path,
            format!("invalid port `{text}`: expected a number from 1 to 65535"),
        )),
    }
}

fn check_protocol(ctx: &Ctx, path: &[String], proto: &str) -> Result<String, InputError> {
    let p = proto.to_ascii_lowercase();
    match p.as_str() {
        "tcp" | "udp" | "sctp" => Ok(p),
        _ => Err(ctx.err(
            path,
            format!("invalid protocol `{proto}`: expected tcp or udp"),
        )),
    }
}

fn ports(ctx: &mut Ctx, path: &[String], v: &Value) -> Result<Vec<PortSpec>, InputError> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(items) => items,
        other => return Err(ctx.err(path, format!("expected a list, found {}", kind(other)))),
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let ipath = item(path, i);
        match it {
            Value::Number(n) => out.push(PortSpec {
                container_port: parse_port(ctx, &ipath, &n.to_string())?,
                protocol: "tcp".into(),
                ..Default::default()
            }),
            Value::String(s) => {
                if s.contains('-') {
                    ctx.note(&ipath, format!("port ranges (`{s}`) are not modeled by Berth; this mapping will not be applied"));
                    continue;
                }
                let (rest, protocol) = match s.rsplit_once('/') {
                    Some((r, p)) => (r, check_protocol(ctx, &ipath, p)?),
                    None => (s.as_str(), "tcp".to_string()),
                };
                let (host_ip, rest) = if let Some(after) = rest.strip_prefix('[') {
                    let Some((ip, r)) = after.split_once("]:") else {
                        return Err(ctx.err(&ipath, format!("invalid port mapping `{s}`")));
                    };
                    (ip.to_string(), r)
                } else {
                    (String::new(), rest)
                };
                let parts: Vec<&str> = rest.split(':').collect();
                let (ip, host, container) = match parts.as_slice() {
                    [c] if host_ip.is_empty() => (String::new(), None, *c),
                    [h, c] => (host_ip.clone(), Some(*h), *c),
                    [ip, h, c] if host_ip.is_empty() => (ip.to_string(), Some(*h), *c),
                    _ => {
                        return Err(ctx.err(
                            &ipath,
                            format!(
                            "invalid port mapping `{s}`: expected [ip:][host:]container[/protocol]"
                        ),
                        ))
                    }
                };
                let host_port = match host {
                    None | Some("") => None,
                    Some(h) => Some(parse_port(ctx, &ipath, h)?),
                };
                out.push(PortSpec {
                    host_ip: ip,
                    host_port,
                    container_port: parse_port(ctx, &ipath, container)?,
                    protocol,
                });
            }
            Value::Mapping(m) => {
                let mut spec = PortSpec {
                    protocol: "tcp".into(),
                    ..Default::default()
                };
                let mut target = None;
                let mut skip = false;
                for (key, val) in ctx.entries(&ipath, m)? {
                    let kpath = child(&ipath, key);
                    match key {
                        "target" => {
                            target = Some(parse_port(ctx, &kpath, &ctx.scalar(&kpath, val)?)?)
                        }
                        "published" => {
                            let p = ctx.scalar(&kpath, val)?;
                            if p.contains('-') {
                                ctx.note(&ipath, format!("port ranges (`{p}`) are not modeled by Berth; this mapping will not be applied"));
                                skip = true;
                            } else if !p.is_empty() {
                                spec.host_port = Some(parse_port(ctx, &kpath, &p)?);
                            }
                        }
                        "host_ip" => spec.host_ip = ctx.string(&kpath, val)?,
                        "protocol" => {
                            spec.protocol = check_protocol(ctx, &kpath, &ctx.string(&kpath, val)?)?
                        }
                        _ => ctx.not_modeled(&kpath),
                    }
                }
                if skip {
                    continue;
                }
                spec.container_port = target
                    .ok_or_else(|| ctx.err(&ipath, "missing `target` (the container port)"))?;
                out.push(spec);
            }
            other => {
                return Err(ctx.err(
                    &ipath,
                    format!(
                        "expected a string, number or mapping, found {}",
                        kind(other)
                    ),
                ))
            }
        }
    }
    Ok(out)
}

/// Parses a compose duration (`30s`, `1m30s`, `1h`, `500ms`, `1.5s`) into seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let bad = || format!("invalid duration `{text}`: use forms like 30s, 1m30s, 500ms");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if n_end == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..n_end].parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..u_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(bad()),
        };
        total += number * factor;
        rest = &rest[u_end..];
    }
    Ok(total)
}

/// Formats whole seconds as a compose duration (`90` → `1m30s`).
pub fn format_duration(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

fn duration_secs(ctx: &mut Ctx, path: &[String], v: &Value) -> Result<u32, InputError> {
    let text = ctx.string(path, v)?;
    let secs = parse_duration(&text).map_err(|m| ctx.err(path, m))?;
    if secs > u32::MAX as f64 {
        return Err(ctx.err(path, format!("duration `{text}` is too long")));
    }
    let whole = secs.ceil();
    if whole != secs {
        ctx.note(
            path,
            format!("`{text}` rounded up to {whole} s: Berth counts whole seconds"),
        );
    }
    Ok(whole as u32)
}

fn healthcheck(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
) -> Result<Option<HealthCheck>, InputError> {
    let m = match v {
        Value::Null => return Ok(None),
        other => ctx.mapping(path, other)?,
    };
    let mut hc = HealthCheck {
        interval_secs: DEFAULT_HEALTH_INTERVAL_SECS,
        timeout_secs: DEFAULT_HEALTH_TIMEOUT_SECS,
        retries: DEFAULT_HEALTH_RETRIES,
        ..Default::default()
    };
    let mut disabled = false;
    for (key, val) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        match key {
            "test" => match val {
                Value::String(s) => {
                    hc.command = vec!["/bin/sh".into(), "-c".into(), s.clone()];
                }
                Value::Sequence(items) => {
                    let words = items
                        .iter()
                        .enumerate()
                        .map(|(i, w)| ctx.scalar(&item(&kpath, i), w))
                        .collect::<Result<Vec<_>, _>>()?;
                    match words.first().map(String::as_str) {
                        Some("CMD") if words.len() > 1 => hc.command = words[1..].to_vec(),
                        Some("CMD-SHELL") if words.len() > 1 => {
                            hc.command = vec!["/bin/sh".into(), "-c".into(), words[1..].join(" ")];
                        }
                        Some("NONE") => disabled = true,
                        _ => {
                            return Err(ctx.err(
                                &kpath,
                                "expected [\"CMD\", program, args...], [\"CMD-SHELL\", \"command\"] or [\"NONE\"]",
                            ))
                        }
                    }
                }
                other => {
                    return Err(ctx.err(
                        &kpath,
                        format!("expected a string or a list, found {}", kind(other)),
                    ))
                }
            },
            "interval" => hc.interval_secs = duration_secs(ctx, &kpath, val)?,
            "timeout" => hc.timeout_secs = duration_secs(ctx, &kpath, val)?,
            "start_period" => hc.start_period_secs = duration_secs(ctx, &kpath, val)?,
            "retries" => {
                hc.retries = match val {
                    Value::Number(n) => n.as_u64().and_then(|r| u32::try_from(r).ok()),
                    _ => None,
                }
                .ok_or_else(|| {
                    ctx.err(
                        &kpath,
                        format!(
                            "retries must be a non-negative integer, found {}",
                            display(val)
                        ),
                    )
                })?;
            }
            "disable" => match val {
                Value::Bool(b) => disabled = *b,
                other => {
                    return Err(ctx.err(
                        &kpath,
                        format!("expected true or false, found {}", kind(other)),
                    ))
                }
            },
            _ => ctx.not_modeled(&kpath),
        }
    }
    Ok(if disabled { None } else { Some(hc) })
}

/// Splits a command line like a POSIX shell would (quotes and backslashes; no expansion).
pub fn shell_split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unterminated \" quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => word.push('\\'),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn command(ctx: &mut Ctx, path: &[String], v: &Value) -> Result<Vec<String>, InputError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => {
            shell_split(s).map_err(|m| ctx.err(path, format!("invalid command: {m}")))
        }
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, w)| ctx.scalar(&item(path, i), w))
            .collect(),
        other => Err(ctx.err(
            path,
            format!("expected a string or a list, found {}", kind(other)),
        )),
    }
}

/// Berth's own `x-berth` service extension.
fn extension(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
    spec: &mut ServiceSpec,
    health_seen: bool,
) -> Result<(), InputError> {
    let m = ctx.mapping(path, v)?;
    for (key, val) in ctx.entries(path, m)? {
        let kpath = child(path, key);
        match key {
            "http_port" => {
                spec.http_port = Some(parse_port(ctx, &kpath, &ctx.scalar(&kpath, val)?)?)
            }
            "health_path" => {
                let p = ctx.string(&kpath, val)?;
                if !p.starts_with('/') {
                    return Err(ctx.err(&kpath, format!("the health path `{p}` must start with /")));
                }
                match &mut spec.health {
                    Some(h) => h.http_path = p,
                    None if !health_seen => {
                        spec.health = Some(HealthCheck {
                            http_path: p,
                            interval_secs: DEFAULT_HEALTH_INTERVAL_SECS,
                            timeout_secs: DEFAULT_HEALTH_TIMEOUT_SECS,
                            retries: DEFAULT_HEALTH_RETRIES,
                            ..Default::default()
                        })
                    }
                    None => ctx.note(&kpath, "ignored: the health check is disabled"),
                }
            }
            "pre_deploy" => {
                let items = match val {
                    Value::Sequence(items) => items,
                    other => {
                        return Err(
                            ctx.err(&kpath, format!("expected a list, found {}", kind(other)))
                        )
                    }
                };
                for (i, it) in items.iter().enumerate() {
                    let ipath = item(&kpath, i);
                    let jm = ctx.mapping(&ipath, it)?;
                    let mut job = Job::default();
                    for (jkey, jval) in ctx.entries(&ipath, jm)? {
                        let jpath = child(&ipath, jkey);
                        match jkey {
                            "name" => job.name = ctx.string(&jpath, jval)?,
                            "command" => job.command = command(ctx, &jpath, jval)?,
                            "timeout_secs" => {
                                job.timeout_secs = match jval {
                                    Value::Number(n) => {
                                        n.as_u64().and_then(|t| u32::try_from(t).ok())
                                    }
                                    _ => None,
                                }
                                .ok_or_else(|| ctx.err(&jpath, "expected a non-negative integer"))?
                            }
                            _ => ctx.not_modeled(&jpath),
                        }
                    }
                    if job.name.is_empty() || job.command.is_empty() {
                        return Err(
                            ctx.err(&ipath, "a pre-deploy job needs a `name` and a `command`")
                        );
                    }
                    spec.pre_deploy.push(job);
                }
            }
            "update" => policy::berth_update(ctx, &kpath, val, spec)?,
            _ => ctx.not_modeled(&kpath),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Export.

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

fn strings(items: &[String]) -> Value {
    Value::Sequence(items.iter().map(|i| s(i)).collect())
}

/// Ports in long syntax: a short `80:80` is a base-60 number to YAML 1.1 parsers.
fn port_value(p: &PortSpec) -> Value {
    let mut m = Mapping::new();
    m.insert(s("target"), Value::Number(p.container_port.into()));
    if let Some(h) = p.host_port {
        m.insert(s("published"), s(&h.to_string()));
    }
    if !p.host_ip.is_empty() {
        m.insert(s("host_ip"), s(&p.host_ip));
    }
    m.insert(
        s("protocol"),
        s(if p.protocol.is_empty() {
            "tcp"
        } else {
            &p.protocol
        }),
    );
    Value::Mapping(m)
}

fn volume_value(v: &VolumeSpec) -> Value {
    if v.source.contains(':') || v.target.contains(':') || (v.source.is_empty() && v.read_only) {
        let mut m = Mapping::new();
        m.insert(
            s("type"),
            s(if is_named_volume(&v.source) || v.source.is_empty() {
                "volume"
            } else {
                "bind"
            }),
        );
        if !v.source.is_empty() {
            m.insert(s("source"), s(&v.source));
        }
        m.insert(s("target"), s(&v.target));
        if v.read_only {
            m.insert(s("read_only"), Value::Bool(true));
        }
        return Value::Mapping(m);
    }
    let mut out = if v.source.is_empty() {
        v.target.clone()
    } else {
        format!("{}:{}", v.source, v.target)
    };
    if v.read_only {
        out.push_str(":ro");
    }
    s(&out)
}

fn limits(cpus: Option<f64>, memory: Option<u64>) -> Option<Value> {
    let mut m = Mapping::new();
    if let Some(c) = cpus {
        m.insert(s("cpus"), Value::Number(c.into()));
    }
    if let Some(b) = memory {
        m.insert(s("memory"), s(&format_memory(b)));
    }
    (!m.is_empty()).then_some(Value::Mapping(m))
}

/// Renders services as a compose file. `environment` is a map with the values as given:
/// pass secrets as `${NAME}` (compose reads `${NAME}` and `$${` as Berth does, but would
/// also expand a bare `$NAME`). Ports are written in long syntax, volumes in short syntax
/// where possible, durations like `1m30s`, memory like `4G`; `deploy.replicas` is always
/// written. What compose cannot say (`http_port`, the HTTP health path, pre-deploy jobs)
/// goes under the service's `x-berth` key. Named volumes are declared at the top level.
/// [`import`] of the result gives the services back.
pub fn export(services: &[ServiceSpec]) -> String {
    let mut svcs = Mapping::new();
    let any_internal = services.iter().any(|s| s.internal);
    for spec in services {
        let mut m = Mapping::new();
        m.insert(s("image"), s(&spec.image));
        if !spec.command.is_empty() {
            m.insert(s("command"), strings(&spec.command));
        }
        runtime::export(&spec.runtime, &mut m);
        if let Some(restart) = spec.restart {
            m.insert(s("restart"), s(&restart.render()));
        }
        if let Some(deps) = policy::export_depends_on(spec) {
            m.insert(s("depends_on"), deps);
        }
        if let Some(nets) = networks::export_service_networks(any_internal, spec) {
            m.insert(s("networks"), nets);
        }
        let mut env: Mapping = spec.env.iter().map(|(k, v)| (s(k), s(v))).collect();
        match &spec.inherit {
            // Every variable of the environment: the exported .env file.
            None => {
                m.insert(s("env_file"), s(".env"));
            }
            Some(names) => {
                for n in names.iter().filter(|n| !spec.env.contains_key(*n)) {
                    env.insert(s(n), Value::Null);
                }
            }
        }
        if !env.is_empty() {
            m.insert(s("environment"), Value::Mapping(env));
        }
        if !spec.ports.is_empty() {
            m.insert(
                s("ports"),
                Value::Sequence(spec.ports.iter().map(port_value).collect()),
            );
        }
        if !spec.volumes.is_empty() {
            m.insert(
                s("volumes"),
                Value::Sequence(spec.volumes.iter().map(volume_value).collect()),
            );
        }
        if let Some(h) = &spec.health {
            let mut hm = Mapping::new();
            if !h.command.is_empty() {
                let mut test = vec!["CMD".to_string()];
                test.extend(h.command.iter().cloned());
                hm.insert(s("test"), strings(&test));
            }
            hm.insert(s("interval"), s(&format_duration(h.interval_secs)));
            hm.insert(s("timeout"), s(&format_duration(h.timeout_secs)));
            hm.insert(s("retries"), Value::Number(h.retries.into()));
            hm.insert(s("start_period"), s(&format_duration(h.start_period_secs)));
            m.insert(s("healthcheck"), Value::Mapping(hm));
        }
        let mut deploy = Mapping::new();
        deploy.insert(s("replicas"), Value::Number(spec.replicas.into()));
        let mut res = Mapping::new();
        let r = &spec.resources;
        if let Some(l) = limits(r.cpu_limit, r.memory_limit) {
            res.insert(s("limits"), l);
        }
        if let Some(l) = limits(r.cpu_reservation, r.memory_reservation) {
            res.insert(s("reservations"), l);
        }
        if !res.is_empty() {
            deploy.insert(s("resources"), Value::Mapping(res));
        }
        if let Some(u) = policy::export_update_config(spec) {
            deploy.insert(s("update_config"), u);
        }
        m.insert(s("deploy"), Value::Mapping(deploy));
        let mut ext = Mapping::new();
        if let Some(p) = spec.http_port {
            ext.insert(s("http_port"), Value::Number(p.into()));
        }
        if let Some(h) = spec.health.as_ref().filter(|h| !h.http_path.is_empty()) {
            ext.insert(s("health_path"), s(&h.http_path));
        }
        if !spec.pre_deploy.is_empty() {
            let jobs = spec
                .pre_deploy
                .iter()
                .map(|j| {
                    let mut jm = Mapping::new();
                    jm.insert(s("name"), s(&j.name));
                    jm.insert(s("command"), strings(&j.command));
                    jm.insert(s("timeout_secs"), Value::Number(j.timeout_secs.into()));
                    Value::Mapping(jm)
                })
                .collect();
            ext.insert(s("pre_deploy"), Value::Sequence(jobs));
        }
        if spec.update == Some(crate::lifecycle::Update::Manual) {
            ext.insert(s("update"), s("manual"));
        }
        if !ext.is_empty() {
            m.insert(s("x-berth"), Value::Mapping(ext));
        }
        svcs.insert(s(&spec.name), Value::Mapping(m));
    }
    let mut root = Mapping::new();
    root.insert(s("services"), Value::Mapping(svcs));
    if let Some(vols) = networks::export_volumes(services) {
        root.insert(s("volumes"), vols);
    }
    if let Some(nets) = networks::export_networks(any_internal) {
        root.insert(s("networks"), nets);
    }
    let text = serde_norway::to_string(&Value::Mapping(root)).unwrap_or_default();
    // `no` unquoted is `false` to YAML 1.1 parsers (docker-compose v1 among them).
    text.lines()
        .map(|l| {
            if l == "    restart: no" {
                "    restart: 'no'"
            } else {
                l
            }
        })
        .fold(String::with_capacity(text.len() + 8), |mut out, l| {
            out.push_str(l);
            out.push('\n');
            out
        })
}
