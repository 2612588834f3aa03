//! Whether and where Berth scrapes a service's replicas for metrics: by default `/metrics` on
//! the service's HTTP port; a service may move it (`:9100/metrics`) or opt out (`off`).
use serde::{Deserialize, Serialize};

/// A service's metrics endpoint. The default (scraped, `/metrics`, the HTTP port) is what
/// an unset field means, so older stored specs keep their meaning.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScrapeSpec {
    /// Not scraped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub off: bool,
    /// The path; empty: `/metrics`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The port inside the container; `None`: the service's HTTP port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl ScrapeSpec {
    pub fn is_default(&self) -> bool {
        *self == ScrapeSpec::default()
    }

    /// The path scraped.
    pub fn path(&self) -> &str {
        if self.path.is_empty() {
            "/metrics"
        } else {
            &self.path
        }
    }

    /// Reads the form's one line: empty (the default), `off`, `/path`, `:port` or
    /// `:port/path`. Errors say what was expected.
    pub fn parse(text: &str) -> Result<ScrapeSpec, String> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(ScrapeSpec::default());
        }
        if t.eq_ignore_ascii_case("off") {
            return Ok(ScrapeSpec {
                off: true,
                ..ScrapeSpec::default()
            });
        }
        let expected = || format!("`{t}`: expected off, /path, :port or :port/path");
        let (port, path) = match t.strip_prefix(':') {
            Some(rest) => {
                let (p, path) = match rest.find('/') {
                    Some(i) => rest.split_at(i),
                    None => (rest, ""),
                };
                let port: u16 = p.parse().map_err(|_| expected())?;
                if port == 0 {
                    return Err(expected());
                }
                (Some(port), path)
            }
            None => (None, t),
        };
        if !path.is_empty() {
            check_path(path).map_err(|m| format!("`{t}`: {m}"))?;
        }
        let path = if path == "/metrics" { "" } else { path };
        Ok(ScrapeSpec {
            off: false,
            path: path.to_string(),
            port,
        })
    }

    /// Checks what a spec holds (an API caller sends the fields, not the line).
    pub fn check(&self) -> Result<(), String> {
        if self.port == Some(0) {
            return Err("port: 1-65535".into());
        }
        if !self.path.is_empty() {
            check_path(&self.path)?;
        }
        Ok(())
    }
}

/// A path with an optional query, nothing that could change the host (`//`, `@`, spaces).
fn check_path(path: &str) -> Result<(), String> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 200
        && !path.contains('@')
        && !path.contains('#')
        && !path.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err("a path starting with / (no spaces, @ or #)".into())
    }
}

impl std::fmt::Display for ScrapeSpec {
    /// The form's line; [`ScrapeSpec::parse`] reads it back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.off {
            return f.write_str("off");
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        f.write_str(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_line_round_trips() {
        for (line, spec) in [
            ("", ScrapeSpec::default()),
            ("/metrics", ScrapeSpec::default()),
            (
                "off",
                ScrapeSpec {
                    off: true,
                    ..Default::default()
                },
            ),
            (
                ":9100",
                ScrapeSpec {
                    port: Some(9100),
                    ..Default::default()
                },
            ),
            (
                ":9100/_prometheus/metrics?x=1",
                ScrapeSpec {
                    port: Some(9100),
                    path: "/_prometheus/metrics?x=1".into(),
                    off: false,
                },
            ),
        ] {
            let parsed = ScrapeSpec::parse(line).unwrap();
            assert_eq!(parsed, spec, "{line}");
            assert_eq!(ScrapeSpec::parse(&parsed.to_string()).unwrap(), spec);
        }
    }

    #[test]
    fn what_could_reach_another_host_is_refused() {
        for bad in [
            "metrics",
            "//evil/metrics",
            "/@evil",
            ":0",
            ":70000",
            ":x/metrics",
            "/a b",
        ] {
            assert!(ScrapeSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_is_left_out_of_stored_specs() {
        let json = serde_json::to_string(&ScrapeSpec::default()).unwrap();
        assert_eq!(json, "{}");
    }
}
