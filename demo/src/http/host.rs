//! The site a request is for, from its `Host` header (or absolute-form authority).

/// `Site-A.local:8080` → `site-a.local`; `[::1]:80` → `[::1]`; `None` when malformed.
pub fn site(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let (host, port) = match raw.strip_prefix('[') {
        Some(inner) => {
            let (ip, rest) = inner.split_once(']')?;
            let ip_ok = ip
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b":.".contains(&b));
            let port = if rest.is_empty() {
                ""
            } else {
                rest.strip_prefix(':')?
            };
            (ip_ok.then_some(&raw[..ip.len() + 2])?, port)
        }
        None => raw.split_once(':').unwrap_or((raw, "")),
    };
    let name_ok = host.starts_with('[')
        || host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let port_ok = port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    (name_ok && port_ok).then(|| host.to_ascii_lowercase())
}
