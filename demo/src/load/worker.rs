//! One load connection: keep-alive GETs in a loop, retrying like a browser or hyper's pool.

use super::args::LoadConfig;
use super::report::Tally;
use crate::client::{get_request, Conn, Failure, Response};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Pause after a failed connect, so a refused port does not become a busy loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

enum Error {
    Connect(&'static str),
    Exchange(Failure),
}

impl Error {
    fn kind(&self) -> &'static str {
        match self {
            Self::Connect(kind) => kind,
            Self::Exchange(failure) => failure.kind(),
        }
    }
}

struct Worker<'a> {
    cfg: &'a LoadConfig,
    request: Vec<u8>,
    /// Kept only after a complete keep-alive exchange, so `Some` means "reused".
    conn: Option<Conn>,
    tally: Tally,
}

/// Sends requests until `stop` is set; returns what happened.
pub fn run(cfg: &LoadConfig, stop: &AtomicBool) -> Tally {
    let mut worker = Worker {
        cfg,
        request: get_request(&cfg.host, &cfg.path, false),
        conn: None,
        tally: Tally::default(),
    };
    let started = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if let Some(rate) = cfg.rate {
            let due = started + Duration::from_secs_f64(sent as f64 / rate);
            if !sleep_until(due, stop) {
                break;
            }
        }
        worker.one();
        sent += 1;
    }
    worker.tally
}

/// Sleeps in short slices; false if `stop` was set meanwhile.
fn sleep_until(due: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let left = due.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        thread::sleep(left.min(Duration::from_millis(50)));
    }
}

impl Worker<'_> {
    fn one(&mut self) {
        let started = Instant::now();
        match self.attempt() {
            Ok(response) => self.tally.record_response(&response, started.elapsed()),
            Err(error) => self.tally.record_failure(error.kind()),
        }
    }

    /// A request written on a reused connection that was closed or reset before any byte
    /// of the response is the keep-alive close race: resend it once on a fresh connection.
    fn attempt(&mut self) -> Result<Response, Error> {
        let reused = self.conn.is_some();
        match self.exchange() {
            Err(Error::Exchange(f)) if reused && f.before_response() => {
                self.tally.retried += 1;
                self.exchange()
            }
            outcome => outcome,
        }
    }

    fn exchange(&mut self) -> Result<Response, Error> {
        let (addr, timeout) = (self.cfg.addr, self.cfg.timeout);
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => Conn::connect(addr, timeout).map_err(|e| {
                thread::sleep(CONNECT_BACKOFF);
                Error::Connect(connect_kind(&e))
            })?,
        };
        let conn = self.conn.insert(conn);
        let outcome = conn.exchange(&self.request, timeout);
        if !outcome.as_ref().is_ok_and(|r| r.keep_alive) {
            self.conn = None;
        }
        outcome.map_err(Error::Exchange)
    }
}

fn connect_kind(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connect_refused",
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "connect_timeout",
        _ => "connect_error",
    }
}
