//! The metrics storage on a disk that fills up (a real tmpfs of a few MiB, mounted over the
//! metrics directory; the test needs root, as CI and `make test` run it): scrapes pause and
//! the targets list says so, what was stored stays readable, and once there is room again
//! scraping resumes by itself and the store reopens whole.
use super::support::{spawn_with, TestApp};
use berth_model::{InstanceRole, Scope};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A tmpfs mounted at a path, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill a disk and needs root (as CI and \
             `make test` run it): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// An exporter of `n` series with long label values, each growing by one per scrape.
async fn exporter(n: usize) -> (String, tokio::task::JoinHandle<()>) {
    let scrapes = Arc::new(AtomicU64::new(0));
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let k = scrapes.fetch_add(1, Ordering::SeqCst);
            async move {
                let mut body = String::with_capacity(n * 120);
                body.push_str("# TYPE filler_total counter\n");
                for i in 0..n {
                    body.push_str(&format!(
                        "filler_total{{shard=\"{i}\",pad=\"{:0>64}\"}} {}\n",
                        i,
                        k * 1000 + i as u64
                    ));
                }
                body
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (addr, task)
}

/// The static target's entry in the targets list, once `pred` holds for it.
async fn target_when(
    app: &TestApp,
    token: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let (_, list) = app
            .api(
                Method::GET,
                "/projects/shop/environments/staging/metrics/targets",
                Some(token),
                None,
            )
            .await;
        if let Some(t) = list
            .as_array()
            .and_then(|l| l.iter().find(|t| t["job"] == "filler"))
        {
            if pred(t) {
                return t.clone();
            }
            last = t.clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the target never was {what}; last {last}");
}

#[tokio::test]
async fn a_full_disk_pauses_scrapes_says_so_and_resumes_when_space_is_back() {
    let data = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&data.path().join("metrics"), "1m");
    let dir = data.path().to_path_buf();
    let app = spawn_with(move |c| c.data_dir = dir).await;
    app.user("root", InstanceRole::Admin).await;
    let admin = app.token("root", Scope::Write).await;
    app.project("shop").await;
    app.environment("shop", "staging", &admin).await;
    let (address, task) = exporter(3000).await;
    let (s, body) = app
        .api(
            Method::POST,
            "/projects/shop/environments/staging/metrics/targets",
            Some(&admin),
            Some(json!({"job_name": "filler", "address": address,
                        "interval_ms": 1000, "timeout_ms": 900})),
        )
        .await;
    assert_eq!(s, 201, "{body}");

    // The disk fills: the target is paused and says why, without the server's paths.
    let paused = target_when(&app, &admin, "paused", |t| t["health"] == "paused").await;
    let why = paused["last_error"].as_str().unwrap();
    assert!(why.contains("disk"), "{paused}");
    assert!(!why.contains(data.path().to_str().unwrap()), "{paused}");
    // What was stored before is still read.
    let before = app.promql(&admin, "count(filler_total)").await;
    assert_eq!(before["data"]["result"][0]["value"][1], "3000", "{before}");
    let stored_before = app
        .promql(&admin, r#"max(max_over_time(filler_total{shard="7"}[1h]))"#)
        .await["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .unwrap();

    // Room again: scraping resumes by itself and the counter moves on.
    disk.resize("256m");
    target_when(&app, &admin, "up again", |t| t["health"] == "up").await;
    let mut after = 0.0;
    for _ in 0..100 {
        let v = app
            .promql(&admin, r#"max(max_over_time(filler_total{shard="7"}[1h]))"#)
            .await;
        after = v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0);
        if after > stored_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        after > stored_before,
        "{after} after, {stored_before} before"
    );
    task.abort();
    drop(app);
    // Nothing is corrupt: the store opens again (its write-ahead log replays whole) with the
    // samples from before the disk filled.
    // (The stopped server's workers let go of the directory's lock within moments.)
    let mut opened = None;
    for _ in 0..100 {
        match metrics::tsdb::Tsdb::open(&data.path().join("metrics"), Default::default()) {
            Ok(db) => {
                opened = Some(db);
                break;
            }
            Err(metrics::tsdb::TsdbError::Locked(_)) => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => panic!("the store does not reopen: {e}"),
        }
    }
    let db = opened.expect("the stopped server let go of the storage");
    use metrics::model::Queryable;
    let all = db
        .select(
            &[metrics::model::Matcher::equal("shard", "7")],
            i64::MIN,
            i64::MAX,
        )
        .unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].samples.iter().any(|&(_, v)| v == stored_before));
    assert_eq!(db.stats().last_error, None);
}
