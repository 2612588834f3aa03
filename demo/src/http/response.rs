//! Responses: what a handler returns, and its HTTP/1.1 encoding.

use super::{date, Version};
use std::fmt::Write;
use std::time::SystemTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
    /// Close the connection after this response whatever the client asked.
    pub close: bool,
}

/// How to frame a response for the request it answers.
pub struct Framing<'a> {
    pub version: Version,
    pub keep_alive: bool,
    pub head_only: bool,
    pub demo_version: &'a str,
}

pub const JSON: &str = "application/json";

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        Self {
            status,
            content_type,
            body,
            headers: Vec::new(),
            close: false,
        }
    }

    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::new(status, JSON, body)
    }

    /// `{"error":"<message>"}`.
    pub fn error(status: u16, message: &str) -> Self {
        Self::json(
            status,
            format!("{{\"error\":{}}}", crate::escape::json_str(message)),
        )
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    /// The status line, headers and (unless `HEAD`) body, ready to write.
    pub fn encode(&self, framing: &Framing<'_>) -> Vec<u8> {
        let mut head = String::with_capacity(256);
        let _ = write!(head, "HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        let _ = write!(head, "Date: {}\r\n", date::http_date(SystemTime::now()));
        head.push_str("Server: berth-demo\r\n");
        let _ = write!(head, "Content-Type: {}\r\n", self.content_type);
        let _ = write!(head, "Content-Length: {}\r\n", self.body.len());
        head.push_str("Cache-Control: no-store\r\n");
        let _ = write!(head, "X-Demo-Version: {}\r\n", framing.demo_version);
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        match (framing.keep_alive, framing.version) {
            (false, _) => head.push_str("Connection: close\r\n"),
            (true, Version::Http10) => head.push_str("Connection: keep-alive\r\n"),
            (true, Version::Http11) => {}
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if !framing.head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(r: &Response, version: Version, keep_alive: bool, head_only: bool) -> String {
        let framing = Framing {
            version,
            keep_alive,
            head_only,
            demo_version: "v1",
        };
        String::from_utf8(r.encode(&framing)).unwrap()
    }

    #[test]
    fn a_response_carries_length_version_and_body() {
        let text = encode(&Response::json(200, "{}"), Version::Http11, true, false);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("\r\nContent-Length: 2\r\n"));
        assert!(text.contains("\r\nX-Demo-Version: v1\r\n"));
        assert!(!text.contains("Connection:"));
        assert!(text.ends_with("\r\n\r\n{}"));
    }

    #[test]
    fn http10_keep_alive_is_announced_and_close_is_explicit() {
        let r = Response::json(200, "{}");
        assert!(encode(&r, Version::Http10, true, false).contains("Connection: keep-alive\r\n"));
        assert!(encode(&r, Version::Http11, false, false).contains("Connection: close\r\n"));
    }

    #[test]
    fn head_responses_keep_the_length_but_drop_the_body() {
        let text = encode(&Response::json(200, "{}"), Version::Http11, true, true);
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }
}
