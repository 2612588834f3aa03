//! What the tests share: the engine, the demo image, unique names, guards that remove
//! whatever a test started even when it fails, and the start-and-wait and HTTP steps many
//! tests take.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use engine::{CancellationToken, ContainerSpec, Engine, EngineError, Probe, Started};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const DEMO_IMAGE: &str = "berth-demo:v1";
pub const TEST_LABEL: &str = "berth.test";

/// The local engine; fails the test (never skips it) when Docker is not there.
pub async fn engine() -> Engine {
    let engine = Engine::connect("", None).expect("the Docker host address is invalid");
    if let Err(err) = engine.ping().await {
        panic!(
            "these tests need a running Docker engine (DOCKER_HOST or /var/run/docker.sock): {err}"
        );
    }
    engine
}

/// Builds `berth-demo:v1` with scripts/demo-image.sh unless it is there already.
pub fn demo_image() -> &'static str {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if !*built {
        let present = Command::new("docker")
            .args(["image", "inspect", DEMO_IMAGE])
            .output()
            .unwrap_or_else(|e| panic!("these tests need the docker CLI: {e}"))
            .status
            .success();
        if !present {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/demo-image.sh");
            assert!(
                std::path::Path::new(script).exists(),
                "{script} is missing: it builds the {DEMO_IMAGE} image these tests run"
            );
            let status = Command::new("bash")
                .args([script, "v1"])
                .status()
                .expect("cannot run scripts/demo-image.sh");
            assert!(
                status.success(),
                "scripts/demo-image.sh v1 failed ({status})"
            );
        }
        *built = true;
    }
    DEMO_IMAGE
}

/// Unique names for one test, and the cleanup of everything labelled with them.
pub struct Guard {
    pub id: String,
    images: Mutex<Vec<String>>,
}

impl Guard {
    pub fn new(test: &str) -> Guard {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = format!("engine-{test}-{}-{n}", std::process::id()).replace('_', "-");
        Guard {
            id,
            images: Mutex::new(Vec::new()),
        }
    }

    /// A container or network name unique to this test.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.id)
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(TEST_LABEL.to_owned(), self.id.clone())])
    }

    /// An image tag this test creates, removed at the end.
    pub fn image(&self, reference: &str) -> String {
        self.images.lock().unwrap().push(reference.to_owned());
        reference.to_owned()
    }

    /// `image` serving HTTP on `http_port`, published on a random loopback port, labelled
    /// for cleanup, not restarted.
    pub fn spec(&self, suffix: &str, image: &str, http_port: u16) -> ContainerSpec {
        ContainerSpec {
            name: self.name(suffix),
            image: image.to_owned(),
            labels: self.labels(),
            http_port: Some(http_port),
            publish_http: true,
            ..Default::default()
        }
    }

    /// The demo site, published on a random loopback port, labelled for cleanup.
    pub fn demo(&self, suffix: &str) -> ContainerSpec {
        ContainerSpec {
            restart: stack::lifecycle::Restart::UnlessStopped,
            ..self.spec(suffix, demo_image(), 8000)
        }
    }

    /// The demo site with `var=1` set, one of its failure modes (`DEMO_CRASH`, …).
    pub fn demo_with(&self, suffix: &str, var: &str) -> ContainerSpec {
        ContainerSpec {
            env: vec![(var.into(), "1".into())],
            ..self.demo(suffix)
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let filter = format!("label={TEST_LABEL}={}", self.id);
        let ids = docker(&["ps", "-aq", "--filter", &filter]);
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.iter().map(String::as_str));
            docker(&args);
        }
        let networks = docker(&["network", "ls", "-q", "--filter", &filter]);
        if !networks.is_empty() {
            let mut args = vec!["network", "rm"];
            args.extend(networks.iter().map(String::as_str));
            docker(&args);
        }
        for image in self.images.lock().unwrap().iter() {
            docker(&["rmi", image]);
        }
    }
}

/// The local engine and a guard for the test named `test`.
pub async fn setup(test: &str) -> (Engine, Guard) {
    (engine().await, Guard::new(test))
}

/// The demo's health endpoint, as a probe.
pub fn health() -> Probe {
    Probe::Http {
        path: "/api/health".into(),
    }
}

/// Waits up to `secs` seconds for `probe`, without cancellation.
pub async fn wait(engine: &Engine, id: &str, probe: &Probe, secs: u64) -> Result<(), EngineError> {
    engine
        .wait_ready(
            id,
            probe,
            Duration::from_secs(secs),
            CancellationToken::new(),
        )
        .await
}

/// Waits up to `secs` seconds until the demo's /api/health answers 200; fails the test if not.
pub async fn wait_http(engine: &Engine, id: &str, secs: u64) {
    wait(engine, id, &health(), secs).await.unwrap();
}

/// Starts `spec` and waits up to `secs` seconds for `probe`; fails the test if either fails.
pub async fn start_until(
    engine: &Engine,
    spec: &ContainerSpec,
    probe: &Probe,
    secs: u64,
) -> Started {
    let started = engine.start(spec).await.unwrap();
    wait(engine, &started.id, probe, secs).await.unwrap();
    started
}

/// Starts `spec` and waits (20 s at most) until its /api/health answers 200.
pub async fn start_ready(engine: &Engine, spec: &ContainerSpec) -> Started {
    start_until(engine, spec, &health(), 20).await
}

/// A token that cancels itself after `delay`.
pub fn cancel_after(delay: Duration) -> CancellationToken {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        trigger.cancel();
    });
    cancel
}

/// Runs `command`, failing the test with `missing` when it cannot run and with `failed` and
/// its stderr when it does not succeed.
pub fn run_ok(command: &mut Command, missing: &str, failed: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{missing}: {e}"));
    assert!(
        output.status.success(),
        "{failed}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the docker CLI, returning its output lines (errors ignored: this is cleanup).
pub fn docker(args: &[&str]) -> Vec<String> {
    match Command::new("docker").args(args).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect(),
        Err(_) => Vec::new(),
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.0 GET: (status, headers and body).
pub async fn get(addr: SocketAddr, host: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response))
        .await
        .map_err(|_| std::io::Error::other("no answer within 5 s"))??;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {text:?}")))?;
    Ok((status, text))
}

/// A GET of `/` for `host`: (status, body without the headers); fails the test if unanswered.
pub async fn get_body(addr: SocketAddr, host: &str) -> (u16, String) {
    let (status, text) = get(addr, host, "/").await.unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}
