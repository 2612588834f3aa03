//! `cargo bench -p stack --features engine`: parsing the seed stack's own files (the
//! import), the nginx config of 200 sites, and the seal/open rate of 64-byte secrets. Plain
//! `std::time`; prints medians.
use stack::model::{ProxySettings, Route, RouteTarget, SiteHosts, SiteSpec, TlsFiles};
use stack::nginx::{render, RenderInput, Upstream};
use stack::seal::{aad, Keyring, MasterKey};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// 200 sites, each with 2 hostnames, 5 routes, 2 services of 3 servers, and TLS.
fn fleet() -> (Vec<SiteSpec>, Vec<Upstream>) {
    let mut sites = Vec::new();
    let mut upstreams = Vec::new();
    for i in 0..200 {
        let (api, web) = (format!("api-{i}"), format!("web-{i}"));
        for svc in [&api, &web] {
            upstreams.push(Upstream {
                service: svc.clone(),
                servers: (0..3)
                    .map(|n| format!("10.0.{}.{}:8000", i % 250, n + 1))
                    .collect(),
            });
        }
        let service = |path: &str, s: &str| Route {
            path: path.into(),
            target: RouteTarget::Service { service: s.into() },
        };
        let files = |path: &str, root: &str| Route {
            path: path.into(),
            target: RouteTarget::Files {
                root: root.into(),
                expires: "1y".into(),
            },
        };
        let mut hosts = BTreeMap::new();
        hosts.insert(
            "production".to_string(),
            SiteHosts {
                primary: format!("site-{i}.example.com"),
                aliases: vec![format!("www.site-{i}.example.com")],
            },
        );
        let mut tls = BTreeMap::new();
        tls.insert(
            "production".to_string(),
            TlsFiles {
                certificate: format!("/etc/nginx/ssl/site-{i}.crt"),
                certificate_key: format!("/etc/nginx/ssl/site-{i}.key"),
            },
        );
        sites.push(SiteSpec {
            name: format!("site-{i}"),
            hosts,
            routes: vec![
                files("/static/", "/app/static/"),
                files("/media/", "/app/media/"),
                service("/api/", &api),
                service("/admin/", &api),
                service("/", &web),
            ],
            tls,
            ..Default::default()
        });
    }
    (sites, upstreams)
}

fn main() {
    let (sites, upstreams) = fleet();
    let proxy = ProxySettings {
        http_port: 80,
        https_port: Some(443),
        redirect_http: true,
        hsts_max_age: 31_536_000,
        ..Default::default()
    };
    let input = RenderInput {
        environment: "production",
        namespace: "",
        sites: &sites,
        upstreams: &upstreams,
        proxy: &proxy,
        log_dir: Some("/var/log/nginx"),
        access_log: None,
    };
    let size = render(&input).expect("the fleet renders").len();
    let runs = 51;
    let samples = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(render(black_box(&input)).unwrap());
            start.elapsed()
        })
        .collect();
    println!(
        "nginx render, 200 sites x 2 hosts x 5 routes, 400 upstreams x 3 servers: median {:.2} ms over {runs} runs ({} KiB of config)",
        median(samples).as_secs_f64() * 1e3,
        size / 1024
    );

    seed_import();

    let ring = Keyring::new(MasterKey::generate());
    let value = [0x42u8; 64];
    let a = aad("idp-cms", Some("production"), "SECRET_KEY");
    let n = 20_000;
    let mut seal_rates = Vec::new();
    let mut open_rates = Vec::new();
    let mut sealed = Vec::with_capacity(n);
    for _ in 0..5 {
        sealed.clear();
        let start = Instant::now();
        for _ in 0..n {
            sealed.push(ring.seal(black_box(&a), black_box(&value)));
        }
        seal_rates.push(n as f64 / start.elapsed().as_secs_f64());
        let start = Instant::now();
        for s in &sealed {
            black_box(ring.open(&a, s).unwrap());
        }
        open_rates.push(n as f64 / start.elapsed().as_secs_f64());
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "seal 64-byte values (XChaCha20-Poly1305, OsRng nonce): median {:.0} ops/s over 5 x {n}",
        med(seal_rates)
    );
    println!(
        "open 64-byte values: median {:.0} ops/s over 5 x {n}",
        med(open_rates)
    );
}

/// Parsing the seed's docker-compose.prod.yml and its three .env files, as an import does.
fn seed_import() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/seed/fixtures");
    let read = |p: &str| std::fs::read_to_string(format!("{dir}/{p}")).expect("seed fixture");
    let compose = read("docker-compose.prod.yml");
    let envs = [
        read("env/.env.dev"),
        read("env/.env.test"),
        read("env/.env.prod"),
    ];
    let runs = 201;
    let samples = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(
                stack::compose::import("docker-compose.prod.yml", black_box(&compose)).unwrap(),
            );
            for e in &envs {
                black_box(stack::dotenv::parse(".env", black_box(e)).unwrap());
            }
            start.elapsed()
        })
        .collect();
    println!(
        "seed import parse (compose: 7 services, 3 .env files): median {:.3} ms over {runs} runs",
        median(samples).as_secs_f64() * 1e3
    );
}
