//! Starts the demo server in-process on port 0, with `process::exit` swapped for a recorder.
// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use berth_demo::app::State;
use berth_demo::client::{get_request, Conn, Response};
use berth_demo::config::Config;
use berth_demo::server::{Server, ShutdownHandle};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

pub const VERSION: &str = "v-test";

pub struct Running {
    pub addr: SocketAddr,
    pub handle: ShutdownHandle,
    pub exits: Arc<Mutex<Vec<i32>>>,
    thread: JoinHandle<usize>,
}

pub fn config() -> Config {
    Config {
        version: VERSION.into(),
        access_log: false,
        ..Config::default()
    }
}

pub fn start(config: Config) -> Running {
    let exits = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&exits);
    let hook = Arc::new(move |code| recorded.lock().unwrap().push(code));
    let state = Arc::new(State::new(config).with_exit_hook(hook));
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), state).unwrap();
    let (addr, handle) = (server.local_addr(), server.shutdown_handle());
    let thread = thread::spawn(move || server.run());
    Running {
        addr,
        handle,
        exits,
        thread,
    }
}

impl Running {
    /// Shuts down and returns how many connections the drain had to cut.
    pub fn stop(self) -> usize {
        self.handle.shutdown();
        self.thread.join().unwrap()
    }

    pub fn connect(&self) -> Conn {
        Conn::connect(self.addr, Duration::from_secs(2)).unwrap()
    }

    /// One request on a fresh connection, through the crate's client.
    pub fn get(&self, host: &str, path: &str) -> Response {
        let request = get_request(host, path, true);
        self.connect()
            .exchange(&request, Duration::from_secs(5))
            .unwrap()
    }

    pub fn post(&self, path: &str) -> Response {
        let request = format!("POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
        let mut conn = self.connect();
        conn.exchange(request.as_bytes(), Duration::from_secs(5))
            .unwrap()
    }

    /// Writes raw bytes and returns everything the server sends until it closes.
    pub fn raw(&self, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(request).unwrap();
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

pub fn body(response: &Response) -> String {
    String::from_utf8(response.body.clone()).unwrap()
}
