#![cfg(feature = "engine")]
//! The metrics access log: the rendered format, `nginx -t`, and a real nginx sending its
//! lines over UDP syslog to a socket that [`parse_datagram`] reads.
use stack::model::{ProxySettings, SiteHosts, SiteSpec};
use stack::nginx::access_log::{parse_datagram, Method};
use stack::nginx::{render, validate_with_nginx, AccessLogSink, RenderInput};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "00112233445566778899aabbccddeeff";

fn site(name: &str, primary: &str, aliases: &[&str]) -> SiteSpec {
    SiteSpec {
        name: name.into(),
        hosts: [(
            "staging".to_string(),
            SiteHosts {
                primary: primary.into(),
                aliases: aliases.iter().map(|a| a.to_string()).collect(),
            },
        )]
        .into(),
        ..Default::default()
    }
}

fn config(sink: &AccessLogSink, port: u16, log_dir: Option<&str>) -> String {
    let sites = [
        site("A", "a.example.test", &["www.a.example.test"]),
        site("B", "b.example.test", &[]),
    ];
    let proxy = ProxySettings {
        http_port: port,
        listen_address: "127.0.0.1".into(),
        ..Default::default()
    };
    render(&RenderInput {
        environment: "staging",
        namespace: "shop_staging",
        sites: &sites,
        upstreams: &[],
        proxy: &proxy,
        log_dir,
        access_log: Some(sink),
    })
    .unwrap_or_else(|e| panic!("{e:#?}"))
}

fn sink(server: std::net::SocketAddr) -> AccessLogSink {
    AccessLogSink {
        server,
        environment_id: 42,
        token: TOKEN.into(),
    }
}

#[test]
fn the_metrics_format_carries_no_url_and_passes_nginx_t() {
    let sink = sink("127.0.0.1:5514".parse().unwrap());
    let scratch = tempdir("fmt");
    let logs = scratch.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let config = config(&sink, 8080, Some(logs.to_str().unwrap()));
    assert!(
        config.contains(&format!(
            "log_format berth_shop_staging_metrics escape=default 'berth1 42 {TOKEN} \
             $server_name $request_method $status '\n    '$request_time $bytes_sent \
             $upstream_response_time';"
        )),
        "{config}"
    );
    // Both server blocks send to the socket, besides their file logs.
    let directive = "access_log syslog:server=127.0.0.1:5514,facility=local7,tag=berth,\
                     severity=info,nohostname berth_shop_staging_metrics;";
    assert_eq!(config.matches(directive).count(), 2, "{config}");
    assert_eq!(
        config
            .matches(".access.log berth_shop_staging_multi_site;")
            .count(),
        2
    );
    let metrics_format = config
        .lines()
        .skip_while(|l| !l.starts_with("log_format berth_shop_staging_metrics"))
        .take(2)
        .collect::<String>();
    // Only these variables: no `$request`, `$uri`, `$args`, headers or client address.
    let variables: Vec<&str> = metrics_format
        .split('$')
        .skip(1)
        .map(|v| {
            v.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        variables,
        [
            "server_name",
            "request_method",
            "status",
            "request_time",
            "bytes_sent",
            "upstream_response_time"
        ]
    );
    let check = validate_with_nginx(&config).expect("nginx installed");
    assert!(check.ok, "{}\n{config}", check.output);

    // A token that is not Berth's shape is refused, not written.
    let mut bad = sink.clone();
    bad.token = "0011'; include /etc/passwd; #".into();
    let errors = render(&RenderInput {
        environment: "staging",
        namespace: "",
        sites: &[],
        upstreams: &[],
        proxy: &ProxySettings {
            http_port: 80,
            ..Default::default()
        },
        log_dir: None,
        access_log: Some(&bad),
    })
    .expect_err("refused");
    assert_eq!(errors[0].field, "access_log");
}

#[test]
fn nginx_sends_one_parsable_line_per_request_named_by_the_server_block() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = config(&sink(socket.local_addr().unwrap()), port, None);
    let nginx = RunningNginx::start(&config);

    // An alias and a client-chosen Host header both count under the block's first name.
    for (host, path) in [
        ("www.a.example.test", "/x?token=SECRET123"),
        ("b.example.test", "/"),
    ] {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            c,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer SECRET456\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    }
    // A request line nginx cannot read: 400 from the port's default server (the first).
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"\x01\x02 nonsense\r\n\r\n").unwrap();
    // No more from us: nginx's lingering close need not wait.
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    let _ = c.read_to_end(&mut answer);
    assert!(answer.starts_with(b"HTTP/1.1 400"), "{answer:?}");

    let mut sites = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let mut buf = [0u8; 2048];
        let n = socket.recv(&mut buf).expect("a datagram from nginx");
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(!text.contains("SECRET"), "{text}");
        let line = parse_datagram(&buf[..n]).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(line.environment_id, 42);
        assert_eq!(line.token, TOKEN);
        assert!(line.bytes_sent > 0);
        assert_eq!(line.upstream_time, None, "{text}");
        sites.push(line.site.to_string());
        statuses.push((line.status, line.method));
    }
    sites.sort();
    assert_eq!(
        sites,
        ["a.example.test", "a.example.test", "b.example.test"]
    );
    statuses.sort();
    assert_eq!(
        statuses,
        [(400, Method::Other), (404, Method::Get), (404, Method::Get)]
    );
    drop(nginx);
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "berth-access-log-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// nginx with a prefix of its own, stopped (and its directory removed) on drop.
struct RunningNginx {
    dir: PathBuf,
}

impl RunningNginx {
    fn start(config: &str) -> RunningNginx {
        let dir = tempdir("run");
        let d = dir.display();
        std::fs::write(dir.join("berth.conf"), config).unwrap();
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let user = if root { "user root;\n" } else { "" };
        std::fs::write(
            dir.join("nginx.conf"),
            format!(
                "{user}pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n\
                 access_log off;\nclient_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\n\
                 fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\n\
                 scgi_temp_path {d}/scgi;\ninclude {d}/berth.conf;\n}}\n"
            ),
        )
        .unwrap();
        let n = RunningNginx { dir };
        let out = Command::new(stack::nginx::find_nginx().expect("nginx installed"))
            .args(n.args())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        n
    }

    fn args(&self) -> Vec<String> {
        let d = self.dir.display().to_string();
        vec![
            "-p".into(),
            d.clone(),
            "-e".into(),
            format!("{d}/error.log"),
            "-c".into(),
            format!("{d}/nginx.conf"),
        ]
    }
}

impl Drop for RunningNginx {
    fn drop(&mut self) {
        if let Some(nginx) = stack::nginx::find_nginx() {
            let _ = Command::new(nginx)
                .args(self.args())
                .args(["-s", "stop"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
