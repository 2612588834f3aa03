//! Where Berth's outbound metrics traffic may go when a project's maintainer chose the
//! address: static scrape targets, remote write and remote read URLs. A maintainer is trusted
//! with one project, not with the machine Berth runs on, so these requests must not reach the
//! cloud's metadata service or what listens on Berth's own loopback (the Docker API, the
//! database, other tools): an exfiltration channel through scrape errors, stored samples or
//! remote answers.
//!
//! The rule is checked on every address a request connects to: literal IPs in the URL, every
//! address a host name resolves to (so DNS rebinding cannot slip past a check made earlier) and
//! every redirect hop. Refused always: link-local (`169.254.0.0/16`, `fe80::/10`, where cloud
//! metadata lives), unspecified, multicast and broadcast addresses. Refused unless the operator
//! allows it (`BERTH_METRICS_ALLOW_LOOPBACK=1`, for exporters on the Berth machine itself):
//! loopback. Private ranges stay allowed: Docker networks use them, and so do a team's own
//! exporters.
//!
//! Targets Berth derives itself (replicas it deployed, its own metrics, the Docker engine) do
//! not go through here.
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// What the operator allows beyond the default rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Loopback addresses (`127.0.0.0/8`, `::1`) may be reached.
    pub allow_loopback: bool,
}

/// Cloud metadata and platform services outside the link-local ranges: AWS's IPv6 instance
/// metadata, Alibaba Cloud's metadata, Azure's WireServer.
const METADATA: [IpAddr; 3] = [
    IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V4(std::net::Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V4(std::net::Ipv4Addr::new(168, 63, 129, 16)),
];

/// Why `ip` may not be reached under `policy`, if it may not.
pub fn refused(ip: IpAddr, policy: Policy) -> Option<&'static str> {
    let ip = match ip {
        // IPv4-mapped (`::ffff:a.b.c.d`) and the deprecated IPv4-compatible (`::a.b.c.d`).
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .or_else(|| {
                let s = v6.segments();
                (s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1)).then(|| v6.to_ipv4().expect("v4"))
            })
            .map(IpAddr::V4)
            .unwrap_or(ip),
        v4 => v4,
    };
    if METADATA.contains(&ip) {
        return Some("a cloud metadata address is not allowed");
    }
    // The machine's own addresses (docker0's gateway, its LAN address) reach what listens on
    // every interface of the Berth machine: the same as loopback.
    if !policy.allow_loopback && !ip.is_loopback() && local::is_local(ip) {
        return Some(
            "an address of the Berth machine itself is not allowed (the operator can allow it \
             with BERTH_METRICS_ALLOW_LOOPBACK=1)",
        );
    }
    let (loopback, link_local, other) = match ip {
        IpAddr::V4(v4) => (
            v4.is_loopback(),
            v4.is_link_local(),
            v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast(),
        ),
        IpAddr::V6(v6) => (
            v6.is_loopback(),
            (v6.segments()[0] & 0xffc0) == 0xfe80,
            v6.is_unspecified() || v6.is_multicast(),
        ),
    };
    if link_local {
        Some("a link-local address (where cloud metadata services answer) is not allowed")
    } else if other {
        Some("an unspecified, multicast or broadcast address is not allowed")
    } else if loopback && !policy.allow_loopback {
        Some(
            "a loopback address is not allowed (the operator can allow it with \
             BERTH_METRICS_ALLOW_LOOPBACK=1)",
        )
    } else {
        None
    }
}

/// Checks a URL's host when it is a literal IP (host names are checked when they resolve).
pub fn check_url(url: &reqwest::Url, policy: Policy) -> Result<(), String> {
    let host = url
        .host_str()
        .ok_or_else(|| "the URL has no host".to_string())?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ip = match bare.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            // `localhost` never needs a resolver to know where it goes.
            let d = bare.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") {
                IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
            } else {
                return Ok(());
            }
        }
    };
    match refused(ip, policy) {
        Some(why) => Err(why.to_string()),
        None => Ok(()),
    }
}

/// Resolves host names and keeps only the addresses [`refused`] lets through.
struct Resolver(Policy);

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut why = None;
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match refused(a.ip(), policy) {
                    Some(w) => {
                        why = Some(w);
                        false
                    }
                    None => true,
                })
                .collect();
            if kept.is_empty() {
                let why = why.unwrap_or("the name did not resolve");
                return Err(format!("{host}: {why}").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

/// An HTTP client for user-chosen addresses: no system proxy, at most 5 redirects, each hop
/// and each resolved address checked against `policy`.
pub fn client(policy: Policy, timeout: Option<Duration>) -> reqwest::Client {
    let redirect = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 5 {
            return attempt.error("stopped after 5 redirects");
        }
        match check_url(attempt.url(), policy) {
            Ok(()) => attempt.follow(),
            Err(why) => attempt.error(format!("redirected to a refused address: {why}")),
        }
    });
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .user_agent(concat!("Berth/", env!("CARGO_PKG_VERSION")))
        .redirect(redirect)
        .dns_resolver(Arc::new(Resolver(policy)));
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    // Never a default client in its place: that one would follow redirects unchecked.
    b.build()
        .expect("the HTTP client for user-chosen addresses (TLS backend) could not start")
}

