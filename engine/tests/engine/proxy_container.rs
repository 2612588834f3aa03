//! `Proxy::Container` against nginx running in a container. No registry is reachable here,
//! so the image is built from this machine's own nginx binary and its libraries.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use engine::proxy::{Proxy, ProxyError, ReloadWait};
use engine::{Probe, Started};

use crate::support::{get_body, run_ok, setup, start_until, Guard};

const IMAGE: &str = "berth-engine-test-nginx:local";
const CONFIG: &str = "/etc/nginx/conf.d/berth.conf";

const NGINX_CONF: &str = "worker_processes 2;
pid /run/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
  access_log off;
  server { listen 8080 default_server; return 404; }
  include /etc/nginx/conf.d/*.conf;
}
";

/// Builds the image once per run: nginx, the libraries `ldd` names, and a minimal /etc.
fn nginx_image() -> &'static str {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if *built {
        return IMAGE;
    }
    let nginx = Path::new("/usr/sbin/nginx");
    assert!(
        nginx.exists(),
        "these tests need nginx (apt-get install nginx)"
    );
    let context = tempfile::tempdir().unwrap();
    let root = context.path().join("rootfs");
    let copy = |from: &Path| {
        let to = root.join(from.strip_prefix("/").unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    };
    copy(nginx);
    let ldd = Command::new("ldd")
        .arg(nginx)
        .output()
        .expect("ldd is needed");
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let path = line
            .split_whitespace()
            .find(|word| word.starts_with('/'))
            .map(Path::new);
        if let Some(path) = path {
            copy(path);
        }
    }
    for dir in [
        "etc/nginx/conf.d",
        "var/lib/nginx",
        "var/log/nginx",
        "run",
        "tmp",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let files = [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        ),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ("etc/nginx/nginx.conf", NGINX_CONF),
    ];
    for (path, content) in files {
        std::fs::write(root.join(path), content).unwrap();
    }
    let dockerfile = "FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/sbin:/usr/bin:/sbin:/bin\n\
                      ENTRYPOINT [\"/usr/sbin/nginx\", \"-g\", \"daemon off;\"]\n";
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    run_ok(
        Command::new("docker")
            .args(["build", "-q", "-t", IMAGE])
            .arg(context.path()),
        "these tests need the docker CLI",
        "building the nginx test image failed",
    );
    *built = true;
    IMAGE
}

/// nginx in a container, published, and a `Proxy::Container` that manages its config.
/// The guard removes the container.
async fn nginx_in_container(test: &str) -> (Guard, Started, Proxy) {
    let (engine, guard) = setup(test).await;
    let spec = guard.spec("nginx", nginx_image(), 8080);
    // The default server answers 404 once nginx listens.
    let probe = Probe::Running {
        min_uptime: Duration::from_millis(300),
    };
    let started = start_until(&engine, &spec, &probe, 20).await;
    let proxy = Proxy::Container {
        engine,
        container: started.id.clone(),
        config_path: CONFIG.to_owned(),
    };
    (guard, started, proxy)
}

fn site(body: &str) -> String {
    format!(
        "server {{ listen 8080; server_name site.test; location / {{ return 200 '{body}'; }} }}\n"
    )
}

async fn body(started: &Started) -> (u16, String) {
    get_body(started.http_addr.unwrap(), "site.test").await
}

#[tokio::test]
async fn a_config_uploaded_into_the_container_serves_once_apply_returns() {
    let (_guard, started, proxy) = nginx_in_container("proxy-container").await;
    assert_eq!(proxy.current().await.unwrap(), None);
    for round in 0..3 {
        let version = format!("round-{round}");
        let applied = proxy.apply(&site(&version)).await.unwrap();
        assert!(applied.changed);
        assert_eq!(applied.reload, ReloadWait::WorkersReplaced);
        assert_eq!(body(&started).await, (200, version));
    }
    assert_eq!(proxy.current().await.unwrap(), Some(site("round-2")));
    assert!(!proxy.apply(&site("round-2")).await.unwrap().changed);
}

#[tokio::test]
async fn an_invalid_config_in_the_container_is_rolled_back() {
    let (_guard, started, proxy) = nginx_in_container("proxy-container-invalid").await;
    proxy.apply(&site("good")).await.unwrap();
    let err = proxy
        .apply("server { bogus_directive on; }")
        .await
        .unwrap_err();
    let ProxyError::Invalid(output) = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert!(output.contains("bogus_directive"), "{output}");
    assert_eq!(proxy.current().await.unwrap(), Some(site("good")));
    assert_eq!(body(&started).await, (200, "good".to_owned()));
}

#[tokio::test]
async fn a_first_invalid_config_in_the_container_leaves_nginx_serving() {
    let (_guard, started, proxy) = nginx_in_container("proxy-container-first").await;
    let err = proxy.apply("server { nonsense }").await.unwrap_err();
    assert!(matches!(err, ProxyError::Invalid(_)), "{err:?}");
    // This image has no `rm`, so the file is emptied instead of removed.
    let current = proxy.current().await.unwrap();
    assert!(matches!(current.as_deref(), None | Some("")), "{current:?}");
    assert_eq!(body(&started).await.0, 404);
    proxy.apply(&site("after")).await.unwrap();
    assert_eq!(body(&started).await, (200, "after".to_owned()));
}
