//! `berth-load`'s core against the real demo server and against misbehaving fake servers.

#[path = "support/spawn.rs"]
mod spawn;

use berth_demo::config::Config;
use berth_demo::load::{self, args::LoadConfig, report::Report};
use spawn::{config, start, VERSION};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

fn load_for(addr: SocketAddr, path: &str, millis: u64) -> LoadConfig {
    let mut cfg = LoadConfig::for_url(&format!("http://{addr}{path}")).unwrap();
    cfg.host = "site-a.local".into();
    cfg.connections = 4;
    cfg.duration = Some(Duration::from_millis(millis));
    cfg
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Demo-Version: fake\r\n\r\n{}";

/// A fake server: each accepted connection is handed to `conn` on its own thread.
fn fake(conn: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || conn(stream));
        }
    });
    addr
}

/// Reads until the end of one request head (these fake requests have no body).
fn read_request(stream: &mut TcpStream) -> bool {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => return false,
        }
    }
    true
}

#[test]
fn load_against_the_demo_sees_no_failures() {
    let server = start(config());
    let report: Report = load::run(&load_for(server.addr, "/api/health", 700));
    let t = &report.tally;
    assert!(t.requests > 100, "{}", report.to_human());
    assert_eq!((t.failed, t.ok), (0, t.requests), "{}", report.to_human());
    assert_eq!(t.versions.get(VERSION), Some(&t.requests));
    assert_eq!(t.statuses.get(&200), Some(&t.requests));
    assert!(report.percentile_ms(0.5) <= report.percentile_ms(0.99));
    assert!(report.rps() > 0.0);
    server.stop();
}

#[test]
fn non_200_answers_count_as_failures_by_status() {
    let server = start(Config {
        start_unhealthy: true,
        ..config()
    });
    let report = load::run(&load_for(server.addr, "/api/health", 200));
    let t = &report.tally;
    assert!(t.requests > 0);
    assert_eq!(t.failed, t.requests);
    assert_eq!(t.errors.get("http_503"), Some(&t.requests));
    server.stop();
}

#[test]
fn the_keep_alive_close_race_is_retried_not_failed() {
    // Answers one request per connection without announcing a close, then closes as soon
    // as the next request arrives: every reuse loses the race.
    let addr = fake(|mut stream| {
        if read_request(&mut stream) && stream.write_all(OK).is_ok() {
            read_request(&mut stream);
        }
    });
    let mut cfg = load_for(addr, "/", 300);
    cfg.connections = 2;
    let report = load::run(&cfg);
    let t = &report.tally;
    assert!(t.requests > 10, "{}", report.to_human());
    assert_eq!(t.failed, 0, "{}", report.to_human());
    assert!(t.retried > 0, "{}", report.to_human());
    assert_eq!(t.versions.get("fake"), Some(&t.ok));
}

#[test]
fn a_close_on_a_fresh_connection_is_a_failure() {
    let addr = fake(|mut stream| {
        read_request(&mut stream);
    });
    let report = load::run(&load_for(addr, "/", 200));
    let t = &report.tally;
    assert!(t.requests > 0);
    assert_eq!(
        (t.failed, t.retried),
        (t.requests, 0),
        "{}",
        report.to_human()
    );
    assert_eq!(t.errors.get("eof"), Some(&t.requests));
}

#[test]
fn a_close_mid_response_is_a_failure() {
    let addr = fake(|mut stream| {
        if read_request(&mut stream) {
            let _ = stream.write_all(&OK[..20]);
        }
    });
    let report = load::run(&load_for(addr, "/", 200));
    let t = &report.tally;
    assert_eq!(t.failed, t.requests, "{}", report.to_human());
    assert_eq!(t.errors.get("partial_response"), Some(&t.requests));
}

#[test]
fn a_silent_server_is_a_timeout() {
    let addr = fake(|mut stream| {
        read_request(&mut stream);
        thread::sleep(Duration::from_secs(2));
    });
    let mut cfg = load_for(addr, "/", 100);
    cfg.connections = 1;
    cfg.timeout = Duration::from_millis(300);
    let report = load::run(&cfg);
    assert_eq!(
        report.tally.errors.get("timeout"),
        Some(&1),
        "{}",
        report.to_human()
    );
}

#[test]
fn refused_connections_are_failures() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let report = load::run(&load_for(addr, "/", 100));
    let t = &report.tally;
    assert!(t.requests > 0);
    assert_eq!(t.errors.get("connect_refused"), Some(&t.requests));
}

#[test]
fn a_rate_caps_requests_per_connection() {
    let server = start(config());
    let mut cfg = load_for(server.addr, "/api/health", 1000);
    (cfg.connections, cfg.rate) = (2, Some(20.0));
    let report = load::run(&cfg);
    let n = report.tally.requests;
    assert!((30..=44).contains(&n), "{n} requests at 2 × 20/s for 1 s");
    server.stop();
}

#[test]
fn until_file_stops_the_run_when_the_file_appears() {
    let server = start(config());
    let flag = std::env::temp_dir().join(format!("berth-load-{}", std::process::id()));
    let _ = std::fs::remove_file(&flag);
    let mut cfg = load_for(server.addr, "/api/health", 1);
    (cfg.duration, cfg.until_file) = (None, Some(flag.clone()));
    let creator = {
        let flag = flag.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            std::fs::write(flag, "done").unwrap();
        })
    };
    let report = load::run(&cfg);
    creator.join().unwrap();
    std::fs::remove_file(&flag).unwrap();
    assert!(
        report.duration >= Duration::from_millis(300),
        "{:?}",
        report.duration
    );
    assert!(report.duration < Duration::from_secs(2));
    assert_eq!(report.tally.failed, 0);
    server.stop();
}

#[test]
fn the_json_report_has_every_field() {
    let server = start(config());
    let json = load::run(&load_for(server.addr, "/api/health", 100)).to_json();
    for field in [
        "\"requests\":",
        "\"ok\":",
        "\"failed\":0,",
        "\"retried\":",
        "\"errors\":{}",
        "\"statuses\":{\"200\":",
        "\"versions\":{\"v-test\":",
        "\"p50_ms\":",
        "\"p99_ms\":",
        "\"max_ms\":",
        "\"duration_s\":",
        "\"rps\":",
    ] {
        assert!(json.contains(field), "{field} missing in {json}");
    }
    server.stop();
}
