//! The listener: a thread per connection, and a graceful drain on shutdown.

pub mod connection;

use crate::app::State;
use crate::log;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long in-flight requests get to finish after a shutdown request.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Beyond this many open connections, new ones are closed straight away.
pub const MAX_CONNECTIONS: usize = 4096;
const STACK_SIZE: usize = 256 * 1024;

/// What the accept loop, the connection threads and shutdown handles share.
pub struct Control {
    stopping: AtomicBool,
    active: AtomicUsize,
    wake_addr: SocketAddr,
}

impl Control {
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Waits for open connections to finish; returns how many are still open.
    fn drain(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        while self.active() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        self.active()
    }
}

/// Asks a running server to stop; cheap to clone and send to another thread.
#[derive(Clone)]
pub struct ShutdownHandle(Arc<Control>);

impl ShutdownHandle {
    /// Stops accepting; requests in flight finish, idle keep-alive connections close.
    pub fn shutdown(&self) {
        self.0.stopping.store(true, Ordering::SeqCst);
        // `accept` blocks: a connection of our own wakes it up to see the flag.
        let _ = TcpStream::connect_timeout(&self.0.wake_addr, Duration::from_millis(500));
    }
}

pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: Arc<State>,
    control: Arc<Control>,
}

impl Server {
    pub fn bind(addr: SocketAddr, state: Arc<State>) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let control = Arc::new(Control {
            stopping: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            wake_addr: wake_addr(local_addr),
        });
        Ok(Self {
            listener,
            local_addr,
            state,
            control,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(Arc::clone(&self.control))
    }

    /// Serves until shut down, then drains for up to [`DRAIN_TIMEOUT`]. Returns the number
    /// of connections still open at the end (0 when the drain was clean).
    pub fn run(self) -> usize {
        for stream in self.listener.incoming() {
            // Even the connection accepted as the stop came in gets served (with a close).
            match stream {
                Ok(stream) => self.spawn(stream),
                Err(e) => accept_failed(&e),
            }
            if self.control.stopping() {
                break;
            }
        }
        self.serve_backlog();
        drop(self.listener);
        self.control.drain(DRAIN_TIMEOUT)
    }

    /// Connections the kernel completed before the stop still get their request answered
    /// (with `Connection: close`) rather than a reset.
    fn serve_backlog(&self) {
        if self.listener.set_nonblocking(true).is_err() {
            return;
        }
        while let Ok((stream, _)) = self.listener.accept() {
            if stream.set_nonblocking(false).is_ok() {
                self.spawn(stream);
            }
        }
    }

    fn spawn(&self, stream: TcpStream) {
        let guard = ActiveGuard::enter(&self.control);
        if guard.count > MAX_CONNECTIONS {
            log::error(format_args!(
                "too many connections ({}), closing one",
                guard.count
            ));
            return;
        }
        let state = Arc::clone(&self.state);
        let spawned = thread::Builder::new()
            .name("berth-demo-conn".into())
            .stack_size(STACK_SIZE)
            .spawn(move || {
                connection::serve(stream, &state, &guard.control);
                drop(guard);
            });
        if let Err(e) = spawned {
            log::error(format_args!("cannot start a connection thread: {e}"));
        }
    }
}

/// Counts a connection as active for as long as it lives, even if its thread panics.
struct ActiveGuard {
    control: Arc<Control>,
    count: usize,
}

impl ActiveGuard {
    fn enter(control: &Arc<Control>) -> Self {
        let count = control.active.fetch_add(1, Ordering::SeqCst) + 1;
        Self {
            control: Arc::clone(control),
            count,
        }
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.control.active.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_failed(e: &io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
    ) {
        return;
    }
    // Out of file descriptors and the like: back off instead of spinning.
    log::error(format_args!("accept failed: {e}"));
    thread::sleep(Duration::from_millis(50));
}

/// Where to connect to wake our own `accept`: loopback when bound to the wildcard address.
fn wake_addr(local: SocketAddr) -> SocketAddr {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, local.port())
}
