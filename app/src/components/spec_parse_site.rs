//! A site's form texts read back: hosts, TLS files, routes and smoke checks.
use super::*;

pub fn parse_hosts(text: &str) -> Result<BTreeMap<String, SiteHosts>> {
    let mut hosts = BTreeMap::new();
    for (n, env, names) in per_env("hosts", text)? {
        let Some((primary, aliases)) = names.split_first() else {
            return Err(bad("hosts", n, format!("{env}: no hostname")));
        };
        let h = SiteHosts {
            primary: primary.to_string(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        };
        hosts.insert(env, h);
    }
    Ok(hosts)
}

pub fn parse_tls(text: &str) -> Result<BTreeMap<String, TlsFiles>> {
    let mut tls = BTreeMap::new();
    for (n, env, files) in per_env("tls", text)? {
        let [certificate, key] = files[..] else {
            return Err(bad("tls", n, "expected `environment: certificate key`"));
        };
        let files = TlsFiles {
            certificate: certificate.into(),
            certificate_key: key.into(),
        };
        tls.insert(env, files);
    }
    Ok(tls)
}

pub fn parse_routes(text: &str) -> Result<Vec<Route>> {
    lines(text)
        .map(|(n, line)| {
            let (path, target) = line.split_once("->").ok_or_else(|| {
                bad(
                    "routes",
                    n,
                    "expected `/path/ -> service NAME` or `/path/ -> files ROOT [EXPIRES]`",
                )
            })?;
            let words: Vec<&str> = target.split_whitespace().collect();
            let target = match words[..] {
                ["service", service] => RouteTarget::Service {
                    service: service.into(),
                },
                ["files", root] => RouteTarget::Files {
                    root: root.into(),
                    expires: String::new(),
                },
                ["files", root, expires] => RouteTarget::Files {
                    root: root.into(),
                    expires: expires.into(),
                },
                _ => {
                    return Err(bad(
                        "routes",
                        n,
                        "the target is `service NAME` or `files ROOT [EXPIRES]`",
                    ))
                }
            };
            Ok(Route {
                path: path.trim().to_string(),
                target,
            })
        })
        .collect()
}

pub fn parse_smoke_checks(text: &str) -> Result<Vec<SmokeCheck>> {
    lines(text)
        .map(|(n, line)| {
            let mut parts = line.split('|').map(str::trim);
            let path = parts.next().unwrap_or_default().to_string();
            let assertions = parts
                .map(|a| {
                    if let Some((pointer, value)) = a.split_once("==") {
                        Ok(JsonAssertion::Equals {
                            pointer: pointer.trim().into(),
                            value: value.trim().into(),
                        })
                    } else if let Some(pointer) = a.strip_suffix("non-empty") {
                        Ok(JsonAssertion::NonEmpty {
                            pointer: pointer.trim().into(),
                        })
                    } else {
                        Err(bad(
                            "smoke_checks",
                            n,
                            format!("{a:?}: use `.pointer non-empty` or `.pointer == value`"),
                        ))
                    }
                })
                .collect::<Result<_>>()?;
            Ok(SmokeCheck { path, assertions })
        })
        .collect()
}

pub fn parse_site(t: &SiteText) -> Result<SiteSpec> {
    Ok(SiteSpec {
        name: t.name.trim().to_string(),
        hosts: parse_hosts(&t.hosts)?,
        routes: parse_routes(&t.routes)?,
        health_path: t.health_path.trim().to_string(),
        smoke_checks: parse_smoke_checks(&t.smoke_checks)?,
        tls: parse_tls(&t.tls)?,
        cache_timeout_secs: secs("cache_timeout_secs", &t.cache_timeout_secs)?.unwrap_or(0),
    })
}
