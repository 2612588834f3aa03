//! GitHub webhook latency: how long Berth takes to answer a signed delivery (signature check,
//! matching, queueing the deploys, recording the delivery), alone and under concurrent load.
//! GitHub gives up after 10 s; the target is p99 under 50 ms.
//!
//! Run with `cargo bench -p server --bench webhook`. In-process server on loopback, a
//! temporary SQLite database, a project with two environments, and the deploy runner running
//! (so the queued deploys compete for the database as they would in production).
//!
//! Tuning (environment):
//! - `BERTH_BENCH_DELIVERIES`: deliveries under load (default 4000)
//! - `BERTH_BENCH_CONNECTIONS`: concurrent senders (default 16)
//! - `BERTH_BENCH_FLOOD`: concurrent unsigned senders in the flood phase (default 32)
//!
//! The last phase sends signed deliveries while unsigned posts flood the endpoint from the same
//! address (refused, then answered 429 by the per-address limit without the database).

use berth_core::context::Ctx;
use berth_core::environments::{self, EnvironmentInput};
use berth_core::variables::{self, Scope};
use berth_core::webhooks::github::sign;
use berth_core::{projects, AppState};
use berth_server::config::Config;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "bench-webhook-secret-0123456789";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn seed(state: &AppState) {
    let ctx = Ctx::system();
    projects::create(state, &ctx, "idp", "idp")
        .await
        .expect("project");
    for (slug, branch) in [("staging", "staging"), ("production", "main")] {
        let input = EnvironmentInput {
            name: slug.into(),
            slug: slug.into(),
            branch: branch.into(),
            proxy: environments::default_proxy(),
            ..Default::default()
        };
        environments::create(state, &ctx, "idp", input)
            .await
            .expect("environment");
    }
    variables::set(
        state,
        &ctx,
        Scope::Project("idp"),
        "GITHUB_WEBHOOK_SECRET",
        Some(SECRET),
        true,
    )
    .await
    .expect("secret");
}

/// The i-th delivery: pushes to main/staging (deploy), to feature branches (skipped), and
/// every fifth one a copy of an earlier delivery (duplicate).
fn delivery(i: usize) -> (String, Vec<u8>) {
    let n = if i % 5 == 4 { i - 3 } else { i };
    let branch = match n % 4 {
        0 => "main".to_string(),
        1 => "staging".to_string(),
        k => format!("feature/{k}-{n}"),
    };
    let body = json!({
        "ref": format!("refs/heads/{branch}"),
        "before": format!("{:040x}", n),
        "after": format!("{:040x}", n + 1),
        "deleted": false,
        "repository": {"full_name": "idp-org/idp-sites", "name": "idp-sites"},
        "pusher": {"name": "octocat", "email": "octocat@github.com"},
        "sender": {"login": "octocat"},
        "head_commit": {"id": format!("{:040x}", n + 1), "message": format!("Change {n}\n\nDetails."),
            "modified": ["portal/views.py"]},
        "commits": [{"id": format!("{:040x}", n + 1), "message": format!("Change {n}")}],
    });
    (
        format!("bench-{n}"),
        serde_json::to_vec(&body).expect("json"),
    )
}

async fn send(client: &reqwest::Client, url: &str, id: &str, body: &[u8]) -> (Duration, u16) {
    let start = Instant::now();
    let res = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", id)
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), body))
        .body(body.to_vec())
        .send()
        .await;
    let status = match res {
        Ok(r) => {
            let s = r.status().as_u16();
            let _ = r.bytes().await;
            s
        }
        Err(_) => 0,
    };
    (start.elapsed(), status)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn summary(label: &str, mut lat: Vec<Duration>, bad: usize, elapsed: Duration) -> Duration {
    lat.sort_unstable();
    let p99 = pct(&lat, 99.0);
    println!(
        "| {label} | {} | {} | {} | {} | {} | {:.0}/s | {bad} |",
        lat.len(),
        ms(pct(&lat, 50.0)),
        ms(pct(&lat, 90.0)),
        ms(p99),
        ms(lat.last().copied().unwrap_or_default()),
        lat.len() as f64 / elapsed.as_secs_f64().max(1e-9),
    );
    p99
}

