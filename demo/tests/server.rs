//! The demo server over real TCP: endpoints, HTTP/1.x behaviour, toggles and shutdown.

#[path = "support/spawn.rs"]
mod spawn;

use berth_demo::client::get_request;
use berth_demo::config::Config;
use spawn::{body, config, start, VERSION};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn health_reports_status_version_and_site_without_port() {
    let server = start(config());
    let response = server.get("Site-A.local:8080", "/api/health");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-demo-version"), Some(VERSION));
    assert_eq!(response.header("content-type"), Some("application/json"));
    let expected = r#"{"status":"ok","version":"v-test","site":"site-a.local"}"#;
    assert_eq!(body(&response), expected);
    server.stop();
}

#[test]
fn feed_lists_the_requested_number_of_items_for_the_site() {
    let server = start(config());
    let response = server.get("site-a.local", "/api/feed?size=2");
    assert_eq!(response.status, 200);
    let expected = concat!(
        r#"{"items":[{"id":1,"title":"Demo story 1","site":"site-a.local"},"#,
        r#"{"id":2,"title":"Demo story 2","site":"site-a.local"}],"#,
        r#""debug":{"site":"site-a.local","version":"v-test"}}"#
    );
    assert_eq!(body(&response), expected);
    let default = body(&server.get("a", "/api/feed"));
    assert_eq!(default.matches("\"id\":").count(), 10);
    assert_eq!(server.get("a", "/api/feed?size=abc").status, 400);
    server.stop();
}

