//! Three demo sites in process (`berth-demo`, exporters on), each started at a different
//! point of the imitated exporters' cycles, and traffic that makes every seed alert true
//! for at least one of them: memory over 85 % (`memory`), the data disk over 80 % and a
//! site slower than 2 s at p95 with under 1 req/s (`slow`), a cluster that is not green
//! (`yellow`, `slow`), an error rate over 5 % (`memory`, whose health check flaps).
use berth_demo::app::State;
use berth_demo::config::Config;
use berth_demo::exporters::Exporters;
use berth_demo::server::{Server, ShutdownHandle};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The site whose every request takes longer than the seed's 2 s latency threshold (and
/// inside the demo's 2–2.5 s bucket).
pub const SLOW_SITE: &str = "slow.local";
const SLOW_MS: u64 = 2_300;

/// (name, `DEMO_CLOCK_OFFSET_SECS`): yellow cluster at 0–3 min; memory over 85 % from about
/// 2 to 8 min; `/data` over 80 % from 7.5 min (and yellow again from 10 min).
pub const DEMOS: [(&str, u64); 3] = [("yellow", 0), ("memory", 200), ("slow", 650)];

pub struct Demo {
    pub name: &'static str,
    pub addr: SocketAddr,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<usize>>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Demo {
    pub fn start(name: &'static str, offset_secs: u64) -> Demo {
        let config = Config {
            version: "promcompat".into(),
            access_log: false,
            exporters: Exporters::ALL,
            clock_offset: Duration::from_secs(offset_secs),
            ..Config::default()
        };
        let server = Server::bind(
            "127.0.0.1:0".parse().expect("addr"),
            Arc::new(State::new(config)),
        )
        .expect("bind the demo");
        let (addr, handle) = (server.local_addr(), server.shutdown_handle());
        let thread = std::thread::spawn(move || server.run());
        Demo {
            name,
            addr,
            handle,
            thread: Some(thread),
        }
    }

    pub fn address(&self) -> String {
        self.addr.to_string()
    }
}

pub fn start_all() -> Vec<Demo> {
    DEMOS
        .iter()
        .map(|(name, offset)| Demo::start(name, *offset))
        .collect()
}

/// Requests running in the background until dropped.
pub struct Traffic {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Traffic {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// One stream of requests: `GET path` with `Host: site`, one after the other, `pause_ms`
/// apart.
struct Stream {
    demo: &'static str,
    site: &'static str,
    path: &'static str,
    pause_ms: u64,
}

const fn stream(
    demo: &'static str,
    site: &'static str,
    path: &'static str,
    pause_ms: u64,
) -> Stream {
    Stream {
        demo,
        site,
        path,
        pause_ms,
    }
}

/// About 25 requests a second in all: feeds, health checks, a 400 (bad size), a 404, and
/// two connections to the slow site (under 1 req/s between them).
const STREAMS: [Stream; 10] = [
    stream("yellow", "site-a.local", "/api/feed?size=5", 100),
    stream("yellow", "site-b.local", "/api/health", 250),
    stream("yellow", "localhost", "/api/feed?size=many", 1_000),
    stream("yellow", "portal.local", "/no/such/page", 700),
    stream("memory", "site-a.local", "/api/health", 150),
    stream("memory", "site-a.local", "/api/feed", 200),
    stream("memory", "portal.local", "/api/feed?size=1", 500),
    stream("slow", "site-b.local", "/api/health", 200),
    stream("slow", SLOW_SITE, "/api/feed", 0),
    stream("slow", SLOW_SITE, "/api/feed", 0),
];

/// How often the `memory` demo's health check flips between healthy and 503.
const FLAP_EVERY: Duration = Duration::from_secs(5);

impl Traffic {
    pub async fn start(demos: &[Demo]) -> Traffic {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let base = |name: &str| {
            let demo = demos
                .iter()
                .find(|d| d.name == name)
                .expect("a demo of that name");
            format!("http://{}", demo.addr)
        };
        let slow = format!("{}/_demo/slow?ms={SLOW_MS}&site={SLOW_SITE}", base("slow"));
        let res = client
            .post(slow)
            .send()
            .await
            .expect("slow down the slow site");
        assert!(res.status().is_success(), "slow toggle: {}", res.status());
        let mut tasks = Vec::new();
        for s in &STREAMS {
            let (client, url) = (client.clone(), format!("{}{}", base(s.demo), s.path));
            let (site, pause) = (s.site, Duration::from_millis(s.pause_ms));
            tasks.push(tokio::spawn(async move {
                loop {
                    // Failures (503s, timeouts) are part of the traffic.
                    let _ = client.get(&url).header("host", site).send().await;
                    tokio::time::sleep(pause).await;
                }
            }));
        }
        let toggle = format!("{}/_demo/health", base("memory"));
        tasks.push(tokio::spawn(async move {
            for healthy in [false, true].into_iter().cycle() {
                let state = if healthy { "healthy" } else { "unhealthy" };
                let _ = client.post(format!("{toggle}?state={state}")).send().await;
                tokio::time::sleep(FLAP_EVERY).await;
            }
        }));
        Traffic { tasks }
    }
}
