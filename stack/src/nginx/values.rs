//! The injection boundary: checks of every user-supplied value written into the config
//! (hostnames, service names, server addresses, paths, `expires`). See the module docs of
//! [`super`].

/// For messages: a value with control characters shown escaped, long values cut.
pub(super) fn show(value: &str) -> String {
    let escaped: String = value.escape_debug().collect();
    if escaped.chars().count() > 80 {
        let cut: String = escaped.chars().take(80).collect();
        format!("{cut}…")
    } else {
        escaped
    }
}

/// Characters that break or change an nginx config when written bare.
fn unsafe_char(c: char) -> Option<String> {
    match c {
        ';' | '{' | '}' | '"' | '\'' | '`' | '$' | '#' | '\\' => Some(format!("`{c}`")),
        c if c.is_whitespace() || c.is_control() => {
            Some(format!("{:?}", c).trim_matches('\'').to_string() + " (whitespace or control)")
        }
        c if !c.is_ascii() => Some(format!("`{c}` (non-ASCII)")),
        _ => None,
    }
}

fn reject_unsafe(value: &str) -> Result<(), String> {
    match value.chars().find_map(unsafe_char) {
        Some(c) => Err(format!(
            "contains {c}, which is not allowed in the nginx configuration"
        )),
        None => Ok(()),
    }
}

/// RFC 1123 hostname, lower case; a leading `*.` wildcard is allowed.
pub fn check_hostname(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("a hostname is required".into());
    }
    reject_unsafe(host)?;
    let bare = host.strip_prefix("*.").unwrap_or(host);
    if bare.len() > 253 {
        return Err("a hostname is at most 253 characters".into());
    }
    if bare.contains('*') {
        return Err("a wildcard is only allowed as a leading `*.`".into());
    }
    for label in bare.split('.') {
        if label.is_empty() {
            return Err(format!("`{}` has an empty label", show(host)));
        }
        if label.len() > 63 {
            return Err("a hostname label is at most 63 characters".into());
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "`{}`: a label has only letters, digits and `-`",
                show(host)
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "`{}`: a label cannot start or end with `-`",
                show(host)
            ));
        }
    }
    Ok(())
}

/// A service name usable in `upstream berth_<name>`.
pub(super) fn check_service_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err("a service name has 1 to 63 characters".into());
    }
    reject_unsafe(name)?;
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("a service name has only letters, digits, `-` and `_`".into());
    }
    Ok(())
}

/// `host:port` or `[v6]:port`.
pub(super) fn check_server_address(server: &str) -> Result<(), String> {
    reject_unsafe(server)?;
    let (host, port) = if let Some(rest) = server.strip_prefix('[') {
        let (v6, port) = rest.split_once("]:").ok_or("expected `[address]:port`")?;
        v6.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("`{v6}` is not an IPv6 address"))?;
        ("", port)
    } else {
        server.rsplit_once(':').ok_or("expected `host:port`")?
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 => {}
        _ => return Err(format!("`{}` is not a port number", show(port))),
    }
    if !host.is_empty() || !server.starts_with('[') {
        check_hostname(&host.to_ascii_lowercase())?;
    }
    Ok(())
}

/// A location prefix: starts with `/`, no `..` segment, only URL-safe characters.
pub(super) fn check_route_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("must start with `/`".into());
    }
    reject_unsafe(path)?;
    if path.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err("must not contain `.` or `..` segments".into());
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/-._~%+,=:@!*()".contains(*c)))
    {
        return Err(format!("`{c}` is not allowed in a route path"));
    }
    Ok(())
}

/// An absolute file-system path without `..`.
pub(super) fn check_abs_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("must be an absolute path".into());
    }
    reject_unsafe(path)?;
    if path.split('/').any(|seg| seg == "..") {
        return Err("must not contain `..`".into());
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/-._~+,=:@".contains(*c)))
    {
        return Err(format!("`{c}` is not allowed in a path"));
    }
    Ok(())
}

/// nginx `expires`: empty (none), `off`, `epoch`, `max`, or a time like `30d`, `1y`, `12h`.
pub(super) fn check_expires(expires: &str) -> Result<(), String> {
    let e = expires.trim();
    if e.is_empty() || matches!(e, "off" | "epoch" | "max") {
        return Ok(());
    }
    let digits = e.trim_end_matches(|c: char| "smhdwMy".contains(c));
    let unit = &e[digits.len()..];
    if !digits.is_empty()
        && digits.len() <= 9
        && digits.bytes().all(|b| b.is_ascii_digit())
        && unit.len() <= 1
    {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an nginx time (e.g. `30d`, `1y`, `max`, `off`)",
            show(expires)
        ))
    }
}
