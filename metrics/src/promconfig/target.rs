//! What a static target and a target label may look like.

use super::Problem;

/// `host:port`, `[ipv6]:port`: what Berth dials. A URL is refused with a hint, and a target
/// with `user:password@` is refused without being echoed.
pub(super) fn check_target(target: &str) -> Result<(), Problem> {
    let bad = |reason| Problem::BadTarget {
        target: Some(target.to_string()),
        reason,
    };
    if target.contains('@') {
        return Err(Problem::BadTarget {
            target: None,
            reason: "credentials go in basic_auth, which Berth does not import",
        });
    }
    if target.contains('/') {
        return Err(bad(
            "a URL is not a target: the scheme goes in `scheme`, the path in `metrics_path`",
        ));
    }
    let (host, port) = match target.strip_prefix('[') {
        Some(bracketed) => bracketed
            .split_once("]:")
            .filter(|(ip, _)| is_ipv6(ip))
            .ok_or_else(|| bad("expected [IPv6 address]:port"))?,
        None => target
            .rsplit_once(':')
            .ok_or_else(|| bad("the port is missing"))?,
    };
    if host.is_empty() {
        return Err(bad("the host is missing"));
    }
    if !target.starts_with('[') && !host.bytes().all(is_host_byte) {
        return Err(bad(
            "a host name is letters, digits, '.', '-' and '_' (an IPv6 address goes in brackets)",
        ));
    }
    match port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok_and(|p| p > 0) {
        true => Ok(()),
        false => Err(bad("the port must be a number from 1 to 65535")),
    }
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
}

fn is_ipv6(ip: &str) -> bool {
    ip.contains(':') && ip.parse::<std::net::Ipv6Addr>().is_ok()
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, and not `__…`, which Prometheus keeps for its own labels.
pub(super) fn check_label_name(name: &str) -> Result<(), Problem> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if !first_ok || !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Problem::BadLabelName { name: name.into() });
    }
    match name.starts_with("__") {
        true => Err(Problem::ReservedLabelName { name: name.into() }),
        false => Ok(()),
    }
}
