//! The metrics access log: one line per request that nginx sends to Berth over UDP syslog,
//! written by [`log_format`] and read back by [`parse_datagram`] — the field order lives here
//! only.
//!
//! A line carries only what request metrics need, never the URL, query string, headers or
//! client address (they can carry tokens and personal data):
//!
//! ```text
//! berth1 <env id> <token> $server_name $request_method $status $request_time $bytes_sent $upstream_response_time
//! ```
//!
//! - `<env id> <token>` are literal in the config ([`AccessLogSink::prefix`]): the
//!   environment the server blocks belong to, and a key Berth derives for it, so a datagram
//!   from anything else that can reach the socket is told apart and dropped.
//! - `$server_name` is the first name of the `server` block (the site's primary hostname in
//!   the environment): chosen by the configuration, never by the client's `Host` header, so
//!   the number of `site` values stays bounded. A request whose `Host` matches no site lands
//!   in nginx's default server for the port, which counts for that server's site.
//! - `$upstream_response_time` is last: with retries it holds several values (`0.010, 0.004`,
//!   ` : ` between internal redirects), spaces included.
//!
//! nginx's syslog framing with `nohostname` is `<PRI>Mmm dd hh:mm:ss TAG: MESSAGE`.

/// Where nginx sends the metrics access log, and what identifies the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessLogSink {
    /// The UDP syslog socket as nginx reaches it: `127.0.0.1:5514`, `[::1]:5514`.
    pub server: std::net::SocketAddr,
    /// The environment's database id.
    pub environment_id: i64,
    /// Berth's key for this environment: 32 lowercase hex digits.
    pub token: String,
}

impl AccessLogSink {
    /// The literal start of every line.
    pub fn prefix(&self) -> String {
        format!("{VERSION} {} {}", self.environment_id, self.token)
    }

    pub(super) fn check(&self) -> Result<(), String> {
        if self.token.len() != 32 || !self.token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the token must be 32 hex digits".into());
        }
        if self.server.port() == 0 {
            return Err("the syslog server needs a port".into());
        }
        Ok(())
    }
}

const VERSION: &str = "berth1";
/// The syslog tag nginx writes (at most 32 letters, digits and `_`).
pub const SYSLOG_TAG: &str = "berth";
/// The most bytes a datagram may have; longer ones are not from Berth's format.
pub const MAX_DATAGRAM: usize = 1024;

/// The `log_format` line for `name`, ending in a newline.
pub(super) fn log_format(name: &str, sink: &AccessLogSink) -> String {
    format!(
        "log_format {name} escape=default '{} $server_name $request_method $status '\n\
         \x20   '$request_time $bytes_sent $upstream_response_time';\n",
        sink.prefix()
    )
}

/// The `access_log` directive of a server block.
pub(super) fn access_log(name: &str, sink: &AccessLogSink) -> String {
    format!(
        "access_log syslog:server={},facility=local7,tag={SYSLOG_TAG},severity=info,nohostname {name};",
        sink.server
    )
}

/// One request, as read from a datagram.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessLine<'a> {
    pub environment_id: i64,
    /// As sent; the receiver checks it against its own key.
    pub token: &'a str,
    /// The `server` block's name (a hostname, lower case).
    pub site: &'a str,
    pub method: Method,
    pub status: u16,
    /// Seconds from the first byte read from the client to the last byte sent.
    pub request_time: f64,
    pub bytes_sent: u64,
    /// Seconds spent waiting on upstreams, summed over tries; `None` when nginx answered
    /// itself (no upstream).
    pub upstream_time: Option<f64>,
}

/// Methods as a bounded set: anything else is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    fn of(m: &str) -> Method {
        match m {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other => "OTHER",
        }
    }
}

/// Why a datagram was dropped (each a counter of the receiver).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum LineError {
    #[error("too long")]
    TooLong,
    #[error("not syslog from nginx with Berth's tag")]
    Framing,
    #[error("not Berth's format")]
    Format,
    #[error("a field out of range")]
    Field,
}

