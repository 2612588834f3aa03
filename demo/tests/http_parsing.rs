//! The request parser: what is accepted, what is refused, and how the site is found.

use berth_demo::http::host;
use berth_demo::http::request::{parse_head, Head, ParseError, MAX_HEAD};
use berth_demo::http::Version;

fn parse(raw: &str) -> Head {
    let (head, used) = parse_head(raw.as_bytes())
        .unwrap()
        .expect("a complete head");
    assert_eq!(used, raw.len());
    head
}

fn refused(raw: &str) -> ParseError {
    parse_head(raw.as_bytes()).expect_err("a refused head")
}

#[test]
fn a_request_line_and_headers_are_parsed() {
    let head = parse("GET /api/feed?size=2 HTTP/1.1\r\nHost: site-a.local\r\nX-A:  b \r\n\r\n");
    assert_eq!(head.method, "GET");
    assert_eq!(head.target, "/api/feed?size=2");
    assert_eq!(
        (head.path.as_str(), head.query.as_str()),
        ("/api/feed", "size=2")
    );
    assert_eq!(head.version, Version::Http11);
    assert_eq!(head.header("host"), Some("site-a.local"));
    assert_eq!(head.header("x-a"), Some("b"));
}

#[test]
fn an_incomplete_head_asks_for_more_bytes() {
    assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost: a\r\n").unwrap(), None);
    assert_eq!(parse_head(b"").unwrap(), None);
}

#[test]
fn the_head_ends_at_the_blank_line_leaving_the_body() {
    let raw = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    let (_, used) = parse_head(raw).unwrap().unwrap();
    assert_eq!(&raw[used..], b"abc");
}

#[test]
fn leading_empty_lines_and_bare_line_feeds_are_tolerated() {
    let head = parse("\r\n\nGET / HTTP/1.0\nHost: a\n\n");
    assert_eq!(head.path, "/");
    assert_eq!(head.version, Version::Http10);
}

#[test]
fn malformed_request_lines_are_bad_requests() {
    for raw in [
        "GET /\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 extra\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET relative HTTP/1.1\r\n\r\n",
        "GET /a#frag HTTP/1.1\r\n\r\n",
        "GET / HTTX/1.1\r\n\r\n",
        "\u{1}\u{2}\u{3}\r\n\r\n",
    ] {
        assert_eq!(refused(raw).status(), 400, "{raw:?}");
    }
}

#[test]
fn other_http_versions_are_not_supported() {
    assert_eq!(
        refused("GET / HTTP/2.0\r\n\r\n"),
        ParseError::VersionNotSupported
    );
    assert_eq!(ParseError::VersionNotSupported.status(), 505);
}

#[test]
fn malformed_header_lines_are_bad_requests() {
    for raw in [
        "GET / HTTP/1.1\r\nHost a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\n: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\u{0}b\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
    ] {
        assert_eq!(refused(raw).status(), 400, "{raw:?}");
    }
}

#[test]
fn an_oversized_head_is_refused_with_431() {
    let long = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(MAX_HEAD));
    assert_eq!(refused(&long), ParseError::HeadTooLarge);
    let many: String = (0..200).map(|i| format!("X-{i}: 1\r\n")).collect();
    assert_eq!(
        refused(&format!("GET / HTTP/1.1\r\n{many}\r\n")).status(),
        431
    );
}

#[test]
fn keep_alive_follows_the_version_and_connection_header() {
    assert!(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n").keep_alive());
    assert!(!parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive());
    assert!(!parse("GET / HTTP/1.0\r\n\r\n").keep_alive());
    assert!(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive());
    assert!(!parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keep_alive());
}

#[test]
fn content_length_frames_the_body() {
    let len = |headers: &str| parse(&format!("POST / HTTP/1.1\r\n{headers}\r\n")).content_length();
    assert_eq!(len(""), Ok(0));
    assert_eq!(len("Content-Length: 12\r\n"), Ok(12));
    assert_eq!(len("Content-Length: 5\r\nContent-Length: 5\r\n"), Ok(5));
    assert_eq!(len("Content-Length: 5, 5\r\n"), Ok(5));
    assert_eq!(
        len("Content-Length: 5\r\nContent-Length: 6\r\n")
            .unwrap_err()
            .status(),
        400
    );
    assert_eq!(len("Content-Length: -1\r\n").unwrap_err().status(), 400);
    assert_eq!(len("Content-Length: 0x10\r\n").unwrap_err().status(), 400);
    assert_eq!(
        len("Content-Length: 99999999\r\n"),
        Err(ParseError::BodyTooLarge)
    );
    let chunked = len("Transfer-Encoding: chunked\r\n").unwrap_err();
    assert_eq!(chunked.status(), 501);
}

#[test]
fn the_site_is_the_host_without_port_lowercased() {
    assert_eq!(
        host::site("Site-A.Local:8080").as_deref(),
        Some("site-a.local")
    );
    assert_eq!(host::site("portal.local").as_deref(), Some("portal.local"));
    assert_eq!(host::site("[::1]:8000").as_deref(), Some("[::1]"));
    assert_eq!(host::site("127.0.0.1:80").as_deref(), Some("127.0.0.1"));
    assert_eq!(host::site("").as_deref(), Some(""));
}

#[test]
fn malformed_hosts_have_no_site() {
    for raw in [
        "a b",
        "a/b",
        "user@host",
        "host:port",
        "host:123456",
        "[::1",
        "[zz]",
        "<x>",
    ] {
        assert_eq!(host::site(raw), None, "{raw:?}");
    }
}

#[test]
fn http11_needs_exactly_one_host_header() {
    let site = |raw: &str| parse(raw).site();
    assert_eq!(
        site("GET / HTTP/1.1\r\nHost: A.local:1\r\n\r\n"),
        Ok("a.local".into())
    );
    assert_eq!(site("GET / HTTP/1.1\r\n\r\n").unwrap_err().status(), 400);
    let twice = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
    assert_eq!(site(twice).unwrap_err().status(), 400);
    assert_eq!(
        site("GET / HTTP/1.1\r\nHost: a b\r\n\r\n")
            .unwrap_err()
            .status(),
        400
    );
    assert_eq!(site("GET / HTTP/1.0\r\n\r\n"), Ok(String::new()));
}

#[test]
fn an_absolute_form_target_names_the_site() {
    let head = parse("GET http://Site-B.local:81/api/health?x=1 HTTP/1.1\r\nHost: other\r\n\r\n");
    assert_eq!(
        (head.path.as_str(), head.query.as_str()),
        ("/api/health", "x=1")
    );
    assert_eq!(head.site(), Ok("site-b.local".into()));
}
