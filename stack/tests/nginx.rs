#![cfg(feature = "engine")]
//! The seed's multi-site nginx configuration, generated and checked with the real `nginx -t`.
use stack::model::{ProxySettings, Route, RouteTarget, SiteHosts, SiteSpec, TlsFiles};
use stack::nginx::{render, validate_with_nginx, RenderError, RenderInput, Upstream};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const ENV: &str = "production";

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "berth-nginx-test-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed certificate made with the `openssl` command (Debian ships it).
fn self_signed(dir: &Path, host: &str) -> TlsFiles {
    let cert = dir.join(format!("{host}.crt"));
    let key = dir.join(format!("{host}.key"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", &format!("/CN={host}")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect(
            "the `openssl` command is needed to make test certificates: apt-get install openssl",
        );
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    TlsFiles {
        certificate: cert.to_str().unwrap().to_string(),
        certificate_key: key.to_str().unwrap().to_string(),
    }
}

/// `nginx -t`, failing (not skipping) when nginx is missing.
fn nginx_t(config: &str) -> String {
    match validate_with_nginx(config) {
        Ok(check) => {
            assert!(
                check.ok,
                "nginx -t rejected the config:\n{}\n---\n{config}",
                check.output
            );
            check.output
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "nginx is not installed, and this test runs the real `nginx -t`: \
             apt-get install nginx ({e})"
        ),
        Err(e) => panic!("could not run nginx -t: {e}"),
    }
}

fn service(path: &str, service: &str) -> Route {
    Route {
        path: path.into(),
        target: RouteTarget::Service {
            service: service.into(),
        },
    }
}

fn files(path: &str, root: &str, expires: &str) -> Route {
    Route {
        path: path.into(),
        target: RouteTarget::Files {
            root: root.into(),
            expires: expires.into(),
        },
    }
}

fn site(name: &str, primary: &str, aliases: &[&str]) -> SiteSpec {
    let mut hosts = BTreeMap::new();
    hosts.insert(
        ENV.to_string(),
        SiteHosts {
            primary: primary.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        },
    );
    SiteSpec {
        name: name.into(),
        hosts,
        routes: vec![
            files("/static/", "/app/static/", "1y"),
            files("/media/", "/app/media", "30d"),
            service("/api/", "authoring"),
            service("/admin/", "authoring"),
            service("/", "portal"),
        ],
        health_path: "/api/health".into(),
        ..Default::default()
    }
}

fn seed_sites(certs: Option<&Path>) -> Vec<SiteSpec> {
    let mut sites = vec![
        site("site-a", "site-a.com", &["www.site-a.com"]),
        site("site-b", "site-b.com", &["www.site-b.com"]),
        site("portal", "portal.com", &["www.portal.com"]),
    ];
    if let Some(dir) = certs {
        for s in &mut sites {
            let primary = s.hosts[ENV].primary.clone();
            s.tls.insert(ENV.into(), self_signed(dir, &primary));
        }
    }
    sites
}

fn seed_upstreams() -> Vec<Upstream> {
    vec![
        Upstream {
            service: "authoring".into(),
            servers: vec![
                "127.0.0.1:49155".into(),
                "localhost:49154".into(),
                "127.0.0.1:49153".into(),
            ],
        },
        Upstream {
            service: "portal".into(),
            servers: vec!["127.0.0.1:49160".into(), "127.0.0.1:49161".into()],
        },
    ]
}

fn production() -> ProxySettings {
    ProxySettings {
        http_port: 80,
        https_port: Some(443),
        redirect_http: true,
        hsts_max_age: 31_536_000,
        ..Default::default()
    }
}

fn errors_of(
    sites: &[SiteSpec],
    upstreams: &[Upstream],
    proxy: &ProxySettings,
) -> Vec<RenderError> {
    render(&RenderInput {
        environment: ENV,
        namespace: "",
        sites,
        upstreams,
        proxy,
        log_dir: None,
        access_log: None,
    })
    .expect_err("the config should be refused")
}

/// The `server { ... }` blocks of a config, as text.
fn server_blocks(config: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in config.lines() {
        if line == "server {" {
            current = Some(String::new());
        } else if line == "}" {
            if let Some(b) = current.take() {
                blocks.push(b);
            }
        } else if let Some(b) = current.as_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    blocks
}

#[test]
fn seed_stack_renders_like_the_reference_and_passes_nginx_t() {
    let scratch = Scratch::new("seed");
    let certs = scratch.path().join("ssl");
    let logs = scratch.path().join("log");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    let sites = seed_sites(Some(&certs));
    let upstreams = seed_upstreams();
    let proxy = production();
    let config = render(&RenderInput {
        environment: ENV,
        namespace: "",
        sites: &sites,
        upstreams: &upstreams,
        proxy: &proxy,
        log_dir: Some(logs.to_str().unwrap()),
        access_log: None,
    })
    .unwrap_or_else(|e| panic!("{e:#?}"));

    // Upstreams: one per routed service, least_conn, every server with its failure policy.
    assert!(config.contains(
        "upstream berth_authoring {\n    least_conn;\n    server 127.0.0.1:49153 max_fails=3 fail_timeout=30s;\n    server 127.0.0.1:49155 max_fails=3 fail_timeout=30s;\n    server localhost:49154 max_fails=3 fail_timeout=30s;\n}\n"
    ), "{config}");
    assert!(config.contains(
        "upstream berth_portal {\n    least_conn;\n    server 127.0.0.1:49160 max_fails=3 fail_timeout=30s;\n    server 127.0.0.1:49161 max_fails=3 fail_timeout=30s;\n}\n"
    ));
    assert_eq!(config.matches("upstream ").count(), 2);
    assert!(
        config.contains("log_format berth_multi_site '$remote_addr - $remote_user [$time_local] '")
    );

    // Three site blocks (sorted by name) and the redirect block.
    let blocks = server_blocks(&config);
    assert_eq!(blocks.len(), 4, "{config}");
    let names: Vec<&str> = blocks
        .iter()
        .map(|b| {
            b.lines()
                .find(|l| l.contains("server_name"))
                .unwrap()
                .trim()
        })
        .collect();
    assert_eq!(
        names,
        [
            "server_name portal.com www.portal.com;",
            "server_name site-a.com www.site-a.com;",
            "server_name site-b.com www.site-b.com;",
            "server_name portal.com www.portal.com site-a.com www.site-a.com site-b.com www.site-b.com;",
        ]
    );
    for (block, host) in blocks[..3]
        .iter()
        .zip(["portal.com", "site-a.com", "site-b.com"])
    {
        assert!(block.contains("    listen 443 ssl http2;\n"), "{block}");
        assert!(
            !block.contains("listen 80;"),
            "redirected sites leave port 80 to the redirect: {block}"
        );
        assert!(block.contains(&format!("ssl_certificate {}/{host}.crt;", certs.display())));
        assert!(block.contains(&format!(
            "ssl_certificate_key {}/{host}.key;",
            certs.display()
        )));
        assert!(block.contains("ssl_protocols TLSv1.2 TLSv1.3;"));
        assert!(block.contains("add_header X-Frame-Options DENY always;"));
        assert!(block.contains("add_header X-Content-Type-Options nosniff always;"));
        assert!(
            block.contains("add_header Referrer-Policy strict-origin-when-cross-origin always;")
        );
        assert!(block.contains(
            "add_header Strict-Transport-Security \"max-age=31536000; includeSubDomains\" always;"
        ));
        assert!(block.contains(&format!(
            "access_log {}/{host}.access.log berth_multi_site;",
            logs.display()
        )));
        assert!(block.contains(&format!("error_log {}/{host}.error.log;", logs.display())));
        // Longest path first.
        let locations: Vec<&str> = block
            .lines()
            .filter_map(|l| l.trim().strip_prefix("location "))
            .collect();
        assert_eq!(
            locations,
            ["/static/ {", "/admin/ {", "/media/ {", "/api/ {", "/ {"]
        );
        assert_eq!(
            block.matches("proxy_pass http://berth_authoring;").count(),
            2
        );
        assert_eq!(block.matches("proxy_pass http://berth_portal;").count(), 1);
        for header in [
            "proxy_set_header Host $host;",
            "proxy_set_header X-Real-IP $remote_addr;",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "proxy_set_header X-Forwarded-Host $host;",
        ] {
            assert_eq!(block.matches(header).count(), 3, "{header}");
        }
        assert_eq!(block.matches("proxy_read_timeout 60s;").count(), 3);
        assert!(block.contains("alias /app/static/;\n        expires 1y;"));
        assert!(
            block.contains("alias /app/media/;\n        expires 30d;"),
            "root gets its `/`"
        );
        assert_eq!(
            block
                .matches("add_header Cache-Control \"public\" always;")
                .count(),
            2
        );
        // Security headers repeated where add_header would cancel them.
        assert_eq!(
            block
                .matches("add_header X-Frame-Options DENY always;")
                .count(),
            3
        );
        assert!(!block.contains("return 404"), "the site has a / route");
    }
    let redirect = &blocks[3];
    assert!(redirect.contains("    listen 80;\n"));
    assert!(redirect.contains("return 301 https://$host$request_uri;"));
    assert!(!redirect.contains("$server_name"));
    assert!(!config.contains('\t'));

    let output = nginx_t(&config);
    assert!(output.contains("test is successful"), "{output}");
}

#[test]
fn plain_http_environment() {
    let sites = seed_sites(None);
    let upstreams = seed_upstreams();
    let proxy = ProxySettings {
        http_port: 8080,
        https_port: None,
        redirect_http: true,
        hsts_max_age: 31_536_000,
        ..Default::default()
    };
    let config = render(&RenderInput {
        environment: ENV,
        namespace: "",
        sites: &sites,
        upstreams: &upstreams,
        proxy: &proxy,
        log_dir: None,
        access_log: None,
    })
    .unwrap();
    let blocks = server_blocks(&config);
    assert_eq!(blocks.len(), 3, "no redirect without TLS");
    for b in &blocks {
        assert!(b.contains("    listen 8080;\n"));
        assert!(!b.contains("ssl"));
        assert!(
            !b.contains("Strict-Transport-Security"),
            "no HSTS over plain HTTP"
        );
        assert!(!b.contains("access_log"));
    }
    assert!(!config.contains("return 301"));
    nginx_t(&config);
}

#[test]
fn tls_without_redirect_listens_on_both_ports() {
    let scratch = Scratch::new("both");
    let mut sites = seed_sites(None);
    sites[0]
        .tls
        .insert(ENV.into(), self_signed(scratch.path(), "site-a.com"));
    let upstreams = seed_upstreams();
    let proxy = ProxySettings {
        http_port: 18080,
        https_port: Some(18443),
        redirect_http: false,
        hsts_max_age: 0,
        ..Default::default()
    };
    let config = render(&RenderInput {
        environment: ENV,
        namespace: "",
        sites: &sites,
        upstreams: &upstreams,
        proxy: &proxy,
        log_dir: None,
        access_log: None,
    })
    .unwrap();
    let blocks = server_blocks(&config);
    assert_eq!(blocks.len(), 3);
    let a = blocks.iter().find(|b| b.contains("site-a.com")).unwrap();
    assert!(a.contains("listen 18080;\n    listen 18443 ssl http2;\n"));
    assert!(!a.contains("Strict-Transport-Security"), "hsts_max_age 0");
    let b = blocks.iter().find(|b| b.contains("site-b.com")).unwrap();
    assert!(b.contains("listen 18080;\n") && !b.contains("ssl"), "{b}");
    nginx_t(&config);

    // With the redirect on a non-default port, the redirect names the port.
    let proxy = ProxySettings {
        redirect_http: true,
        ..proxy
    };
    let config = render(&RenderInput {
        environment: ENV,
        namespace: "",
        sites: &sites,
        upstreams: &upstreams,
        proxy: &proxy,
        log_dir: None,
        access_log: None,
    })
    .unwrap();
    assert!(config.contains("server_name site-a.com www.site-a.com;\n    server_tokens off;\n    return 301 https://$host:18443$request_uri;"), "{config}");
    nginx_t(&config);
}

#[test]
fn a_service_without_servers_gets_a_down_placeholder() {
    let sites = vec![site("site-a", "site-a.com", &[])];
    let upstreams = vec![
        Upstream {
            service: "authoring".into(),
            servers: vec![],
        },
        Upstream {
            service: "portal".into(),
            servers: vec!["127.0.0.1:3000".into()],
        },
        Upstream {
            service: "unused".into(),
            servers: vec!["unused:1".into()],
        },
    ];
    let proxy = ProxySettings {
        http_port: 80,
        ..Default::default()
    };
    let config = render(&RenderInput {
        environment: ENV,
        namespace: "",
        sites: &sites,
        upstreams: &upstreams,
        proxy: &proxy,
        log_dir: None,
        access_log: None,
    })
    .unwrap();
    assert!(config.contains("upstream berth_authoring {\n    least_conn;\n    # No running servers: a placeholder so requests fail fast.\n    server 127.0.0.1:9 down;\n}"), "{config}");
    assert!(
        !config.contains("berth_unused"),
        "only routed services get an upstream"
    );
    nginx_t(&config);
}

#[test]
fn output_is_deterministic() {
    let sites = seed_sites(None);
    let upstreams = seed_upstreams();
    let proxy = production();
    let input = RenderInput {
        environment: ENV,
        namespace: "",
        sites: &sites,
        upstreams: &upstreams,
        proxy: &proxy,
        log_dir: Some("/var/log/nginx"),
        access_log: None,
    };
    let first = render(&input).unwrap();
    assert_eq!(first, render(&input).unwrap());

    let mut shuffled = sites.clone();
    shuffled.reverse();
    for s in &mut shuffled {
        s.routes.reverse();
        let hosts = s.hosts.get_mut(ENV).unwrap();
        hosts.aliases.insert(0, format!("zz.{}", hosts.primary));
    }
    let mut shuffled_upstreams = upstreams.clone();
    shuffled_upstreams.reverse();
    for u in &mut shuffled_upstreams {
        u.servers.reverse();
        let again = u.servers[0].clone();
        u.servers.push(again);
    }
    let mut unshuffled = sites.clone();
    for s in &mut unshuffled {
        let hosts = s.hosts.get_mut(ENV).unwrap();
        hosts.aliases.push(format!("zz.{}", hosts.primary));
    }
    let a = render(&RenderInput {
        sites: &shuffled,
        upstreams: &shuffled_upstreams,
        ..input
    })
    .unwrap();
    let b = render(&RenderInput {
        sites: &unshuffled,
        ..input
    })
    .unwrap();
    assert_eq!(a, b);
}

#[test]
fn environment_picks_its_hosts() {
    let mut sites = seed_sites(None);
    sites[0].hosts.insert(
        "staging".into(),
        SiteHosts {
            primary: "test-a.example.com".into(),
            aliases: vec![],
        },
    );
    let upstreams = seed_upstreams();
    let proxy = production();
    let config = render(&RenderInput {
        environment: "staging",
        namespace: "",
        sites: &sites,
        upstreams: &upstreams,
        proxy: &proxy,
        log_dir: None,
        access_log: None,
    })
    .unwrap();
    let blocks = server_blocks(&config);
    assert_eq!(blocks.len(), 1, "only the site with staging hosts");
    assert!(blocks[0].contains("server_name test-a.example.com;"));
    assert!(config.contains("environment `staging`"));
    // No sites at all still makes a valid (if empty) config.
    let config = render(&RenderInput {
        environment: "development",
        namespace: "",
        sites: &sites,
        upstreams: &upstreams,
        proxy: &proxy,
        log_dir: None,
        access_log: None,
    })
    .unwrap();
    assert!(server_blocks(&config).is_empty());
    nginx_t(&config);
}

#[test]
fn a_hostname_claimed_by_two_sites_is_refused() {
    let mut sites = seed_sites(None);
    sites[1]
        .hosts
        .get_mut(ENV)
        .unwrap()
        .aliases
        .push("WWW.site-a.com".into());
    let errors = errors_of(&sites, &seed_upstreams(), &production());
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!(e.site, "site-b");
    assert_eq!(e.field, "hosts.aliases[WWW.site-a.com]");
    assert!(
        e.message
            .contains("`www.site-a.com` is already used by site `site-a`"),
        "{e}"
    );
    assert!(
        e.to_string().starts_with("site `site-b`: hosts.aliases"),
        "{e}"
    );

    // The same name twice within a site, too.
    let mut sites = seed_sites(None);
    sites[2]
        .hosts
        .get_mut(ENV)
        .unwrap()
        .aliases
        .push("portal.com".into());
    let errors = errors_of(&sites, &seed_upstreams(), &production());
    assert!(errors[0].message.contains("listed twice"), "{errors:?}");

    // Two sites may share a hostname in different environments.
    let mut sites = seed_sites(None);
    sites[0].hosts.insert(
        "staging".into(),
        SiteHosts {
            primary: "site-b.com".into(),
            aliases: vec![],
        },
    );
    assert!(render(&RenderInput {
        environment: ENV,
        namespace: "",
        sites: &sites,
        upstreams: &seed_upstreams(),
        proxy: &production(),
        log_dir: None,
        access_log: None,
    })
    .is_ok());
}

#[test]
fn hostnames_follow_rfc_1123() {
    let upstreams = seed_upstreams();
    let proxy = production();
    for good in [
        "localhost",
        "site-a.local",
        "*.example.com",
        "a.b-c.d9",
        "127.0.0.1",
        "xn--bcher-kva.example",
    ] {
        let sites = vec![site("s", good, &[])];
        let input = RenderInput {
            environment: ENV,
            namespace: "",
            sites: &sites,
            upstreams: &upstreams,
            proxy: &proxy,
            log_dir: None,
            access_log: None,
        };
        assert!(render(&input).is_ok(), "{good}");
    }
    let long_label = format!("{}.com", "a".repeat(64));
    let long_name = format!("{}com", "abcdefghi.".repeat(26));
    for bad in [
        "-a.com",
        "a-.com",
        "a..com",
        ".a.com",
        "a.com.",
        "a_b.com",
        "é.com",
        "a.*.com",
        "*a.com",
        "a.com*",
        "**.a.com",
        &long_label,
        &long_name,
    ] {
        let sites = vec![site("s", bad, &[])];
        let errors = errors_of(&sites, &upstreams, &proxy);
        assert_eq!(errors[0].field, "hosts.primary", "{bad}: {errors:?}");
    }
}

#[test]
fn routes_are_checked() {
    let upstreams = seed_upstreams();
    let proxy = production();
    let mut s = site("site-a", "site-a.com", &[]);
    s.routes.push(service("/api/", "portal"));
    s.routes.push(service("/search/", "opensearch"));
    s.routes.push(service("api/v2/", "authoring"));
    s.routes.push(files("/assets", "/app/assets/", "1y"));
    s.routes.push(files("/dl/", "relative/dir", "1y"));
    s.routes.push(files("/up/", "/app/../etc/", "1y"));
    s.routes.push(files("/old/", "/app/old/", "forever"));
    s.routes.push(service("/a/../b/", "portal"));
    let errors = errors_of(&[s], &upstreams, &proxy);
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "routes[/api/].path",
            "routes[/search/].service",
            "routes[api/v2/].path",
            "routes[/assets].path",
            "routes[/dl/].root",
            "routes[/up/].root",
            "routes[/old/].expires",
            "routes[/a/../b/].path",
        ],
        "{errors:#?}"
    );
    assert!(errors[0].message.contains("two routes"));
    assert!(errors[1].message.contains("unknown service `opensearch`"));
    assert!(errors[2].message.contains("must start with `/`"));
    assert!(errors.iter().all(|e| e.site == "site-a"));

    // A site without a `/` route answers 404 rather than nginx's default page.
    let mut s = site("site-a", "site-a.com", &[]);
    s.routes.retain(|r| r.path != "/");
    let config = render(&RenderInput {
        environment: ENV,
        namespace: "",
        sites: &[s],
        upstreams: &upstreams,
        proxy: &ProxySettings {
            http_port: 80,
            ..Default::default()
        },
        log_dir: None,
        access_log: None,
    })
    .unwrap();
    assert!(config.contains("    location / {\n        return 404;\n    }\n"));
    nginx_t(&config);
}

