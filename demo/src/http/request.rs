//! Parsing an HTTP/1.x request head: request line, headers, body framing, keep-alive, host.

use super::{is_token_byte, list_tokens, Version};

/// Longest accepted request head (request line and headers), like nginx's default buffers.
pub const MAX_HEAD: usize = 16 * 1024;
pub const MAX_HEADERS: usize = 100;
pub const MAX_BODY: usize = 1024 * 1024;

/// Why a request could not be served; each maps to one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    BadRequest(&'static str),
    HeadTooLarge,
    BodyTooLarge,
    Timeout,
    VersionNotSupported,
    NotImplemented(&'static str),
}

impl ParseError {
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Timeout => 408,
            Self::BodyTooLarge => 413,
            Self::HeadTooLarge => 431,
            Self::NotImplemented(_) => 501,
            Self::VersionNotSupported => 505,
        }
    }

    pub fn detail(self) -> &'static str {
        match self {
            Self::BadRequest(why) | Self::NotImplemented(why) => why,
            Self::HeadTooLarge => "request head too large",
            Self::BodyTooLarge => "request body too large",
            Self::Timeout => "request not received in time",
            Self::VersionNotSupported => "HTTP version not supported",
        }
    }
}

use ParseError::BadRequest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// The target as sent (`/api/feed?size=2`).
    pub target: String,
    pub path: String,
    pub query: String,
    pub version: Version,
    /// Header names are lowercased; order is kept.
    pub headers: Vec<(String, String)>,
    /// The authority of an absolute-form target, which overrides `Host` (RFC 9112 §3.2.2).
    authority: Option<String>,
}

/// Parses the head at the start of `buf`: `Ok(None)` until it is complete, else the head
/// and how many bytes of `buf` it used.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, ParseError> {
    let start = skip_empty_lines(buf);
    let Some((blank, end)) = find_head_end(buf, start) else {
        return match buf.len() > MAX_HEAD {
            true => Err(ParseError::HeadTooLarge),
            false => Ok(None),
        };
    };
    if end - start > MAX_HEAD {
        return Err(ParseError::HeadTooLarge);
    }
    let mut lines = buf[start..blank - 1].split(|&b| b == b'\n').map(strip_cr);
    let (method, target, version) = parse_request_line(lines.next().unwrap_or(Ok(b""))?)?;
    let headers = parse_headers(lines)?;
    let (path, query, authority) = split_target(&target)?;
    let head = Head {
        method,
        target,
        path,
        query,
        version,
        headers,
        authority,
    };
    Ok(Some((head, end)))
}

/// How many bytes of empty lines precede the request line; RFC 9112 §2.2 says to skip them.
pub fn skip_empty_lines(buf: &[u8]) -> usize {
    let mut i = 0;
    loop {
        match &buf[i..] {
            [b'\r', b'\n', ..] => i += 2,
            [b'\n', ..] => i += 1,
            _ => return i,
        }
    }
}

/// The start of the blank line that ends the head, and the index just past it.
fn find_head_end(buf: &[u8], start: usize) -> Option<(usize, usize)> {
    let mut line_start = start;
    for (i, &b) in buf.iter().enumerate().skip(start) {
        if b == b'\n' {
            if matches!(&buf[line_start..i], b"" | b"\r") {
                return Some((line_start, i + 1));
            }
            line_start = i + 1;
        }
    }
    None
}

fn strip_cr(line: &[u8]) -> Result<&[u8], ParseError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.contains(&b'\r') {
        true => Err(BadRequest("bare CR in request head")),
        false => Ok(line),
    }
}

fn parse_request_line(line: &[u8]) -> Result<(String, String, Version), ParseError> {
    let text = std::str::from_utf8(line).map_err(|_| BadRequest("malformed request line"))?;
    let parts: Vec<&str> = text.split(' ').collect();
    let [method, target, version] = parts[..] else {
        return Err(BadRequest("malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(BadRequest("invalid method"));
    }
    if target.is_empty() || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BadRequest("invalid request target"));
    }
    let version = match version {
        "HTTP/1.1" => Version::Http11,
        "HTTP/1.0" => Version::Http10,
        v if is_other_http_version(v) => return Err(ParseError::VersionNotSupported),
        _ => return Err(BadRequest("malformed HTTP version")),
    };
    Ok((method.to_string(), target.to_string(), version))
}

