use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use engine::proxy::{Proxy, ProxyError, ReloadWait};

use crate::support::{get, get_body, run_ok, setup, start_ready};

/// A real nginx with its own prefix, listening on a free loopback port, stopped on drop.
struct Nginx {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    bin: PathBuf,
}

impl Nginx {
    fn start() -> Nginx {
        let bin = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect("these tests need nginx (apt-get install nginx): no nginx binary found");
        let dir = tempfile::tempdir().unwrap();
        let port = crate::support::free_port();
        let prefix = dir.path().display().to_string();
        std::fs::create_dir(dir.path().join("sites")).unwrap();
        let conf = format!(
            "worker_processes 2;\n\
             error_log {prefix}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {prefix}/body;\n\
               proxy_temp_path {prefix}/proxy;\n\
               fastcgi_temp_path {prefix}/fastcgi;\n\
               uwsgi_temp_path {prefix}/uwsgi;\n\
               scgi_temp_path {prefix}/scgi;\n\
               server {{ listen 127.0.0.1:{port} default_server; return 404; }}\n\
               include {prefix}/sites/*.conf;\n\
             }}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let nginx = Nginx {
            dir,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            bin,
        };
        run_ok(
            Command::new(&nginx.bin).args(nginx.base()),
            "cannot run nginx",
            "nginx did not start",
        );
        nginx
    }

    fn base(&self) -> Vec<String> {
        let prefix = self.dir.path().display().to_string();
        let conf = format!("{prefix}/nginx.conf");
        let pid = format!("pid {prefix}/nginx.pid;");
        [("-p", prefix), ("-c", conf), ("-g", pid)]
            .into_iter()
            .flat_map(|(flag, value)| [flag.to_owned(), value])
            .collect()
    }

    fn command(&self, extra: &[&str]) -> Vec<String> {
        let mut argv = vec![self.bin.display().to_string()];
        argv.extend(self.base());
        argv.extend(extra.iter().map(|s| s.to_string()));
        argv
    }

    fn managed(&self) -> PathBuf {
        self.dir.path().join("sites/berth.conf")
    }

    fn proxy(&self) -> Proxy {
        Proxy::Host {
            config_path: self.managed(),
            test: self.command(&["-t"]),
            reload: self.command(&["-s", "reload"]),
        }
    }

    fn site(&self, host: &str, body: &str) -> String {
        format!(
            "server {{ listen {}; server_name {host}; location / {{ return 200 '{body}'; }} }}\n",
            self.addr
        )
    }

    fn pid(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("nginx.pid")).ok()
    }
}

impl Drop for Nginx {
    /// Tells nginx to stop and does not wait: its master takes a second or two to exit, and
    /// every test has its own port and prefix.
    fn drop(&mut self) {
        let Some(pid) = self.pid() else { return };
        let argv = self.command(&["-s", "stop"]);
        let stopped = Command::new(&argv[0])
            .args(&argv[1..])
            .output()
            .is_ok_and(|o| o.status.success());
        if !stopped {
            let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
        }
    }
}

#[tokio::test]
async fn applied_config_routes_by_host_to_a_demo_container() {
    let (engine, guard) = setup("proxy-route").await;
    let started = start_ready(&engine, &guard.demo("web")).await;
    let nginx = Nginx::start();
    let config = format!(
        "server {{ listen {}; server_name site-a.test; location / {{ proxy_pass http://{}; }} }}\n",
        nginx.addr,
        started.http_addr.unwrap()
    );
    let applied = nginx.proxy().apply(&config).await.unwrap();
    assert!(applied.changed);
    assert_eq!(applied.reload, ReloadWait::WorkersReplaced);
    let (status, text) = get(nginx.addr, "site-a.test", "/api/health").await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("v1"),
        "the demo answers with its version: {text}"
    );
    let (status, _) = get(nginx.addr, "other.test", "/api/health").await.unwrap();
    assert_eq!(status, 404);
}

#[tokio::test]
async fn every_apply_serves_the_new_config_as_soon_as_it_returns() {
    let nginx = Nginx::start();
    let proxy = nginx.proxy();
    for round in 0..5 {
        let version = format!("round-{round}");
        let applied = proxy
            .apply(&nginx.site("site.test", &version))
            .await
            .unwrap();
        assert_eq!(applied.reload, ReloadWait::WorkersReplaced);
        assert_eq!(get_body(nginx.addr, "site.test").await, (200, version));
    }
}

#[tokio::test]
async fn an_invalid_config_is_rejected_and_the_previous_one_keeps_serving() {
    let nginx = Nginx::start();
    let proxy = nginx.proxy();
    let good = nginx.site("site.test", "good");
    proxy.apply(&good).await.unwrap();
    let bad = format!(
        "server {{ listen {}; server_name bad.test; bogus_directive on; }}\n",
        nginx.addr
    );
    let err = proxy.apply(&bad).await.unwrap_err();
    let ProxyError::Invalid(output) = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert!(output.contains("bogus_directive"), "{output}");
    assert!(!err.to_string().contains('\n'), "{err}");
    assert_eq!(
        proxy.current().await.unwrap().as_deref(),
        Some(good.as_str())
    );
    let previous = std::fs::read_to_string(format!("{}.previous", nginx.managed().display()));
    assert_eq!(previous.unwrap(), good);
    assert_eq!(
        get_body(nginx.addr, "site.test").await,
        (200, "good".to_owned())
    );
}

#[tokio::test]
async fn an_unchanged_config_is_not_reloaded() {
    let nginx = Nginx::start();
    let proxy = nginx.proxy();
    let config = nginx.site("site.test", "same");
    assert!(proxy.apply(&config).await.unwrap().changed);
    let again = proxy.apply(&config).await.unwrap();
    assert!(!again.changed);
    assert_eq!(again.reload, ReloadWait::Skipped);
}

#[tokio::test]
async fn a_first_config_that_is_invalid_leaves_no_file() {
    let nginx = Nginx::start();
    let proxy = nginx.proxy();
    let err = proxy.apply("server { nonsense }").await.unwrap_err();
    assert!(matches!(err, ProxyError::Invalid(_)), "{err:?}");
    assert_eq!(proxy.current().await.unwrap(), None);
    assert!(!nginx.managed().exists());
    assert_eq!(get_body(nginx.addr, "site.test").await.0, 404);
}

#[tokio::test]
async fn a_reload_of_an_nginx_that_is_not_running_is_a_reload_error() {
    let nginx = Nginx::start();
    let missing = nginx
        .dir
        .path()
        .join("not-running.pid")
        .display()
        .to_string();
    let mut reload = nginx.command(&["-s", "reload"]);
    let at = reload.iter().position(|a| a.starts_with("pid ")).unwrap();
    reload[at] = format!("pid {missing};");
    let proxy = Proxy::Host {
        config_path: nginx.managed(),
        test: nginx.command(&["-t"]),
        reload,
    };
    let err = proxy
        .apply(&nginx.site("site.test", "x"))
        .await
        .unwrap_err();
    let ProxyError::Reload(output) = &err else {
        panic!("expected Reload, got {err:?}");
    };
    assert!(output.contains("not-running.pid"), "{output}");
}