/// Values that would end a directive, open a block, start a comment or a variable, or add a
/// line: every field written into the config refuses them, and nothing is rendered.
#[test]
fn injection_is_refused_in_every_field() {
    let payloads = [
        "a.com; include /etc/passwd",
        "a.com}server{listen 1",
        "a.com{",
        "a.com\"",
        "a.com'",
        "a.com\nreturn 200",
        "a.com\rx",
        "a.com$host",
        "a.com#comment",
        "a.com\\x",
        "a.com b.com",
        "a.com\tb",
        "a.com\0",
    ];
    let upstreams = seed_upstreams();
    let proxy = production();
    let scratch = Scratch::new("inj");
    let tls = self_signed(scratch.path(), "site-a.com");

    type Mutation = Box<dyn Fn(&mut SiteSpec, &str)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "hosts.primary",
            Box::new(|s, p| s.hosts.get_mut(ENV).unwrap().primary = p.into()),
        ),
        (
            "hosts.aliases",
            Box::new(|s, p| s.hosts.get_mut(ENV).unwrap().aliases.push(p.into())),
        ),
        (
            "path",
            Box::new(|s, p| s.routes.push(service(&format!("/x/{p}/"), "portal"))),
        ),
        (
            "root",
            Box::new(|s, p| s.routes.push(files("/x/", &format!("/srv/{p}/"), "1d"))),
        ),
        (
            "expires",
            Box::new(|s, p| s.routes.push(files("/x/", "/srv/x/", p))),
        ),
        ("service", Box::new(|s, p| s.routes.push(service("/x/", p)))),
        ("tls.certificate", {
            let tls = tls.clone();
            Box::new(move |s, p| {
                let mut t = tls.clone();
                t.certificate = format!("/etc/ssl/{p}.crt");
                s.tls.insert(ENV.into(), t);
            })
        }),
        ("tls.certificate_key", {
            let tls = tls.clone();
            Box::new(move |s, p| {
                let mut t = tls.clone();
                t.certificate_key = format!("/etc/ssl/{p}.key");
                s.tls.insert(ENV.into(), t);
            })
        }),
    ];
    for (what, mutate) in &cases {
        for payload in payloads {
            let mut s = site("site-a", "site-a.com", &[]);
            mutate(&mut s, payload);
            let result = render(&RenderInput {
                environment: ENV,
                namespace: "",
                sites: &[s],
                upstreams: &upstreams,
                proxy: &proxy,
                log_dir: None,
                access_log: None,
            });
            let errors = result.expect_err(&format!("{what} accepted {payload:?}"));
            assert!(
                errors.iter().any(|e| e.field.contains(what)),
                "{what} {payload:?}: {errors:#?}"
            );
            for e in &errors {
                assert!(
                    !e.to_string().contains('\n'),
                    "messages stay on one line: {e}"
                );
            }
        }
    }

    // Environment-level values: upstream servers and service names, the log directory.
    for payload in payloads {
        let bad_server = vec![
            Upstream {
                service: "authoring".into(),
                servers: vec![format!("{payload}:8000")],
            },
            seed_upstreams().remove(1),
        ];
        let errors = errors_of(&[site("site-a", "site-a.com", &[])], &bad_server, &proxy);
        assert!(
            errors[0].field.starts_with("upstreams[authoring].servers"),
            "{payload:?}: {errors:?}"
        );

        let bad_name = vec![Upstream {
            service: payload.into(),
            servers: vec!["a:1".into()],
        }];
        let errors = errors_of(&[], &bad_name, &proxy);
        assert!(
            errors[0].field.ends_with(".service"),
            "{payload:?}: {errors:?}"
        );

        let log_dir = format!("/var/log/{payload}");
        let errors = render(&RenderInput {
            environment: ENV,
            namespace: "",
            sites: &[],
            upstreams: &upstreams,
            proxy: &proxy,
            log_dir: Some(&log_dir),
            access_log: None,
        })
        .unwrap_err();
        assert_eq!(errors[0].field, "log_dir", "{payload:?}");
    }

    // A site name only reaches a comment, and cannot end it.
    let mut s = site("evil\nserver { listen 1; }", "site-a.com", &[]);
    s.routes.clear();
    let errors = errors_of(&[s], &upstreams, &proxy);
    assert_eq!(errors[0].field, "name");
    let s = site(
        "Site A: the main one; {braces} are fine in a comment",
        "site-a.com",
        &[],
    );
    let config = render(&RenderInput {
        environment: ENV,
        namespace: "",
        sites: &[s],
        upstreams: &upstreams,
        proxy: &ProxySettings {
            http_port: 80,
            ..Default::default()
        },
        log_dir: None,
        access_log: None,
    })
    .unwrap();
    nginx_t(&config);
}

