//! A real `prometheus` (Debian's package) as a child process of the test: its own port, a
//! temporary data directory and configuration, killed when dropped.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How the test tells where the binary should come from when it is missing.
const INSTALL_HINT: &str =
    "install it with `scripts/ensure-deps.sh --no-rust --prometheus` as root \
     (apt-get install prometheus); `make test-unit` does this through deps-runtime";

pub struct Prometheus {
    pub url: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `prometheus` on PATH or where Debian puts it; the test fails (never skips) without it.
pub fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("prometheus"))
            .find(|p| p.is_file())
    });
    on_path
        .or_else(|| Some(PathBuf::from("/usr/bin/prometheus")).filter(|p| p.is_file()))
        .unwrap_or_else(|| panic!("the PromQL compatibility test needs prometheus: {INSTALL_HINT}"))
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("port").port()
}

impl Prometheus {
    /// Starts prometheus with `config` (YAML) and the remote write receiver on, and waits
    /// until it is ready. `name` only tells the two instances apart in messages.
    pub async fn start(name: &str, config: &str) -> Prometheus {
        // The port is free when we ask, and very likely still when prometheus binds it; if
        // not, it exits at once and we try another.
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix(&format!("berth-promcompat-{name}-"))
                .tempdir()
                .expect("temp dir");
            std::fs::write(dir.path().join("prometheus.yml"), config).expect("write config");
            let port = free_port();
            let mut p = Prometheus {
                url: format!("http://127.0.0.1:{port}"),
                child: spawn(dir.path(), port),
                dir,
            };
            match p.wait_ready().await {
                Ok(()) => return p,
                Err(e) if e.starts_with("exited") => {
                    eprintln!("promcompat: prometheus {name} did not start ({e}); another port");
                }
                Err(e) => panic!("prometheus {name}: {e}\n{}", p.log_tail()),
            }
        }
        panic!("prometheus {name} did not start on three ports");
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}: {}", self.log_tail()));
            }
            let ready = client.get(format!("{}/-/ready", self.url)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err("not ready within 30 s".into())
    }

    /// The last lines prometheus logged, for failure messages.
    pub fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

fn spawn(dir: &Path, port: u16) -> Child {
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("log file");
    let err = log.try_clone().expect("log file");
    Command::new(binary())
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run prometheus: {e}; {INSTALL_HINT}"))
}
