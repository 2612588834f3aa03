//! What the tests share: the engine, the demo image, unique names, and guards that remove
//! whatever a test started even when it fails.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use engine::{ContainerSpec, Engine};
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

    /// The demo site, published on a random loopback port, labelled for cleanup.
    pub fn demo(&self, suffix: &str) -> ContainerSpec {
        ContainerSpec {
            name: self.name(suffix),
            image: demo_image().to_owned(),
            labels: self.labels(),
            http_port: Some(8000),
            publish_http: true,
            restart: true,
            ..Default::default()
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
