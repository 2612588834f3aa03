//! `berth-load`'s command line.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: berth-load --url http://HOST[:PORT]/PATH [options]
  --host NAME          Host header (default: the URL's host[:port])
  --connections N      keep-alive connections (default 8)
  --duration D         run for D (20s, 500ms, 2m; default 10s unless --until-file)
  --until-file PATH    run until PATH exists (with --duration: whichever comes first)
  --rate N             at most N requests per second per connection
  --timeout D          per-request timeout (default 5s)
  --json               print the report as JSON";

pub const DEFAULT_CONNECTIONS: usize = 8;
pub const MAX_CONNECTIONS: usize = 4096;
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    pub url: String,
    pub addr: SocketAddr,
    /// The `Host` header sent.
    pub host: String,
    /// Path and query sent in the request line.
    pub path: String,
    pub connections: usize,
    pub duration: Option<Duration>,
    pub until_file: Option<PathBuf>,
    /// Requests per second per connection; `None` is as fast as possible.
    pub rate: Option<f64>,
    pub json: bool,
    pub timeout: Duration,
}

impl LoadConfig {
    /// A config for `url` with the defaults; tests adjust the fields.
    pub fn for_url(url: &str) -> Result<Self, String> {
        let (addr, authority, path) = parse_url(url)?;
        Ok(Self {
            url: url.to_string(),
            addr,
            host: authority,
            path,
            connections: DEFAULT_CONNECTIONS,
            duration: Some(DEFAULT_DURATION),
            until_file: None,
            rate: None,
            json: false,
            timeout: DEFAULT_TIMEOUT,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run(LoadConfig),
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let (mut url, mut host, mut connections) = (None, None, DEFAULT_CONNECTIONS);
    let (mut duration, mut until_file, mut rate) = (None, None, None);
    let (mut json, mut timeout) = (false, DEFAULT_TIMEOUT);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, v)) if flag.starts_with("--") => (flag, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            (inline.clone().or_else(|| it.next().cloned()))
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--url" => url = Some(value()?),
            "--host" => host = Some(value()?),
            "--connections" | "-c" => connections = parse_connections(&value()?)?,
            "--duration" | "-d" => duration = Some(parse_duration(&value()?)?),
            "--until-file" => until_file = Some(PathBuf::from(value()?)),
            "--rate" => rate = Some(parse_rate(&value()?)?),
            "--timeout" => timeout = parse_duration(&value()?)?,
            "--json" if inline.is_none() => json = true,
            "-h" | "--help" => return Ok(Command::Help),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    let mut cfg = LoadConfig::for_url(&url.ok_or("--url is required")?)?;
    cfg.host = host.unwrap_or(cfg.host);
    cfg.duration = duration.or(until_file.is_none().then_some(DEFAULT_DURATION));
    Ok(Command::Run(LoadConfig {
        connections,
        until_file,
        rate,
        json,
        timeout,
        ..cfg
    }))
}

/// `http://host[:port]/path` → (address, `host[:port]`, `/path`).
pub fn parse_url(url: &str) -> Result<(SocketAddr, String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?}: only http:// URLs are supported"))?;
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(cut);
    if authority.is_empty() {
        return Err(format!("{url:?}: no host"));
    }
    let path = match path {
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_string(),
    };
    Ok((resolve(authority)?, authority.to_string(), path))
}

fn resolve(authority: &str) -> Result<SocketAddr, String> {
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let with_port = match has_port {
        true => authority.to_string(),
        false => format!("{authority}:80"),
    };
    if let Ok(addr) = with_port.parse() {
        return Ok(addr);
    }
    let mut addrs = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {authority:?}: {e}"))?;
    addrs
        .next()
        .ok_or_else(|| format!("{authority:?} resolves to nothing"))
}

/// `20s`, `500ms`, `2m`, or plain seconds (`1.5`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.trim() {
        t if t.ends_with("ms") => (&t[..t.len() - 2], 0.001),
        t if t.ends_with('s') => (&t[..t.len() - 1], 1.0),
        t if t.ends_with('m') => (&t[..t.len() - 1], 60.0),
        t => (t, 1.0),
    };
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(Duration::from_secs_f64(n * unit)),
        _ => Err(format!("bad duration {s:?} (try 20s, 500ms or 2m)")),
    }
}

fn parse_connections(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONNECTIONS).contains(&n) => Ok(n),
        _ => Err(format!(
            "--connections must be 1 to {MAX_CONNECTIONS}, got {s:?}"
        )),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!("--rate must be a positive number, got {s:?}")),
    }
}