#[test]
fn environment_settings_are_checked() {
    let sites = seed_sites(None);
    let upstreams = seed_upstreams();
    let errors = errors_of(&sites, &upstreams, &ProxySettings::default());
    assert_eq!(errors[0].field, "proxy.http_port");
    assert_eq!(errors[0].site, "");
    assert_eq!(
        errors[0].to_string(),
        "proxy.http_port: must be a port number (1-65535)"
    );
    let errors = errors_of(
        &sites,
        &upstreams,
        &ProxySettings {
            http_port: 80,
            https_port: Some(80),
            ..Default::default()
        },
    );
    assert_eq!(errors[0].field, "proxy.https_port");

    // Certificates but no HTTPS port: refused rather than silently served over HTTP.
    let mut sites = seed_sites(None);
    sites[0].tls.insert(
        ENV.into(),
        TlsFiles {
            certificate: "/etc/ssl/a.crt".into(),
            certificate_key: "/etc/ssl/a.key".into(),
        },
    );
    let errors = errors_of(
        &sites,
        &upstreams,
        &ProxySettings {
            http_port: 80,
            ..Default::default()
        },
    );
    assert_eq!(
        (errors[0].site.as_str(), errors[0].field.as_str()),
        ("site-a", "tls")
    );

    // A service listed twice among the upstreams.
    let mut twice = seed_upstreams();
    twice.push(twice[0].clone());
    let errors = errors_of(&seed_sites(None), &twice, &production());
    assert_eq!(errors[0].field, "upstreams[authoring]");
}