/// Reads one datagram. Never panics, whatever the bytes.
pub fn parse_datagram(datagram: &[u8]) -> Result<AccessLine<'_>, LineError> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(LineError::TooLong);
    }
    let text = std::str::from_utf8(datagram).map_err(|_| LineError::Framing)?;
    let text = text.trim_end_matches(['\n', '\r', '\0']);
    // `<PRI>`: 1 to 3 digits.
    let rest = text.strip_prefix('<').ok_or(LineError::Framing)?;
    let (pri, rest) = rest.split_once('>').ok_or(LineError::Framing)?;
    if pri.is_empty() || pri.len() > 3 || !pri.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LineError::Framing);
    }
    // The timestamp (`Mmm dd hh:mm:ss `, 16 bytes), then `TAG: `.
    let rest = rest.get(16..).ok_or(LineError::Framing)?;
    let message = rest
        .strip_prefix(SYSLOG_TAG)
        .and_then(|r| r.strip_prefix(": "))
        .ok_or(LineError::Framing)?;
    parse_message(message)
}

fn parse_message(message: &str) -> Result<AccessLine<'_>, LineError> {
    let mut f = message.splitn(9, ' ');
    let mut next = || f.next().ok_or(LineError::Format);
    if next()? != VERSION {
        return Err(LineError::Format);
    }
    let environment_id: i64 = next()?.parse().map_err(|_| LineError::Format)?;
    let token = next()?;
    let site = next()?;
    let method = next()?;
    let status = next()?;
    let request_time = next()?;
    let bytes_sent = next()?;
    let upstream = next()?;
    if environment_id <= 0 || token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LineError::Format);
    }
    if site.is_empty()
        || site.len() > 253
        || !site
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.*_".contains(&b))
    {
        return Err(LineError::Field);
    }
    if method.len() > 32 {
        return Err(LineError::Field);
    }
    let status: u16 = match status.parse() {
        Ok(s) if (100..=599).contains(&s) && status.len() == 3 => s,
        _ => return Err(LineError::Field),
    };
    let request_time = seconds(request_time).ok_or(LineError::Field)?;
    let bytes_sent: u64 = bytes_sent.parse().map_err(|_| LineError::Field)?;
    let upstream_time = upstream_seconds(upstream)?;
    Ok(AccessLine {
        environment_id,
        token,
        site,
        method: Method::of(method),
        status,
        request_time,
        bytes_sent,
        upstream_time,
    })
}

/// nginx's `1.234` (milliseconds resolution); at most a day.
fn seconds(s: &str) -> Option<f64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v <= 86_400.0)
}