/// The addresses of this machine's interfaces, read from `/proc` (Linux) at most every 10 s
/// (Docker adds a bridge, and its gateway address, for every new network).
mod local {
    use std::collections::HashSet;
    use std::net::{IpAddr, Ipv6Addr};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    type Cache = Option<(Instant, HashSet<IpAddr>)>;
    static CACHE: Mutex<Cache> = Mutex::new(None);

    pub fn is_local(ip: IpAddr) -> bool {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = matches!(&*cache, Some((at, _)) if at.elapsed() < Duration::from_secs(10));
        if !fresh {
            *cache = Some((Instant::now(), read()));
        }
        cache.as_ref().is_some_and(|(_, set)| set.contains(&ip))
    }

    pub fn read() -> HashSet<IpAddr> {
        let mut out = HashSet::new();
        // IPv4: the entries `/proc/net/fib_trie` marks `/32 host LOCAL`.
        if let Ok(trie) = std::fs::read_to_string("/proc/net/fib_trie") {
            let mut last: Option<IpAddr> = None;
            for line in trie.lines() {
                let t = line.trim_start_matches([' ', '|', '+', '-']).trim();
                if let Ok(ip) = t.parse::<IpAddr>() {
                    last = Some(ip);
                } else if t.starts_with("/32 host LOCAL") {
                    out.extend(last);
                }
            }
        }
        // IPv6: `/proc/net/if_inet6`, 32 hex digits first on each line.
        if let Ok(list) = std::fs::read_to_string("/proc/net/if_inet6") {
            for line in list.lines() {
                let hex = line.split_whitespace().next().unwrap_or("");
                if let (32, Ok(n)) = (hex.len(), u128::from_str_radix(hex, 16)) {
                    out.insert(IpAddr::V6(Ipv6Addr::from(n)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_loopback_and_odd_addresses_are_refused_private_ones_allowed() {
        let strict = Policy::default();
        let open = Policy {
            allow_loopback: true,
        };
        for bad in [
            "169.254.169.254",
            "fe80::1",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
            "::ffff:169.254.169.254",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(refused(ip, strict).is_some(), "{bad}");
            assert!(
                refused(ip, open).is_some(),
                "{bad} even with loopback allowed"
            );
        }
        for lo in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = lo.parse().unwrap();
            assert!(refused(ip, strict).is_some(), "{lo}");
            assert!(refused(ip, open).is_none(), "{lo} allowed on request");
        }
        for bad in [
            "fd00:ec2::254",
            "100.100.100.200",
            "168.63.129.16",
            "::169.254.169.254",
        ] {
            assert!(refused(bad.parse().unwrap(), open).is_some(), "{bad}");
        }
        assert!(refused("::127.0.0.1".parse().unwrap(), strict).is_some());
        for ok in [
            "10.0.0.5",
            "192.0.2.77",
            "198.51.100.5",
            "93.184.216.34",
            "2001:db8::1",
        ] {
            assert!(refused(ok.parse().unwrap(), strict).is_none(), "{ok}");
        }
    }

    #[test]
    fn the_machines_own_addresses_count_as_loopback() {
        let mine = local::read();
        assert!(mine.contains(&"127.0.0.1".parse().unwrap()), "{mine:?}");
        let own = mine
            .iter()
            .find(|ip| {
                !ip.is_loopback()
                    && !matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
            })
            .copied()
            .expect("this machine has a non-loopback address");
        assert!(refused(own, Policy::default()).is_some(), "{own}");
        let open = Policy {
            allow_loopback: true,
        };
        assert!(refused(own, open).is_none(), "{own}");
    }

    #[test]
    fn urls_with_literal_hosts_are_checked_names_wait_for_resolution() {
        let strict = Policy::default();
        let check = |u: &str| check_url(&reqwest::Url::parse(u).unwrap(), strict);
        assert!(check("http://169.254.169.254/latest/meta-data/").is_err());
        assert!(check("http://[::1]:9090/api/v1/write").is_err());
        assert!(check("http://127.0.0.1:2375/containers/json").is_err());
        assert!(check("http://LOCALHOST.:9100/metrics").is_err());
        assert!(check("http://app1:8000/metrics").is_ok());
        assert!(check("http://10.1.2.3:9100/metrics").is_ok());
    }

    #[tokio::test]
    async fn the_client_refuses_names_that_resolve_to_loopback_and_redirects_there() {
        // A server on loopback that redirects to the metadata address.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\n\
                          Content-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
            }
        });
        let strict = client(Policy::default(), Some(Duration::from_secs(5)));
        // `localhost` resolves to loopback: refused by the resolver.
        let e = strict
            .get(format!("http://localhost:{}/", addr.port()))
            .send()
            .await
            .unwrap_err();
        assert!(format!("{e:?}").contains("loopback"), "{e:?}");
        // Loopback allowed, the redirect to link-local is still refused.
        let open = client(
            Policy {
                allow_loopback: true,
            },
            Some(Duration::from_secs(5)),
        );
        let e = open
            .get(format!("http://127.0.0.1:{}/", addr.port()))
            .send()
            .await
            .unwrap_err();
        assert!(e.is_redirect(), "{e:?}");
        assert!(format!("{e:?}").contains("link-local"), "{e:?}");
    }
}