#[test]
fn nginx_t_reports_a_broken_config() {
    let check = match validate_with_nginx("server { listen 80; bogus_directive on; }\n") {
        Ok(c) => c,
        Err(e) => panic!("nginx is needed for this test: apt-get install nginx ({e})"),
    };
    assert!(!check.ok);
    assert!(check.output.contains("bogus_directive"), "{}", check.output);

    // Missing certificate files are reported by nginx, not by render.
    let mut sites = seed_sites(None);
    sites[0].tls.insert(
        ENV.into(),
        TlsFiles {
            certificate: "/nonexistent/berth/a.crt".into(),
            certificate_key: "/nonexistent/berth/a.key".into(),
        },
    );
    let config = render(&RenderInput {
        environment: ENV,
        namespace: "",
        sites: &sites,
        upstreams: &seed_upstreams(),
        proxy: &production(),
        log_dir: None,
        access_log: None,
    })
    .unwrap();
    let check = validate_with_nginx(&config).unwrap();
    assert!(!check.ok);
    assert!(
        check.output.contains("/nonexistent/berth/a.crt"),
        "{}",
        check.output
    );

    // Nginx resolves upstream names when it loads: a container name that does not resolve
    // where `nginx -t` runs fails the check (run it where the proxy runs).
    let upstreams = vec![
        Upstream {
            service: "authoring".into(),
            servers: vec!["berth-no-such-host.invalid:8000".into()],
        },
        seed_upstreams().remove(1),
    ];
    let config = render(&RenderInput {
        environment: ENV,
        namespace: "",
        sites: &seed_sites(None),
        upstreams: &upstreams,
        proxy: &ProxySettings {
            http_port: 80,
            ..Default::default()
        },
        log_dir: None,
        access_log: None,
    })
    .unwrap();
    let check = validate_with_nginx(&config).unwrap();
    assert!(!check.ok);
    assert!(
        check.output.contains("host not found in upstream"),
        "{}",
        check.output
    );
}
