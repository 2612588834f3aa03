//! The site's own endpoints: the page, health, feed, version, metrics and the 404.

use super::{Request, State};
use crate::escape::{html, json_str};
use crate::http::response::Response;
use std::fmt::Write;

pub const DEFAULT_FEED_SIZE: usize = 10;
pub const MAX_FEED_SIZE: usize = 100;

pub fn index(state: &State, req: &Request<'_>) -> Response {
    let (site, version) = (html(req.site), html(&state.config.version));
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{site} — Berth demo</title>\
         </head>\n<body><h1>{site}</h1><p>Berth demo site, version <code>{version}</code>.</p>\
         </body></html>\n"
    );
    Response::new(200, "text/html; charset=utf-8", body)
}

pub fn health(state: &State, req: &Request<'_>) -> Response {
    let (status, word) = match state.healthy() {
        true => (200, "ok"),
        false => (503, "unhealthy"),
    };
    let body = format!(
        "{{\"status\":\"{word}\",\"version\":{},\"site\":{}}}",
        json_str(&state.config.version),
        json_str(req.site)
    );
    Response::json(status, body)
}

pub fn feed(state: &State, req: &Request<'_>) -> Response {
    if state.config.fail_feed {
        return Response::error(500, "feed backend unavailable (DEMO_FAIL_FEED)");
    }
    let Some(size) = feed_size(req.param("size").as_deref()) else {
        return Response::error(400, "size must be an integer");
    };
    let site = json_str(req.site);
    let mut body = String::from("{\"items\":[");
    for id in 1..=size {
        let comma = if id > 1 { "," } else { "" };
        let _ = write!(
            body,
            "{comma}{{\"id\":{id},\"title\":\"Demo story {id}\",\"site\":{site}}}"
        );
    }
    let version = json_str(&state.config.version);
    let _ = write!(
        body,
        "],\"debug\":{{\"site\":{site},\"version\":{version}}}}}"
    );
    Response::json(200, body)
}

/// `?size=`: absent means 10, integers are clamped to 0..=100, anything else is `None`.
pub fn feed_size(raw: Option<&str>) -> Option<usize> {
    let raw = match raw.map(str::trim) {
        None | Some("") => return Some(DEFAULT_FEED_SIZE),
        Some(raw) => raw,
    };
    let (negative, digits) = match raw.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, raw.strip_prefix('+').unwrap_or(raw)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Too many digits for a u64 is still just "more than 100".
    let n = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(match negative {
        true => 0,
        false => n.min(MAX_FEED_SIZE as u64) as usize,
    })
}

pub fn version(state: &State, _req: &Request<'_>) -> Response {
    Response::json(
        200,
        format!("{{\"version\":{}}}", json_str(&state.config.version)),
    )
}

pub fn metrics(state: &State, _req: &Request<'_>) -> Response {
    let mut body = state.metrics.render(&state.config.version, state.healthy());
    state.config.exporters.render(&mut body, state.uptime());
    Response::new(200, "text/plain; version=0.0.4; charset=utf-8", body)
}

pub fn not_found(path: &str) -> Response {
    let body = format!("{{\"error\":\"not found\",\"path\":{}}}", json_str(path));
    Response::json(404, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_size_defaults_to_ten() {
        assert_eq!(feed_size(None), Some(10));
        assert_eq!(feed_size(Some("")), Some(10));
    }

    #[test]
    fn feed_size_is_clamped_to_zero_through_a_hundred() {
        assert_eq!(feed_size(Some("2")), Some(2));
        assert_eq!(feed_size(Some("100")), Some(100));
        assert_eq!(feed_size(Some("101")), Some(100));
        assert_eq!(feed_size(Some("99999999999999999999999")), Some(100));
        assert_eq!(feed_size(Some("-5")), Some(0));
        assert_eq!(feed_size(Some("0")), Some(0));
    }

    #[test]
    fn feed_size_rejects_non_integers() {
        assert_eq!(feed_size(Some("ten")), None);
        assert_eq!(feed_size(Some("1.5")), None);
        assert_eq!(feed_size(Some("-")), None);
    }
}