#[test]
fn version_index_and_unknown_paths_answer() {
    let server = start(config());
    assert_eq!(
        body(&server.get("a", "/api/version")),
        r#"{"version":"v-test"}"#
    );
    let index = server.get("portal.local", "/");
    assert!(body(&index).contains("<h1>portal.local</h1>") && body(&index).contains("v-test"));
    let missing = server.get("a", "/nope");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-demo-version"), Some(VERSION));
    assert_eq!(body(&missing), r#"{"error":"not found","path":"/nope"}"#);
    assert_eq!(server.get("a", "/api/health/").status, 200);
    server.stop();
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let server = start(config());
    let mut conn = server.connect();
    let request = get_request("site-a.local", "/api/health", false);
    for _ in 0..50 {
        let response = conn.exchange(&request, TIMEOUT).unwrap();
        assert_eq!(response.status, 200);
        assert!(response.keep_alive);
    }
    server.stop();
}

#[test]
fn http10_requests_are_answered_then_closed() {
    let server = start(config());
    let text = server.raw(b"GET /api/health HTTP/1.0\r\n\r\n");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("\r\nConnection: close\r\n"));
    assert!(text.ends_with(r#""site":""}"#), "{text}");
    server.stop();
}

#[test]
fn http10_keep_alive_is_honoured() {
    let server = start(config());
    let mut conn = server.connect();
    let request = b"GET /api/version HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    for _ in 0..3 {
        let response = conn.exchange(request, TIMEOUT).unwrap();
        assert_eq!(response.header("connection"), Some("keep-alive"));
        assert!(response.keep_alive);
    }
    server.stop();
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = start(config());
    let text = server.raw(
        b"GET /api/version HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /api/health HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
    );
    let version = text.find(r#"{"version":"v-test"}"#).expect("first answer");
    let health = text.find(r#""site":"b"}"#).expect("second answer");
    assert!(version < health);
    server.stop();
}

#[test]
fn a_malformed_request_gets_400_and_the_server_keeps_serving() {
    let server = start(config());
    for garbage in [
        &b"BLAH\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\n\r\n",
        b"\x00\x01\x02\r\n\r\n",
    ] {
        let text = server.raw(garbage);
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(text.contains("X-Demo-Version: v-test\r\n"));
    }
    assert_eq!(
        server.raw(b"GET / HTTP/3.0\r\n\r\n").split(' ').nth(1),
        Some("505")
    );
    let chunked =
        b"POST /_demo/slow HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert!(server.raw(chunked).starts_with("HTTP/1.1 501 "));
    assert_eq!(server.get("a", "/api/health").status, 200);
    server.stop();
}

#[test]
fn a_client_that_vanishes_mid_request_does_not_hurt_the_server() {
    let server = start(config());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"POST /_demo/slow HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nms=")
        .unwrap();
    drop(stream);
    assert_eq!(server.get("a", "/api/health").status, 200);
    server.stop();
}

#[test]
fn wrong_methods_get_405_with_allow() {
    let server = start(config());
    let response = server.post("/api/health");
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
    assert_eq!(server.get("a", "/_demo/crash").status, 405);
    server.stop();
}

#[test]
fn head_requests_get_headers_only() {
    let server = start(config());
    let text = server.raw(b"HEAD /api/health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(text.ends_with("\r\n\r\n"), "{text}");
    server.stop();
}

#[test]
fn the_health_toggle_flips_health_to_503_and_back() {
    let server = start(config());
    assert_eq!(server.post("/_demo/health?state=unhealthy").status, 200);
    let response = server.get("a", "/api/health");
    assert_eq!(response.status, 503);
    assert!(body(&response).starts_with(r#"{"status":"unhealthy""#));
    assert_eq!(server.post("/_demo/health?state=healthy").status, 200);
    assert_eq!(server.get("a", "/api/health").status, 200);
    assert_eq!(server.post("/_demo/health?state=sideways").status, 400);
    server.stop();
}

#[test]
fn a_form_body_works_for_the_toggles() {
    let server = start(config());
    let form = b"POST /_demo/health HTTP/1.1\r\nHost: a\r\nContent-Length: 15\r\n\
                 Connection: close\r\n\r\nstate=unhealthy";
    assert!(server.raw(form).starts_with("HTTP/1.1 200 OK"));
    assert_eq!(server.get("a", "/api/health").status, 503);
    server.stop();
}

#[test]
fn the_slow_toggle_delays_every_request_but_its_own() {
    let server = start(config());
    assert_eq!(server.post("/_demo/slow?ms=150").status, 200);
    let started = Instant::now();
    assert_eq!(server.get("a", "/api/health").status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(server.post("/_demo/slow?ms=0").status, 200);
    assert!(started.elapsed() < Duration::from_millis(150));
    assert_eq!(server.post("/_demo/slow?ms=-1").status, 400);
    server.stop();
}

#[test]
fn the_slow_toggle_can_slow_one_site_and_leave_metrics_fast() {
    let server = start(config());
    let set = server.post("/_demo/slow?ms=300&site=Slow.Local");
    assert_eq!(set.status, 200);
    assert_eq!(body(&set), r#"{"slow_ms":300,"site":"slow.local"}"#);
    let timed = |host: &str, path: &str| {
        let started = Instant::now();
        assert_eq!(server.get(host, path).status, 200);
        started.elapsed()
    };
    assert!(timed("slow.local:8080", "/api/health") >= Duration::from_millis(300));
    assert!(timed("fast.local", "/api/health") < Duration::from_millis(300));
    assert!(timed("127.0.0.1", "/metrics") < Duration::from_millis(300));
    assert_eq!(server.post("/_demo/slow?ms=0&site=slow.local").status, 200);
    assert!(timed("slow.local", "/api/health") < Duration::from_millis(300));
    server.stop();
}

#[test]
fn the_crash_toggle_answers_202_then_exits_with_code_3() {
    let server = start(config());
    let response = server.post("/_demo/crash");
    assert_eq!(response.status, 202);
    assert!(!response.keep_alive);
    thread::sleep(Duration::from_millis(400));
    assert_eq!(*server.exits.lock().unwrap(), vec![3]);
    server.stop();
}

#[test]
fn start_unhealthy_and_fail_feed_come_from_the_config() {
    let server = start(Config {
        start_unhealthy: true,
        fail_feed: true,
        ..config()
    });
    assert_eq!(server.get("a", "/api/health").status, 503);
    assert_eq!(server.get("a", "/api/feed").status, 500);
    let metrics = body(&server.get("a", "/metrics"));
    let line = r#"django_request_exceptions_total{site="a",method="GET",view="feed"} 1"#;
    assert!(metrics.lines().any(|l| l == line), "{metrics}");
    assert!(metrics.contains("demo_healthy 0\n"));
    server.stop();
}

#[test]
fn metrics_count_requests_per_site() {
    let server = start(config());
    for site in ["site-a.local", "site-a.local", "site-b.local"] {
        server.get(site, "/api/health");
    }
    let response = server.get("a", "/metrics");
    assert!(response
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let metrics = body(&response);
    let line = r#"django_requests_total{site="site-a.local",method="GET",view="health"} 2"#;
    assert!(metrics.lines().any(|l| l == line), "{metrics}");
    assert!(metrics.contains(r#"demo_build_info{version="v-test"} 1"#));
    server.stop();
}

#[test]
fn shutdown_lets_an_in_flight_request_finish_with_connection_close() {
    let server = start(Config {
        slow: Duration::from_millis(400),
        ..config()
    });
    let mut conn = server.connect();
    let in_flight =
        thread::spawn(move || conn.exchange(&get_request("a", "/api/health", false), TIMEOUT));
    thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    assert_eq!(server.stop(), 0, "every connection drained");
    assert!(started.elapsed() < Duration::from_secs(2));
    let response = in_flight.join().unwrap().unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("connection"), Some("close"));
}

#[test]
fn shutdown_closes_idle_keep_alive_connections_promptly() {
    let server = start(config());
    let addr = server.addr;
    let mut conn = server.connect();
    let request = get_request("a", "/api/health", false);
    assert!(conn.exchange(&request, TIMEOUT).unwrap().keep_alive);
    let started = Instant::now();
    assert_eq!(server.stop(), 0);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
}

#[test]
fn bytes_sent_before_a_close_are_not_reset_away() {
    // A request followed by junk the server never reads: the response must still arrive.
    let server = start(config());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let mut request = b"GET /api/health HTTP/1.0\r\n\r\n".to_vec();
    request.extend(vec![b'x'; 64 * 1024]);
    stream.write_all(&request).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200 OK"));
    server.stop();
}
