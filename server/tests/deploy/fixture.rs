//! Real components for deploy tests: the demo images (built from this repository, `FROM
//! scratch`), a Debian nginx on a loopback port that Berth drives, and cleanup of every
//! container a test's environment left behind.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Builds `berth-demo:v1`, `:v2` and the failing variants once per test process. Panics
/// (the test fails) when Docker is missing: deploy tests need a real engine.
pub fn demo_images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = repo_root().join("scripts/demo-image.sh");
        let run = |args: &[&str]| {
            let out = Command::new("bash")
                .arg(&script)
                .args(args)
                .output()
                .expect("run scripts/demo-image.sh");
            assert!(
                out.status.success(),
                "scripts/demo-image.sh {args:?} failed (is the Docker engine running? `make test` starts it):\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&["v1", "v2"]);
        run(&["--env", "DEMO_START_UNHEALTHY=1", "v2-unhealthy"]);
        run(&["--env", "DEMO_FAIL_FEED=1", "v2-badfeed"]);
        run(&["--env", "DEMO_MIGRATE_FAIL=1", "v2-badmigrate"]);
        run(&["--env", "DEMO_CRASH=1", "v2-crash"]);
        run(&["--env", "DEMO_STARTUP_DELAY_MS=2500", "v2-slow"]);
    });
}

/// Builds `berth-db:bookworm` (Debian's PostgreSQL 15 and Redis, see `scripts/db-image.sh`
/// for how to run each) once per test process and returns its name. Quick when the image is
/// there at the script's version; the first build ever takes a few minutes. Panics (the test
/// fails) with the script's output when it cannot be built.
pub fn db_image() -> &'static str {
    const IMAGE: &str = "berth-db:bookworm";
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/db-image.sh"))
            .output()
            .expect("run scripts/db-image.sh");
        assert!(
            out.status.success(),
            "scripts/db-image.sh failed (is the Docker engine running? `make test` starts it):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
    IMAGE
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// An nginx of its own (prefix in a temp dir) whose `http { }` includes the file Berth
/// manages; stopped when dropped.
pub struct Nginx {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Nginx {
    pub fn start() -> Nginx {
        let nginx = stack::nginx::find_nginx()
            .expect("nginx is not installed (`make test` installs it as root on Debian)");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let d = dir.path().display().to_string();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
        }
        std::fs::write(dir.path().join("berth.conf"), "").expect("write berth.conf");
        let user = if is_root() { "user root;\n" } else { "" };
        let main = format!(
            "{user}worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             server {{ listen 127.0.0.1:{port} default_server; return 421; }}\n  include {d}/berth.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).expect("write nginx.conf");
        let n = Nginx { dir, port };
        let out = Command::new(&nginx)
            .args(n.args())
            .output()
            .expect("start nginx");
        assert!(
            out.status.success(),
            "nginx did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        n
    }

    fn args(&self) -> Vec<String> {
        let d = self.dir.path().display().to_string();
        vec![
            "-p".into(),
            d.clone(),
            "-e".into(),
            format!("{d}/error.log"),
            "-c".into(),
            format!("{d}/nginx.conf"),
        ]
    }

    /// The environment's `proxy` settings for Berth to drive this nginx.
    pub fn proxy_settings(&self) -> serde_json::Value {
        let nginx = stack::nginx::find_nginx().expect("nginx");
        let nginx = nginx.display().to_string();
        let mut test = vec![nginx.clone(), "-t".into(), "-q".into()];
        test.extend(self.args());
        let mut reload = vec![nginx, "-s".into(), "reload".into()];
        reload.extend(self.args());
        serde_json::json!({
            "http_port": self.port,
            "listen_address": "127.0.0.1",
            "https_port": null,
            "redirect_http": false,
            "hsts_max_age": 0,
            "manager": {
                "mode": "host",
                "config_path": self.dir.path().join("berth.conf").display().to_string(),
                "test_command": test,
                "reload_command": reload,
            }
        })
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn config(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berth.conf")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(nginx) = stack::nginx::find_nginx() {
            let _ = Command::new(nginx)
                .args(self.args())
                .args(["-s", "stop"])
                .output();
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Removes every container (and the network) Berth made for `project` when dropped, so a
/// failing test leaves nothing running.
pub struct Cleanup {
    pub project: String,
}

/// The ids (or names) a `docker <list...> -q --filter <filter>` prints; none when it fails.
fn docker_list(list: &[&str], filter: &str) -> Vec<String> {
    Command::new("docker")
        .args(list)
        .args(["-q", "--filter", filter])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `docker <rm...> <ids...>`, once, when there is anything to remove; errors are ignored.
fn docker_rm(rm: &[&str], ids: &[String]) {
    if !ids.is_empty() {
        let _ = Command::new("docker").args(rm).args(ids).output();
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let label = format!("label=berth.project={}", self.project);
        docker_rm(&["rm", "-f"], &docker_list(&["ps", "-a"], &label));
        for n in docker_list(&["network", "ls"], &label) {
            docker_rm(&["network", "rm"], &[n]);
        }
        for v in docker_list(&["volume", "ls"], &label) {
            docker_rm(&["volume", "rm", "-f"], &[v]);
        }
    }
}

/// Removes a volume a test made by hand when the test ends.
pub struct VolumeGuard(pub String);

impl Drop for VolumeGuard {
    fn drop(&mut self) {
        // The guard may go before the test's containers do: those using it go first.
        let users = docker_list(&["ps", "-a"], &format!("volume={}", self.0));
        docker_rm(&["rm", "-f"], &users);
        docker_rm(&["volume", "rm", "-f"], std::slice::from_ref(&self.0));
    }
}

/// Containers of a project's environment as `docker ps` sees them: (name, release label).
pub fn containers(project: &str, env: &str) -> Vec<(String, String)> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label=berth.project={project}"),
            "--filter",
            &format!("label=berth.environment={env}"),
            "--format",
            "{{.Names}}\t{{.Label \"berth.release\"}}\t{{.State}}",
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            Some((parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect()
}
