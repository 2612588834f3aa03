//! The "edge" exporter: series made for PromQL's corner cases, as functions of the wall
//! clock's whole second, so Berth and the Prometheus that scrapes directly read the same
//! story: a counter that resets, a series that comes and goes (stale), a target that fails
//! some scrapes, a histogram with only the `+Inf` bucket, gauges at 0, NaN and ±Inf.
use axum::http::StatusCode;
use std::fmt::Write;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// The sawtooth counter falls back to its first value every this many seconds.
pub const RESET_EVERY_SECS: u64 = 15;
/// `edge_flapping{phase="even"}` and `{phase="odd"}` take turns for this many seconds each.
pub const FLAP_SECS: u64 = 10;
/// `/flaky` answers 500 on every second divisible by this.
pub const FAIL_EVERY_SECS: u64 = 5;

pub struct Edge {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

impl Edge {
    /// Serves `/metrics` (the edge cases) and `/flaky` (a target that fails some scrapes).
    pub async fn start() -> Edge {
        let started = now_secs();
        let router = axum::Router::new()
            .route(
                "/metrics",
                axum::routing::get(move || async move { exposition(started, now_secs()) }),
            )
            .route(
                "/flaky",
                axum::routing::get(move || async move { flaky(started, now_secs()) }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Edge { addr, task }
    }
}

/// The edge cases `s` seconds after the epoch, for an exporter started at `started`.
pub fn exposition(started: u64, s: u64) -> String {
    let up = (s - started) as f64;
    let mut out = String::new();
    out.push_str("# TYPE edge_resets_total counter\n");
    let sawtooth = 3 * (s % RESET_EVERY_SECS + 1);
    let _ = writeln!(out, "edge_resets_total{{kind=\"sawtooth\"}} {sawtooth}");
    let _ = writeln!(out, "edge_resets_total{{kind=\"steady\"}} {}", 2.0 * up);
    out.push_str("# TYPE edge_flapping gauge\n");
    match (s / FLAP_SECS) % 2 {
        0 => out.push_str("edge_flapping{phase=\"even\"} 1\n"),
        _ => out.push_str("edge_flapping{phase=\"odd\"} 2\n"),
    }
    out.push_str("# TYPE edge_gauge gauge\n");
    let wave = 10.0 * (s as f64 / 7.0).sin();
    let ramp = (s % 40) as f64 * 0.25;
    for (name, value) in [
        ("zero", "0".to_string()),
        ("one", "1".to_string()),
        ("negative", "-3.5".to_string()),
        ("nan", "NaN".to_string()),
        ("inf", "+Inf".to_string()),
        ("wave", format!("{wave}")),
        ("ramp", format!("{ramp}")),
    ] {
        let _ = writeln!(out, "edge_gauge{{name=\"{name}\"}} {value}");
    }
    // A classic histogram whose only bucket is +Inf: no finite bound to interpolate from.
    out.push_str("# TYPE edge_inf_only_seconds histogram\n");
    let _ = writeln!(out, "edge_inf_only_seconds_bucket{{le=\"+Inf\"}} {up}");
    let _ = writeln!(out, "edge_inf_only_seconds_sum {}", 0.3 * up);
    let _ = writeln!(out, "edge_inf_only_seconds_count {up}");
    // A small histogram with ordinary buckets and uneven growth.
    out.push_str("# TYPE edge_latency_seconds histogram\n");
    let (fast, mid, slow) = (3.0 * up, up + (s % 3) as f64, 0.5 * up);
    let _ = writeln!(out, "edge_latency_seconds_bucket{{le=\"0.1\"}} {fast}");
    let _ = writeln!(
        out,
        "edge_latency_seconds_bucket{{le=\"1\"}} {}",
        fast + mid
    );
    let _ = writeln!(
        out,
        "edge_latency_seconds_bucket{{le=\"+Inf\"}} {}",
        fast + mid + slow
    );
    let _ = writeln!(
        out,
        "edge_latency_seconds_sum {}",
        0.05 * fast + 0.4 * mid + 3.0 * slow
    );
    let _ = writeln!(out, "edge_latency_seconds_count {}", fast + mid + slow);
    out.push_str("# TYPE edge_info gauge\n");
    out.push_str("edge_info{a=\"alpha\",b=\"beta-1\",path=\"/x/y\"} 1\n");
    // An empty label value is no label at all.
    out.push_str("edge_info{a=\"gamma\",b=\"\",path=\"/z\"} 1\n");
    out
}

/// `/flaky`: a counter, or HTTP 500 on every [`FAIL_EVERY_SECS`]th second (a missing scrape).
pub fn flaky(started: u64, s: u64) -> Result<String, StatusCode> {
    if s.is_multiple_of(FAIL_EVERY_SECS) {
        return Err(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Ok(format!(
        "# TYPE edge_flaky_total counter\nedge_flaky_total {}\n",
        5 * (s - started)
    ))
}
