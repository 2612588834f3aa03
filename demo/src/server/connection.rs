//! One client connection: reads requests (keep-alive, pipelining), answers them, and closes
//! without resetting a response the client has not read yet.

use super::Control;
use crate::app::{self, State};
use crate::http::request::{self, Head, ParseError};
use crate::http::response::{Framing, Response};
use crate::http::Version;
use crate::log;
use crate::metrics::Observation;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// How often a blocked read wakes up to look at the shutdown flag.
const POLL: Duration = Duration::from_millis(200);
/// Longer than nginx's upstream `keepalive_timeout` (60 s), so that nginx closes first.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Time to receive the rest of a request once its first byte arrived.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// After `Connection: close`, how long to read and discard what the client still sends:
/// closing with unread data makes the kernel send a reset that can destroy the response.
const LINGER: Duration = Duration::from_millis(500);
const LINGER_MAX_BYTES: usize = 1 << 20;

pub fn serve(stream: TcpStream, state: &State, control: &Control) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut conn = Conn {
        stream,
        buf: Vec::with_capacity(4096),
        served: 0,
    };
    loop {
        match conn.serve_one(state, control) {
            Next::Continue => {}
            Next::Close => return,
            Next::Linger => return conn.linger(),
        }
    }
}

enum Next {
    Continue,
    /// Close now: the peer is gone, or nothing is in flight.
    Close,
    /// A `Connection: close` response was written: shut down politely.
    Linger,
}

enum Fill {
    Data,
    Tick,
    Gone,
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    served: u64,
}

impl Conn {
    fn fill(&mut self) -> Fill {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) => Fill::Gone,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Fill::Data
            }
            Err(e) if is_tick(e.kind()) => Fill::Tick,
            Err(_) => Fill::Gone,
        }
    }

    fn serve_one(&mut self, state: &State, control: &Control) -> Next {
        let (head, used) = match self.read_head(control) {
            Ok(Some(found)) => found,
            Ok(None) => return Next::Close,
            Err(e) => return self.reject(state, e, None),
        };
        self.buf.drain(..used);
        let started = Instant::now();
        let (site, body) = match self.read_rest(&head) {
            Ok(rest) => rest,
            Err(Some(e)) => return self.reject(state, e, Some(&head)),
            Err(None) => return Next::Close,
        };
        let req = app::Request {
            head: &head,
            site: &site,
            body: &body,
        };
        let routed = app::handle(state, &req);
        let keep_alive = head.keep_alive() && !routed.response.close && !control.stopping();
        let framing = Framing {
            version: head.version,
            keep_alive,
            head_only: head.method == "HEAD",
            demo_version: &state.config.version,
        };
        let written = self
            .stream
            .write_all(&routed.response.encode(&framing))
            .is_ok();
        self.served += 1;
        let (status, duration) = (routed.response.status, started.elapsed());
        let method = head.method.as_str();
        let view = routed.view;
        state.metrics.observe(&Observation {
            site: &site,
            method,
            view,
            status,
            duration,
        });
        if state.config.access_log {
            log::access(method, &head.target, &site, status, duration);
        }
        log::print_var(&state.config.print_var);
        match (written, keep_alive) {
            (false, _) => Next::Close,
            (true, true) => Next::Continue,
            (true, false) => Next::Linger,
        }
    }

    /// The next request head; `Ok(None)` when the connection should just close.
    fn read_head(&mut self, control: &Control) -> Result<Option<(Head, usize)>, ParseError> {
        let waiting_since = Instant::now();
        let mut first_byte: Option<Instant> = None;
        loop {
            let blank = request::skip_empty_lines(&self.buf);
            self.buf.drain(..blank);
            if let Some(found) = request::parse_head(&self.buf)? {
                return Ok(Some(found));
            }
            if self.buf.is_empty() {
                let waited = waiting_since.elapsed();
                // A fresh connection gets one poll to send its request: it may be one the
                // kernel accepted just before the shutdown.
                let drained = control.stopping() && (self.served > 0 || waited >= POLL);
                if drained || waited >= IDLE_TIMEOUT {
                    return Ok(None);
                }
            } else if first_byte.get_or_insert_with(Instant::now).elapsed() >= REQUEST_TIMEOUT {
                return Err(ParseError::Timeout);
            }
            if let Fill::Gone = self.fill() {
                return Ok(None);
            }
        }
    }

    /// The site and the body; `Err(None)` when the client went away.
    fn read_rest(&mut self, head: &Head) -> Result<(String, Vec<u8>), Option<ParseError>> {
        let site = head.site().map_err(Some)?;
        let len = head.content_length().map_err(Some)?;
        if head.expects_continue() && self.buf.len() < len {
            let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
            self.stream.write_all(interim).map_err(|_| None)?;
        }
        let started = Instant::now();
        while self.buf.len() < len {
            if started.elapsed() >= REQUEST_TIMEOUT {
                return Err(Some(ParseError::Timeout));
            }
            if let Fill::Gone = self.fill() {
                return Err(None);
            }
        }
        Ok((site, self.buf.drain(..len).collect()))
    }

    /// Answers a request that cannot be served, and ends the connection.
    fn reject(&mut self, state: &State, error: ParseError, head: Option<&Head>) -> Next {
        let response = Response::error(error.status(), error.detail()).closing();
        let framing = Framing {
            version: head.map_or(Version::Http11, |h| h.version),
            keep_alive: false,
            head_only: false,
            demo_version: &state.config.version,
        };
        let written = self.stream.write_all(&response.encode(&framing)).is_ok();
        if state.config.access_log {
            let (method, target) =
                head.map_or(("-", "-"), |h| (h.method.as_str(), h.target.as_str()));
            log::access(method, target, "-", error.status(), Duration::ZERO);
        }
        if written {
            Next::Linger
        } else {
            Next::Close
        }
    }

    /// Half-closes, then reads and drops whatever the client still sends until it closes.
    fn linger(mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(50)));
        let deadline = Instant::now() + LINGER;
        let mut drained = 0;
        let mut chunk = [0u8; 8192];
        while Instant::now() < deadline && drained < LINGER_MAX_BYTES {
            match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => drained += n,
                Err(e) if is_tick(e.kind()) => {}
                Err(_) => return,
            }
        }
    }
}

fn is_tick(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}