/// `-`, `0.004`, `0.010, 0.004`, `0.002 : 0.003`: the tries summed; `None` without any.
fn upstream_seconds(s: &str) -> Result<Option<f64>, LineError> {
    if s.len() > 256 {
        return Err(LineError::Field);
    }
    let mut total = None;
    for part in s.split([',', ':']).map(str::trim) {
        if part == "-" {
            continue;
        }
        let v = seconds(part).ok_or(LineError::Field)?;
        total = Some(total.unwrap_or(0.0) + v);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn line(msg: &str) -> Vec<u8> {
        format!("<190>Dec  7 23:51:07 berth: {msg}").into_bytes()
    }

    #[test]
    fn reads_a_line_as_nginx_frames_it() {
        let d = line(&format!(
            "berth1 7 {TOKEN} site-a.local GET 404 0.012 512 0.010, 0.001 : 0.002"
        ));
        let l = parse_datagram(&d).expect("parses");
        assert_eq!(l.environment_id, 7);
        assert_eq!(l.site, "site-a.local");
        assert_eq!(l.method, Method::Get);
        assert_eq!(l.status, 404);
        assert_eq!(l.request_time, 0.012);
        assert_eq!(l.bytes_sent, 512);
        assert!((l.upstream_time.unwrap() - 0.013).abs() < 1e-9);
        let d = line(&format!("berth1 7 {TOKEN} a.local BREW 200 0.000 0 -"));
        let l = parse_datagram(&d).expect("parses");
        assert_eq!((l.method, l.upstream_time), (Method::Other, None));
        // A request line nginx could not read (400): no method, `-`.
        for method in ["-", ""] {
            let d = line(&format!(
                "berth1 7 {TOKEN} a.local {method} 400 0.000 150 -"
            ));
            let l = parse_datagram(&d).expect("parses");
            assert_eq!((l.method, l.status), (Method::Other, 400));
        }
    }

    #[test]
    fn hostile_datagrams_are_refused_without_panicking() {
        let ok = format!("berth1 7 {TOKEN} a.local GET 200 0.001 10 0.001");
        let cases: Vec<(Vec<u8>, LineError)> = vec![
            (Vec::new(), LineError::Framing),
            (b"<".to_vec(), LineError::Framing),
            (b"<>".to_vec(), LineError::Framing),
            (
                b"<1900>Dec  7 23:51:07 berth: x".to_vec(),
                LineError::Framing,
            ),
            (b"<190>short".to_vec(), LineError::Framing),
            (vec![0xff, 0xfe, b'<'], LineError::Framing),
            (
                format!("<190>Dec  7 23:51:07 other: {ok}").into_bytes(),
                LineError::Framing,
            ),
            // A multi-byte character where the timestamp ends must not split a char.
            (
                "<190>Dec  7 23:51:0é berth: x".as_bytes().to_vec(),
                LineError::Framing,
            ),
            (vec![b'a'; MAX_DATAGRAM + 1], LineError::TooLong),
            (line("berth2 7 x"), LineError::Format),
            (line("berth1"), LineError::Format),
            (
                line(&format!("berth1 -3 {TOKEN} a GET 200 0 0 -")),
                LineError::Format,
            ),
            (
                line(&format!(
                    "berth1 99999999999999999999 {TOKEN} a GET 200 0 0 -"
                )),
                LineError::Format,
            ),
            (line("berth1 7 nothex a GET 200 0 0 -"), LineError::Format),
            (
                line(&format!("berth1 7 {TOKEN} a GET 200 0 0")),
                LineError::Format,
            ),
            (
                line(&format!("berth1 7 {TOKEN} A.LOCAL GET 200 0 0 -")),
                LineError::Field,
            ),
            (
                line(&format!("berth1 7 {TOKEN} a\"b GET 200 0 0 -")),
                LineError::Field,
            ),
            (
                line(&format!("berth1 7 {TOKEN} a GET 2000 0 0 -")),
                LineError::Field,
            ),
            (
                line(&format!("berth1 7 {TOKEN} a GET 099 0 0 -")),
                LineError::Field,
            ),
            (
                line(&format!("berth1 7 {TOKEN} a GET 200 -1 0 -")),
                LineError::Field,
            ),
            (
                line(&format!("berth1 7 {TOKEN} a GET 200 NaN 0 -")),
                LineError::Field,
            ),
            (
                line(&format!("berth1 7 {TOKEN} a GET 200 1e308 0 -")),
                LineError::Field,
            ),
            (
                line(&format!("berth1 7 {TOKEN} a GET 200 99999999 0 -")),
                LineError::Field,
            ),
            (
                line(&format!("berth1 7 {TOKEN} a GET 200 0 -5 -")),
                LineError::Field,
            ),
            (
                line(&format!("berth1 7 {TOKEN} a GET 200 0 0 inf")),
                LineError::Field,
            ),
            (
                line(&format!("berth1 7 {TOKEN} a GET 200 0 0 0.1, x")),
                LineError::Field,
            ),
        ];
        for (d, want) in cases {
            assert_eq!(
                parse_datagram(&d).map(|_| ()),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&d)
            );
        }
        // Every prefix and every single-byte change of a good line: no panic.
        let good = line(&ok);
        for i in 0..good.len() {
            let _ = parse_datagram(&good[..i]);
            for b in [0u8, b' ', b'>', b':', 0xc3, 0x80, b'9'] {
                let mut d = good.clone();
                d[i] = b;
                let _ = parse_datagram(&d);
            }
        }
    }
}
