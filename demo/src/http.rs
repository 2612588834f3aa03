//! The HTTP/1.x wire format, server side: request heads, query strings, responses, dates.

pub mod date;
pub mod host;
pub mod query;
pub mod request;
pub mod response;

/// The HTTP versions the demo speaks; nginx talks HTTP/1.0 to upstreams by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// True for the `tchar`s of RFC 9110 (method names, header names).
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Splits a list header (`Connection: keep-alive, Upgrade`) into lowercase tokens.
pub fn list_tokens(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
}
