//! The HTTP client under `check` and `berth-load`: framing and failure kinds.

use berth_demo::client::{get_request, Conn, Failure};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `reply` once to the first connection, after reading its request head.
fn serve_once(reply: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !seen.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            seen.push(byte[0]);
        }
        let _ = stream.write_all(reply);
    });
    addr
}

fn fetch(reply: &'static [u8]) -> Result<berth_demo::client::Response, Failure> {
    let mut conn = Conn::connect(serve_once(reply), TIMEOUT).unwrap();
    conn.exchange(&get_request("a", "/", false), TIMEOUT)
}

#[test]
fn chunked_bodies_are_decoded() {
    let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n";
    let response = fetch(reply).unwrap();
    assert_eq!(response.body, b"abcde");
    assert!(response.keep_alive);
}

#[test]
fn interim_responses_are_skipped() {
    let reply =
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-Demo-Version: v9\r\n\r\n";
    let response = fetch(reply).unwrap();
    assert_eq!(response.status, 204);
    assert_eq!(response.header("x-demo-version"), Some("v9"));
}

#[test]
fn a_body_without_length_runs_to_the_close() {
    let response = fetch(b"HTTP/1.0 200 OK\r\n\r\nhello").unwrap();
    assert_eq!(response.body, b"hello");
    assert!(!response.keep_alive);
}

#[test]
fn connection_close_ends_keep_alive() {
    let response = fetch(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    assert!(!response.unwrap().keep_alive);
}

#[test]
fn failures_are_classified() {
    assert_eq!(
        fetch(b""),
        Err(Failure::ClosedBeforeResponse { reset: false })
    );
    assert_eq!(
        fetch(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab"),
        Err(Failure::Partial)
    );
    assert!(matches!(
        fetch(b"SMTP ready\r\n\r\n"),
        Err(Failure::Malformed(_))
    ));
    assert!(Failure::ClosedBeforeResponse { reset: true }.before_response());
    assert!(!Failure::Partial.before_response());
}
