//! Log lines on stdout/stderr. Write errors are ignored: `println!` would panic on a closed
//! pipe and take a connection thread down with it.

use crate::http::date::rfc3339;
use std::fmt::Arguments;
use std::io::Write;
use std::time::{Duration, SystemTime};

/// One line on stdout, prefixed with a UTC timestamp.
pub fn info(args: Arguments<'_>) {
    let _ = writeln!(
        std::io::stdout().lock(),
        "{} {args}",
        rfc3339(SystemTime::now())
    );
}

/// One line on stderr, prefixed with a UTC timestamp.
pub fn error(args: Arguments<'_>) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "{} {args}",
        rfc3339(SystemTime::now())
    );
}

/// The per-request access log line. `target` and `site` were validated by the parser, so
/// they hold no spaces or control characters.
pub fn access(method: &str, target: &str, site: &str, status: u16, elapsed: Duration) {
    let site = if site.is_empty() { "-" } else { site };
    let ms = elapsed.as_secs_f64() * 1000.0;
    info(format_args!(
        "{method} {target} host={site} status={status} ms={ms:.2}"
    ));
}

/// `NAME=<value>` for `DEMO_PRINT_VAR` (the value may span lines).
pub fn print_var(var: &Option<(String, String)>) {
    if let Some((name, value)) = var {
        info(format_args!("{name}={value}"));
    }
}
