//! A second, remote-style Docker engine for tests: its own `dockerd` on a loopback TCP port
//! with `--tlsverify`, a CA / server / client certificate set made with `openssl`, its own
//! data, exec and pid paths, its own bridge interface and address pool, and no iptables rules
//! (so it cannot disturb the main engine). Killed, and its bridge and directories removed,
//! when dropped — whatever happened.
//!
//! Not `--bridge=none`: dockerd then deletes the host's `docker0`, the main engine's bridge.
#![allow(dead_code)]

use super::fixture::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long `dockerd` gets to answer over TLS before the test fails with its log.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// PEM files: a CA, a server certificate for 127.0.0.1 signed by it, a client certificate
/// signed by it.
pub struct CertSet {
    pub dir: PathBuf,
}

impl CertSet {
    /// Generates the set in `dir` (which must exist).
    pub fn generate(dir: &Path) -> CertSet {
        let set = CertSet {
            dir: dir.to_path_buf(),
        };
        set.ca("ca");
        set.signed(
            "server",
            "127.0.0.1",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        set.signed(
            "client",
            "berth-test-client",
            "extendedKeyUsage=clientAuth\n",
        );
        set
    }

    /// Another CA in the same directory, one that signed nothing the engine presents.
    pub fn other_ca(&self) -> String {
        self.ca("other-ca");
        self.read("other-ca.pem")
    }

    fn ca(&self, name: &str) {
        openssl(
            &self.dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=berth test {name}"),
                "-keyout",
                &format!("{name}-key.pem"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }

    fn signed(&self, name: &str, cn: &str, ext: &str) {
        std::fs::write(self.dir.join(format!("{name}.ext")), ext).expect("write ext");
        openssl(
            &self.dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &format!("{name}-key.pem"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }

    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).expect("read PEM")
    }

    /// What Berth needs to reach the engine: the CA, the client certificate and its key.
    pub fn client_material(&self) -> engine::TlsMaterial {
        engine::TlsMaterial {
            ca_pem: self.read("ca.pem"),
            cert_pem: self.read("client.pem"),
            key_pem: self.read("client-key.pem"),
        }
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (the CLI is needed to make test certificates)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `dockerd` that only speaks TLS with client certificates, on `tcp://127.0.0.1:port`.
pub struct TlsEngine {
    pub port: u16,
    pub certs: CertSet,
    root: tempfile::TempDir,
    bridge: String,
    child: Option<Child>,
}

impl TlsEngine {
    /// Starts the engine and waits until it answers over TLS; panics with the tail of its
    /// log when it does not within a minute.
    pub async fn start() -> TlsEngine {
        // A short path: containerd's sockets live under the exec root (108-byte limit).
        let root = tempfile::Builder::new()
            .prefix("berth-tlsd-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        for d in ["certs", "data", "exec"] {
            std::fs::create_dir(root.path().join(d)).expect("mkdir");
        }
        let certs = CertSet::generate(&root.path().join("certs"));
        let port = free_port();
        let bridge = format!("btls{port}");
        let subnet = format!("10.233.{}.1/24", port % 250 + 1);
        for args in [
            vec!["link", "add", "name", &bridge, "type", "bridge"],
            vec!["addr", "add", &subnet, "dev", &bridge],
            vec!["link", "set", &bridge, "up"],
        ] {
            let out = Command::new("ip").args(&args).output().expect("run ip");
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let child = spawn_dockerd(root.path(), &certs, port, &bridge, false);
        let mut engine = TlsEngine {
            port,
            certs,
            root,
            bridge,
            child: Some(child),
        };
        engine.wait_until_it_answers().await;
        engine
    }

    async fn wait_until_it_answers(&mut self) {
        let t0 = Instant::now();
        let material = self.certs.client_material();
        let mut last = String::new();
        while t0.elapsed() < START_TIMEOUT {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "dockerd exited with {status} before answering:\n{}",
                    self.log_tail()
                );
            }
            // A fresh client each time: this is the path Berth takes (TLS, version check).
            match engine::Engine::connect(&self.host(), Some(&material)) {
                Ok(e) => match e.ping().await {
                    Ok(_) => return,
                    Err(err) => last = err.to_string(),
                },
                Err(err) => last = err.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "dockerd did not answer over TLS on {} within {} s (last error: {last}); log tail:\n{}",
            self.host(),
            START_TIMEOUT.as_secs(),
            self.log_tail()
        );
    }

    /// Stops dockerd as `systemctl restart docker` would (SIGTERM: it stops its containers)
    /// and starts it again on the same data; waits until it answers.
    pub async fn restart(&mut self) {
        if let Some(child) = self.child.take() {
            stop(child, self.root.path());
        }
        self.child = Some(spawn_dockerd(
            self.root.path(),
            &self.certs,
            self.port,
            &self.bridge,
            true,
        ));
        self.wait_until_it_answers().await;
    }

    pub fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// The last lines of dockerd's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.root.path().join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The `docker` CLI pointed at this engine.
    pub fn cli(&self) -> Command {
        let mut c = Command::new("docker");
        c.args([
            "-H",
            &self.host(),
            "--tlsverify",
            &format!("--tlscacert={}", self.certs.path("ca.pem")),
            &format!("--tlscert={}", self.certs.path("client.pem")),
            &format!("--tlskey={}", self.certs.path("client-key.pem")),
        ]);
        c
    }

    /// Copies an image from the main engine into this one (`docker save | docker load`).
    pub fn load_image(&self, image: &str) {
        let mut save = Command::new("docker")
            .args(["save", image])
            .stdout(Stdio::piped())
            .spawn()
            .expect("docker save");
        let stdout = save.stdout.take().expect("save stdout");
        let out = self
            .cli()
            .arg("load")
            .stdin(stdout)
            .output()
            .expect("docker load");
        let saved = save.wait().expect("docker save ends");
        assert!(
            saved.success() && out.status.success(),
            "loading {image} into the TLS engine failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `docker ps` on this engine: the names of the containers with `label`.
    pub fn containers(&self, label: &str) -> Vec<String> {
        let out = self
            .cli()
            .args([
                "ps",
                "-a",
                "--filter",
                &format!("label={label}"),
                "--format",
                "{{.Names}}",
            ])
            .output()
            .expect("docker ps");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// Starts dockerd on `root` (data, exec root, pid file and log under it).
///
/// `restarted`: started again on data a previous run left. Such a dockerd, given address
/// pools, deletes "the stale default bridge" at start — by the fixed name `docker0`, the
/// host engine's bridge, not its own. With live restore it leaves bridges alone; it then
/// keeps containers running on its next stop, so [`TlsEngine`]'s drop removes them first.
fn spawn_dockerd(root: &Path, certs: &CertSet, port: u16, bridge: &str, restarted: bool) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("dockerd.log"))
        .expect("log file");
    let p = |rel: &str| root.join(rel).display().to_string();
    Command::new("dockerd")
        .args([
            "--tlsverify",
            &format!("--tlscacert={}", certs.path("ca.pem")),
            &format!("--tlscert={}", certs.path("server.pem")),
            &format!("--tlskey={}", certs.path("server-key.pem")),
            "-H",
            &format!("tcp://127.0.0.1:{port}"),
            &format!("--data-root={}", p("data")),
            &format!("--exec-root={}", p("exec")),
            &format!("--pidfile={}", p("dockerd.pid")),
            // Its own bridge and pool, no iptables rules: the main engine's stay as
            // they are.
            &format!("--bridge={bridge}"),
            "--default-address-pool=base=10.234.0.0/16,size=24",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-masq=false",
        ])
        .args(restarted.then_some("--live-restore"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start dockerd (these tests need dockerd and root)")
}

impl Drop for TlsEngine {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            let ids = self.cli().args(["ps", "-aq"]).output();
            if let Ok(out) = ids {
                let ids = String::from_utf8_lossy(&out.stdout).to_string();
                let ids: Vec<&str> = ids.split_whitespace().collect();
                if !ids.is_empty() {
                    let _ = self.cli().args(["rm", "-f"]).args(&ids).output();
                }
            }
            stop(child, self.root.path());
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
        // The TempDir removes the rest when it drops, right after this.
    }
}

fn stop(mut child: Child, root: &Path) {
    // SIGTERM lets dockerd stop its containers and its containerd and unmount its layers.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
        let _ = child.wait();
    }
    // Anything still mounted under the root (a killed dockerd leaves its layers) goes
    // before the directory does.
    let root = root.display().to_string();
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mut ours: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|m| m.starts_with(&root))
        .collect();
    ours.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for m in ours {
        let _ = Command::new("umount").args(["-l", m]).status();
    }
}
