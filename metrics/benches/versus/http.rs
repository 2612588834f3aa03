//! Just enough HTTP/1.0 for the side-by-side benchmark, over loopback only: a client that
//! sends one request per connection and reads the answer to its end (HTTP/1.0, so neither
//! side uses chunked encoding), and a server answering `query_range` from Berth's engine in
//! Prometheus's JSON shape, so both systems are timed through the same kind of path.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use metrics::promql::{parse, Engine, HintedQueryable};

/// One request; returns the status code and the body.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).ok();
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(body).expect("write body");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(out.len(), |p| p + 4);
    let status = std::str::from_utf8(&out[..split.min(out.len())])
        .ok()
        .and_then(|h| h.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out[split..].to_vec())
}

/// `%XX` and `+` decoding of a query string value.
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (c as char).to_string()
            }
            _ => format!("%{c:02X}"),
        })
        .collect()
}

/// Evaluates one `query_range` and writes Prometheus's answer.
fn answer(engine: &Engine, db: &dyn HintedQueryable, query: &str) -> (u16, String) {
    let mut p = std::collections::HashMap::new();
    for kv in query.split('&') {
        if let Some((k, v)) = kv.split_once('=') {
            p.insert(k.to_string(), url_decode(v));
        }
    }
    let num = |k: &str| p.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let (start, end, step) = (
        (num("start") * 1000.0) as i64,
        (num("end") * 1000.0) as i64,
        (num("step") * 1000.0) as i64,
    );
    let parsed = match parse(p.get("query").map_or("", |q| q.as_str())) {
        Ok(q) => q,
        Err(e) => {
            return (
                400,
                format!("{{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"{e}\"}}"),
            )
        }
    };
    let m = match engine.range_parsed(db, &parsed, start, end, step) {
        Ok(m) => m,
        Err(e) => {
            return (
                422,
                format!("{{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"{e}\"}}"),
            )
        }
    };
    // The writer the server answers with (`metrics::promql::json`).
    let mut out = String::from("{\"status\":\"success\",\"data\":");
    metrics::promql::json::write_range_data(&mut out, &m);
    out.push('}');
    (200, out)
}

/// Serves `GET /api/v1/query_range?…` from `db` on a loopback port, one connection at a
/// time, on its own thread; returns the address.
pub fn serve(db: Arc<dyn HintedQueryable + Send + Sync>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        let engine = Engine::default();
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            s.set_nodelay(true).ok();
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&req);
            let target = line.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = match target.split_once('?') {
                Some(("/api/v1/query_range", q)) => answer(&engine, db.as_ref(), q),
                _ => (
                    404,
                    "{\"status\":\"error\",\"errorType\":\"not_found\"}".to_string(),
                ),
            };
            let head = format!(
                "HTTP/1.0 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = s
                .write_all(head.as_bytes())
                .and_then(|()| s.write_all(body.as_bytes()));
        }
    });
    addr
}