fn main() {
    let total = env_num("BERTH_BENCH_DELIVERIES", 4000) as usize;
    let conns = env_num("BERTH_BENCH_CONNECTIONS", 16).max(1) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::for_data_dir(dir.path().to_path_buf(), None);
    let server_rt = runtime();
    let client_rt = runtime();
    let state = server_rt
        .block_on(berth_server::build_state(&config))
        .expect("state");
    server_rt.block_on(seed(&state));
    drop(state);
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let url = format!("{base}/api/hooks/github/idp");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = server_rt.spawn(berth_server::launch_with_listener(
        config,
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    client_rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(conns)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        for _ in 0..200 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        println!("== Berth webhook latency ({total} deliveries, {conns} concurrent senders) ==");
        println!("| phase | deliveries | p50 | p90 | p99 | max | rate | non-2xx |");
        println!("|---|---|---|---|---|---|---|---|");
        // One at a time: the latency of a single delivery on an idle server.
        let start = Instant::now();
        let mut lat = Vec::new();
        let mut bad = 0;
        for i in 0..200 {
            let (id, body) = delivery(1_000_000 + i);
            let (d, s) = send(&client, &url, &id, &body).await;
            lat.push(d);
            bad += usize::from(!(200..300).contains(&s));
        }
        summary("sequential", lat, bad, start.elapsed());
        // Under load: `conns` senders share the deliveries.
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let start = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..conns {
            let (client, url, next) = (client.clone(), url.clone(), next.clone());
            workers.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut bad = 0usize;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let (id, body) = delivery(i);
                    let (d, s) = send(&client, &url, &id, &body).await;
                    lat.push(d);
                    bad += usize::from(!(200..300).contains(&s));
                }
                (lat, bad)
            }));
        }
        let mut lat = Vec::new();
        let mut bad = 0;
        for w in workers {
            let (l, b) = w.await.expect("sender");
            lat.extend(l);
            bad += b;
        }
        let p99 = summary("under load", lat, bad, start.elapsed());
        // Signed deliveries while an unsigned flood runs.
        let flood_conns = env_num("BERTH_BENCH_FLOOD", 32).max(1) as usize;
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flooded = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut floods = Vec::new();
        for _ in 0..flood_conns {
            let (client, url, done, flooded) =
                (client.clone(), url.clone(), done.clone(), flooded.clone());
            floods.push(tokio::spawn(async move {
                let junk = vec![b'x'; 16 * 1024];
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-github-event", "push")
                        .body(junk.clone())
                        .send()
                        .await
                        .map(|r| r.status());
                    flooded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let start = Instant::now();
        let mut lat = Vec::new();
        let mut bad = 0;
        for i in 0..1000 {
            let (id, body) = delivery(2_000_000 + i);
            let (d, s) = send(&client, &url, &id, &body).await;
            lat.push(d);
            bad += usize::from(!(200..300).contains(&s));
        }
        let elapsed = start.elapsed();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        for f in floods {
            let _ = f.await;
        }
        let flood_p99 = summary("signed during unsigned flood", lat, bad, elapsed);
        println!(
            "(flood: {flood_conns} unsigned senders, {} posts, {:.0}/s)",
            flooded.load(std::sync::atomic::Ordering::Relaxed),
            flooded.load(std::sync::atomic::Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
        );
        println!();
        println!(
            "p99 during the flood {} (target < 50 ms): {}",
            ms(flood_p99),
            if flood_p99 < Duration::from_millis(50) {
                "met"
            } else {
                "NOT met"
            }
        );
        println!(
            "p99 under load {} (target < 50 ms): {}",
            ms(p99),
            if p99 < Duration::from_millis(50) {
                "met"
            } else {
                "NOT met"
            }
        );
    });
    let _ = stop.send(());
    let _ = server_rt.block_on(server);
}
