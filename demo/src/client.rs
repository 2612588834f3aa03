//! A minimal HTTP/1.1 client over one TCP connection, enough for `berth-demo check` and
//! `berth-load`, with failures classified the way a keep-alive pool needs them.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

mod head;

use head::{find, head_end, head_keeps_alive, parse_head, Head};

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Names are lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Closed (`reset: false`) or reset before any byte of the response arrived. On a
    /// reused connection this is the race with the server's keep-alive close.
    ClosedBeforeResponse {
        reset: bool,
    },
    /// Closed or reset part-way through the response.
    Partial,
    Timeout,
    Malformed(&'static str),
    Io(ErrorKind),
}

impl Failure {
    /// A short name for counting failures by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ClosedBeforeResponse { reset: false } => "eof",
            Self::ClosedBeforeResponse { reset: true } => "reset",
            Self::Partial => "partial_response",
            Self::Timeout => "timeout",
            Self::Malformed(_) => "malformed_response",
            Self::Io(_) => "io",
        }
    }

    pub fn before_response(&self) -> bool {
        matches!(self, Self::ClosedBeforeResponse { .. })
    }
}

/// `GET path` with the headers a plain client sends.
pub fn get_request(host: &str, path: &str, close: bool) -> Vec<u8> {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: berth-load\r\n\
         Accept: application/json\r\n{connection}\r\n"
    )
    .into_bytes()
}

pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes received during the current exchange.
    received: usize,
}

impl Conn {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(4096),
            received: 0,
        })
    }

    /// Writes `request` and reads one complete response, all within `timeout`.
    pub fn exchange(&mut self, request: &[u8], timeout: Duration) -> Result<Response, Failure> {
        let deadline = Instant::now() + timeout;
        self.buf.clear();
        self.received = 0;
        let _ = self.stream.set_write_timeout(Some(timeout));
        if let Err(e) = self.stream.write_all(request) {
            return Err(self.io_failure(&e));
        }
        let head = self.read_head(deadline)?;
        let (body, until_close) = self.read_body(&head, deadline)?;
        let keep_alive = !until_close && head_keeps_alive(&head);
        let Head {
            status, headers, ..
        } = head;
        Ok(Response {
            status,
            headers,
            body,
            keep_alive,
        })
    }

    /// Reads more bytes: `Ok(false)` on a clean end of stream.
    fn fill(&mut self, deadline: Instant) -> Result<bool, Failure> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::Timeout);
            }
            let _ = self.stream.set_read_timeout(Some(left));
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.received += n;
                    return Ok(true);
                }
                Err(e) if is_tick(e.kind()) => {}
                Err(e) => return Err(self.io_failure(&e)),
            }
        }
    }

    fn fill_or_fail(&mut self, deadline: Instant) -> Result<(), Failure> {
        match self.fill(deadline)? {
            true => Ok(()),
            false if self.received == 0 => Err(Failure::ClosedBeforeResponse { reset: false }),
            false => Err(Failure::Partial),
        }
    }

    fn io_failure(&self, e: &io::Error) -> Failure {
        let reset = matches!(
            e.kind(),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
        );
        match (reset, self.received) {
            (true, 0) => Failure::ClosedBeforeResponse { reset: true },
            (true, _) => Failure::Partial,
            _ if is_tick(e.kind()) => Failure::Timeout,
            _ => Failure::Io(e.kind()),
        }
    }

    /// The final (non-1xx) response head; its bytes are removed from the buffer.
    fn read_head(&mut self, deadline: Instant) -> Result<Head, Failure> {
        loop {
            if let Some(end) = head_end(&self.buf) {
                let head = parse_head(&self.buf[..end])?;
                self.buf.drain(..end);
                if (100..200).contains(&head.status) && head.status != 101 {
                    continue;
                }
                return Ok(head);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(Failure::Malformed("response head too large"));
            }
            self.fill_or_fail(deadline)?;
        }
    }

    /// The body, and whether it was delimited by the connection closing.
    fn read_body(&mut self, head: &Head, deadline: Instant) -> Result<(Vec<u8>, bool), Failure> {
        if matches!(head.status, 204 | 304) {
            return Ok((Vec::new(), false));
        }
        if find(&head.headers, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            return self.read_chunked(deadline).map(|body| (body, false));
        }
        match find(&head.headers, "content-length") {
            Some(len) => {
                let len: usize = len.trim().parse().map_err(|_| bad("bad Content-Length"))?;
                self.read_exact_body(len, deadline)
                    .map(|body| (body, false))
            }
            None => self.read_to_close(deadline).map(|body| (body, true)),
        }
    }

    fn read_exact_body(&mut self, len: usize, deadline: Instant) -> Result<Vec<u8>, Failure> {
        if len > MAX_BODY {
            return Err(bad("response body too large"));
        }
        while self.buf.len() < len {
            self.fill_or_fail(deadline)?;
        }
        Ok(self.buf.drain(..len).collect())
    }

    fn read_to_close(&mut self, deadline: Instant) -> Result<Vec<u8>, Failure> {
        while self.fill(deadline)? {
            if self.buf.len() > MAX_BODY {
                return Err(bad("response body too large"));
            }
        }
        Ok(std::mem::take(&mut self.buf))
    }

    fn read_chunked(&mut self, deadline: Instant) -> Result<Vec<u8>, Failure> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(deadline)?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                while !self.read_line(deadline)?.is_empty() {}
                return Ok(body);
            }
            if body.len().saturating_add(size) > MAX_BODY {
                return Err(bad("response body too large"));
            }
            body.extend(self.read_exact_body(size, deadline)?);
            if !self.read_line(deadline)?.is_empty() {
                return Err(bad("chunk not followed by CRLF"));
            }
        }
    }

    fn read_line(&mut self, deadline: Instant) -> Result<String, Failure> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line = String::from_utf8_lossy(&self.buf[..pos]);
                let line = line.trim_end_matches('\r').to_string();
                self.buf.drain(..=pos);
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("line too long"));
            }
            self.fill_or_fail(deadline)?;
        }
    }
}

fn bad(why: &'static str) -> Failure {
    Failure::Malformed(why)
}

fn is_tick(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}
