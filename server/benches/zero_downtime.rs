//! Zero downtime, measured: steady load through nginx while Berth rolls `web` (2 replicas)
//! from v1 to v2, then the same update the way `docker compose up -d` does it (stop the old
//! containers, then start the new ones on the same ports) as the baseline. Also Berth's own
//! time per deploy, beyond waiting on containers, jobs, drains and the health gate.
//!
//! `cargo bench -p server --bench zero_downtime` (needs Docker and nginx, like the tests).
#[path = "../tests/deploy/fixture.rs"]
mod fixture;
#[path = "../tests/deploy/stage.rs"]
mod stage;
#[path = "../tests/api/support.rs"]
mod support;

use berth_demo::load::{self, args::LoadConfig, report::Report};
use serde_json::json;
use stage::{log_text, status, Stage};
use std::process::Command;
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 8;

/// Runs `berth-load`'s engine against `url` (with `Host: host`) while `during` runs.
async fn under_load<F: std::future::Future<Output = T>, T>(
    url: &str,
    host: &str,
    during: F,
) -> (Report, T) {
    let stop = tempfile::NamedTempFile::new().expect("temp file");
    let stop_path = stop.path().to_path_buf();
    std::fs::remove_file(&stop_path).expect("remove");
    let mut cfg = LoadConfig::for_url(url).expect("url");
    cfg.host = host.to_string();
    cfg.connections = CONNECTIONS;
    cfg.duration = None;
    cfg.until_file = Some(stop_path.clone());
    let worker = std::thread::spawn(move || load::run(&cfg));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let out = during.await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    std::fs::write(&stop_path, b"done").expect("stop file");
    let report = worker.join().expect("load thread");
    let _ = std::fs::remove_file(&stop_path);
    (report, out)
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `docker compose up -d` with a changed image: the old containers are stopped and removed,
/// then the new ones are created and started on the same published ports.
async fn compose_style(s: &Stage) -> (Report, (Duration, Duration)) {
    let ports = [fixture::free_port(), fixture::free_port()];
    let label = format!("berth.project={}", s.project);
    let run = |i: usize, tag: &str| {
        docker(&[
            "run",
            "-d",
            "--name",
            &format!("{}-compose-{i}", s.project),
            "--label",
            &label,
            "-p",
            &format!("127.0.0.1:{}:8000", ports[i]),
            &format!("berth-demo:{tag}"),
        ])
    };
    for i in 0..2 {
        run(i, "v1");
    }
    let config = format!(
        "upstream compose_web {{ server 127.0.0.1:{}; server 127.0.0.1:{}; }}\n\
         server {{ listen 127.0.0.1:{}; server_name site-a.local; location / {{ proxy_pass http://compose_web; proxy_set_header Host $host; }} }}\n",
        ports[0], ports[1], s.nginx.port
    );
    std::fs::write(s.nginx.dir.path().join("berth.conf"), config).expect("write config");
    let nginx = stack::nginx::find_nginx().expect("nginx");
    let d = s.nginx.dir.path().display().to_string();
    let ok = Command::new(nginx)
        .args([
            "-p",
            &d,
            "-e",
            &format!("{d}/error.log"),
            "-c",
            &format!("{d}/nginx.conf"),
            "-s",
            "reload",
        ])
        .status()
        .expect("reload");
    assert!(ok.success());
    // Wait until both answer.
    for p in ports {
        for _ in 0..100 {
            if reqwest::get(format!("http://127.0.0.1:{p}/api/health"))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let url = format!("{}/api/health", s.nginx.base());
    under_load(&url, "site-a.local", async {
        let t0 = Instant::now();
        let names: Vec<String> = (0..2)
            .map(|i| format!("{}-compose-{i}", s.project))
            .collect();
        let mut args = vec!["stop"];
        args.extend(names.iter().map(String::as_str));
        docker(&args);
        let mut args = vec!["rm"];
        args.extend(names.iter().map(String::as_str));
        docker(&args);
        for i in 0..2 {
            run(i, "v2");
        }
        let replaced = t0.elapsed();
        // Until the site answers through nginx again (nginx also keeps failed servers out
        // for `fail_timeout`, 10 s by default).
        let client = reqwest::Client::new();
        loop {
            let ok = client
                .get(format!("{}/api/health", s.nginx.base()))
                .header("host", "site-a.local")
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok || t0.elapsed() > Duration::from_secs(60) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (replaced, t0.elapsed())
    })
    .await
}

fn overhead_ms(log: &str) -> Option<(u64, u64, u64)> {
    let line = log.lines().rev().find(|l| l.starts_with("timing: "))?;
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.parse().ok())
        .collect();
    Some((nums[0], nums[1], nums[2]))
}

fn print(name: &str, r: &Report) {
    let t = &r.tally;
    println!(
        "{name:<34} requests {:>7}  failed {:>5}  retried {:>3}  p99 {:>7.1} ms  max {:>7.1} ms  versions {:?}  errors {:?}  statuses {:?}",
        t.requests,
        t.failed,
        t.retried,
        r.percentile_ms(99.0),
        r.max_ms(),
        t.versions,
        t.errors,
        t.statuses
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let s = Stage::new("bench-zd").await;
        let d = s.deploy_and_wait(json!({"reason": "v1"})).await;
        assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
        let url = format!("{}/api/health", s.nginx.base());
        let mut overheads = Vec::new();
        for (i, tag) in ["v2", "v1", "v2"].iter().enumerate() {
            s.set_var("IMAGE_TAG", tag, false).await;
            let (report, d) = under_load(&url, "site-a.local", s.deploy_and_wait(json!({"reason": tag}))).await;
            assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
            print(&format!("Berth rolling update #{} (→{tag})", i + 1), &report);
            if let Some(o) = overhead_ms(&log_text(&d)) {
                println!(
                    "    deploy {} ms in all: {} ms waiting on images, containers, jobs, drains, gate; {} ms Berth overhead",
                    o.0, o.1, o.2
                );
                overheads.push(o.2);
            }
        }
        let (report, (took, down)) = compose_style(&s).await;
        print("compose-style stop-then-start", &report);
        println!(
            "    stop + rm + run took {} ms; the site answered again after {} ms",
            took.as_millis(),
            down.as_millis()
        );
        overheads.sort_unstable();
        println!(
            "Berth overhead per deploy (beyond waits): median {} ms, max {} ms",
            overheads.get(overheads.len() / 2).copied().unwrap_or(0),
            overheads.last().copied().unwrap_or(0)
        );
    });
}