fn is_other_http_version(v: &str) -> bool {
    v.strip_prefix("HTTP/")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

fn parse_headers<'a>(
    lines: impl Iterator<Item = Result<&'a [u8], ParseError>>,
) -> Result<Vec<(String, String)>, ParseError> {
    let mut headers = Vec::new();
    for line in lines {
        let line = line?;
        if headers.len() == MAX_HEADERS {
            return Err(ParseError::HeadTooLarge);
        }
        headers.push(parse_header(line)?);
    }
    Ok(headers)
}

fn parse_header(line: &[u8]) -> Result<(String, String), ParseError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(BadRequest("obsolete header line folding"));
    }
    let colon = line.iter().position(|&b| b == b':');
    let colon = colon.ok_or(BadRequest("header line without a colon"))?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().copied().all(is_token_byte) {
        return Err(BadRequest("invalid header name"));
    }
    let value = value.trim_ascii();
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(BadRequest("invalid header value"));
    }
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    Ok((name, String::from_utf8_lossy(value).into_owned()))
}

/// Splits a target into path, query and (for absolute-form) authority.
fn split_target(target: &str) -> Result<(String, String, Option<String>), ParseError> {
    if target.contains('#') {
        return Err(BadRequest("fragment in request target"));
    }
    if target == "*" {
        return Ok(("*".into(), String::new(), None));
    }
    let (authority, rest) = match target.starts_with('/') {
        true => (None, target),
        false => split_absolute(target)?,
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = if path.is_empty() { "/" } else { path };
    Ok((path.into(), query.into(), authority))
}

fn split_absolute(target: &str) -> Result<(Option<String>, &str), ParseError> {
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let scheme_len = match lower {
        l if l.starts_with("http://") => 7,
        l if l.starts_with("https://") => 8,
        _ => return Err(BadRequest("invalid request target")),
    };
    let rest = &target[scheme_len..];
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    Ok((Some(rest[..cut].to_string()), &rest[cut..]))
}

impl Head {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn connection_has(&self, token: &str) -> bool {
        self.headers_named("connection")
            .flat_map(list_tokens)
            .any(|t| t == token)
    }

    /// Whether the client wants the connection kept open after this exchange.
    pub fn keep_alive(&self) -> bool {
        match self.version {
            _ if self.connection_has("close") => false,
            Version::Http11 => true,
            Version::Http10 => self.connection_has("keep-alive"),
        }
    }

    pub fn expects_continue(&self) -> bool {
        self.version == Version::Http11
            && self
                .header("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    }

    /// The body length; only `Content-Length` framing is supported.
    pub fn content_length(&self) -> Result<usize, ParseError> {
        if self.header("transfer-encoding").is_some() {
            return Err(ParseError::NotImplemented(
                "Transfer-Encoding is not supported",
            ));
        }
        let mut length = None;
        for part in self
            .headers_named("content-length")
            .flat_map(|v| v.split(','))
        {
            let n = parse_length(part.trim())?;
            if length.is_some_and(|l| l != n) {
                return Err(BadRequest("conflicting Content-Length headers"));
            }
            length = Some(n);
        }
        match length.unwrap_or(0) {
            n if n > MAX_BODY => Err(ParseError::BodyTooLarge),
            n => Ok(n),
        }
    }

    /// The site this request is for: the `Host` without its port, lowercased.
    pub fn site(&self) -> Result<String, ParseError> {
        let mut hosts = self.headers_named("host");
        let host = hosts.next();
        if hosts.next().is_some() {
            return Err(BadRequest("multiple Host headers"));
        }
        let raw = match (self.authority.as_deref(), host) {
            (Some(authority), _) => authority,
            (None, Some(host)) => host,
            (None, None) if self.version == Version::Http10 => return Ok(String::new()),
            (None, None) => return Err(BadRequest("missing Host header")),
        };
        super::host::site(raw).ok_or(BadRequest("invalid Host header"))
    }
}

fn parse_length(s: &str) -> Result<usize, ParseError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadRequest("invalid Content-Length"));
    }
    s.parse().map_err(|_| ParseError::BodyTooLarge)
}
