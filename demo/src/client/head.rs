//! Response heads: where they end, the status line, the headers and keep-alive.

use super::{bad, Failure};
use crate::http::list_tokens;

pub struct Head {
    pub http11: bool,
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

pub fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

pub fn head_keeps_alive(head: &Head) -> bool {
    let has = |token: &str| {
        head.headers
            .iter()
            .filter(|(n, _)| n == "connection")
            .flat_map(|(_, v)| list_tokens(v))
            .any(|t| t == token)
    };
    match head.http11 {
        true => !has("close"),
        false => has("keep-alive"),
    }
}

/// The index just past the blank line that ends a response head.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.iter()
        .enumerate()
        .find_map(|(i, &b)| match (b, &buf[i + 1..]) {
            (b'\n', [b'\n', ..]) => Some(i + 2),
            (b'\n', [b'\r', b'\n', ..]) => Some(i + 3),
            _ => None,
        })
}

pub fn parse_head(raw: &[u8]) -> Result<Head, Failure> {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.lines();
    let mut status_line = lines.next().unwrap_or_default().split(' ');
    let http11 = match status_line.next().unwrap_or_default() {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(bad("not an HTTP/1.x status line")),
    };
    let status = status_line.next().unwrap_or_default();
    let status = match status.parse::<u16>() {
        Ok(s) if status.len() == 3 && (100..600).contains(&s) => s,
        _ => return Err(bad("bad status code")),
    };
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Head {
        http11,
        status,
        headers,
    })
}
