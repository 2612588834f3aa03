//! The seed's stack shape on a real engine with real databases: PostgreSQL on a volume and
//! Redis beside the demo app (which depends on both). A change to the app leaves the
//! databases running; a change to PostgreSQL recreates it with never two postgres processes
//! on its data; a `manual` service waits for "replace now".
use super::fixture;
use super::stage::{log_text, status, web_service, Stage};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) fn postgres(volume: &str, extra: &[&str]) -> Value {
    let mut command = vec!["berth-postgres"];
    command.extend_from_slice(extra);
    json!({
        "name": "postgres",
        "image": fixture::db_image(),
        "replicas": 1,
        "command": command,
        "env": { "POSTGRES_PASSWORD": "${DB_PASSWORD}", "POSTGRES_USER": "shop", "POSTGRES_DB": "shop" },
        "inherit": [],
        "volumes": [{ "source": volume, "target": "/var/lib/postgresql/data" }],
        "health": { "command": ["pg_isready", "-h", "127.0.0.1", "-U", "shop"], "interval_secs": 1, "timeout_secs": 3, "retries": 30 },
        "restart": "unless-stopped",
    })
}

fn redis() -> Value {
    json!({
        "name": "redis",
        "image": fixture::db_image(),
        "replicas": 1,
        "command": ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"],
        "inherit": [],
        "health": { "command": ["redis-cli", "ping"], "interval_secs": 1, "timeout_secs": 3, "retries": 30 },
    })
}

fn web(replicas: u32) -> Value {
    let mut w = web_service(replicas);
    w["depends_on"] = json!([
        { "service": "postgres", "condition": "service_healthy" },
        { "service": "redis", "condition": "service_started" }
    ]);
    w
}

/// (id, started_at) of the running container of `service`.
pub(super) async fn container_of(s: &Stage, service: &str) -> (String, i64) {
    let rt = s.runtime().await;
    let c = rt["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["service"] == service && c["state"] == "running")
        .unwrap_or_else(|| panic!("no running {service}: {rt}"))
        .clone();
    (
        c["id"].as_str().unwrap().to_string(),
        c["started_at"].as_i64().unwrap_or(0),
    )
}

pub(super) fn psql(container: &str, sql: &str) -> String {
    let out = Command::new("docker")
        .args([
            "exec", "-u", "postgres", container, "psql", "-h", "/tmp", "-U", "shop", "-d", "shop",
            "-tAc", sql,
        ])
        .output()
        .expect("docker exec psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// How many postgres server processes run on the engine for this project right now.
pub(super) fn postgres_processes(project: &str) -> usize {
    let out = Command::new("docker")
        .args([
            "ps",
            "-q",
            "--filter",
            &format!("label=berth.project={project}"),
            "--filter",
            "label=berth.service=postgres",
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .count()
}

/// PUTs a service through the REST API; fails the test when it is refused.
pub(super) async fn put_service(s: &Stage, name: &str, body: Value) {
    let (code, b) = s
        .call(Method::PUT, &s.env_path(&format!("/services/{name}")), body)
        .await;
    assert!(code < 300, "{name}: {b}");
}

/// The name of the data volume in the spec (Berth creates it per environment, and the
/// stage's cleanup removes it with the project).
pub(super) struct Volume(pub(super) String);

pub(super) async fn stage(name: &str) -> (Stage, Volume) {
    let s = Stage::new(name).await;
    let volume = Volume(format!("{}-pgdata", s.project));
    s.set_var("DB_PASSWORD", "pg-secret-Kq71xw", true).await;
    for (svc, body) in [
        ("postgres", postgres(&volume.0, &[])),
        ("redis", redis()),
        ("web", web(2)),
    ] {
        put_service(&s, svc, body).await;
    }
    (s, volume)
}

#[tokio::test]
async fn an_app_change_under_load_leaves_the_databases_running() {
    let (s, _volume) = stage("d-state").await;
    let d1 = s.deploy_and_wait(json!({})).await;
    let log = log_text(&d1);
    assert_eq!(status(&d1), "succeeded", "{log}");
    // Dependency order: the databases are ready before the app starts.
    let pos = |needle: &str| {
        log.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {log}"))
    };
    assert!(pos("-postgres-r1-0") < pos("-web-r1-0"), "{log}");
    assert!(pos("-redis-r1-0") < pos("-web-r1-0"), "{log}");
    s.assert_serving("v1").await;
    let pg = container_of(&s, "postgres").await;
    let rd = container_of(&s, "redis").await;
    psql(&pg.0, "CREATE TABLE orders (id int primary key, note text)");
    psql(
        &pg.0,
        "INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 500) g",
    );

    // A portal change (the app's image) under load through the proxy.
    s.set_var("IMAGE_TAG", "v2", false).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, bad) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let errors = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let load = {
        let (stop, ok, bad, errors) = (stop.clone(), ok.clone(), bad.clone(), errors.clone());
        let base = s.nginx.base();
        tokio::spawn(async move {
            let client = super::support::plain();
            while !stop.load(Ordering::SeqCst) {
                let get = |c: &reqwest::Client| {
                    c.get(format!("{base}/api/health"))
                        .header("host", "site-a.local")
                        .send()
                };
                // Like a browser: a request that meets the keep-alive close race (nginx's
                // old worker closing an idle connection at a reload) is resent once, on a
                // fresh connection. It fails only if that fails too.
                let r = match get(&client).await {
                    Err(e) if e.is_request() => get(&super::support::plain()).await,
                    other => other,
                };
                match r {
                    Ok(r) if r.status().is_success() => {
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) => {
                        bad.fetch_add(1, Ordering::SeqCst);
                        errors.lock().unwrap().push(format!("HTTP {}", r.status()));
                    }
                    Err(e) => {
                        bad.fetch_add(1, Ordering::SeqCst);
                        errors.lock().unwrap().push(format!("{e:?}"));
                    }
                }
            }
        })
    };
    let d2 = s.deploy_and_wait(json!({"reason": "portal change"})).await;
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    let log2 = log_text(&d2);
    assert_eq!(status(&d2), "succeeded", "{log2}");
    assert_eq!(
        bad.load(Ordering::SeqCst),
        0,
        "failed requests during the deploy: {:?}\n{log2}",
        errors.lock().unwrap()
    );
    assert!(ok.load(Ordering::SeqCst) > 20, "the load ran");
    assert!(log2.contains("postgres (recreate): unchanged"), "{log2}");
    assert!(log2.contains("redis (rolling): unchanged"), "{log2}");
    assert!(log2.contains("web (rolling): image sha256:"), "{log2}");
    assert!(log2.contains("env IMAGE_TAG changed"), "{log2}");
    assert_eq!(
        container_of(&s, "postgres").await,
        pg,
        "postgres was restarted"
    );
    assert_eq!(container_of(&s, "redis").await, rd, "redis was restarted");
    assert_eq!(psql(&pg.0, "SELECT count(*) FROM orders"), "500");
    s.assert_serving("v2").await;
    // No secret in the plan's words.
    assert!(!log2.contains("pg-secret-Kq71xw"));
}

#[tokio::test]
async fn a_postgres_change_recreates_it_and_never_runs_two() {
    let (s, volume) = stage("d-recreate").await;
    let d1 = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d1), "succeeded", "{}", log_text(&d1));
    let pg = container_of(&s, "postgres").await;
    psql(&pg.0, "CREATE TABLE kept (v text)");
    psql(&pg.0, "INSERT INTO kept VALUES ('still here')");

    put_service(&s, "postgres", postgres(&volume.0, &["-c", "work_mem=8MB"])).await;
    let id = s.deploy(json!({"reason": "tune postgres"})).await;
    let t0 = Instant::now();
    let mut most = 0;
    let d2 = loop {
        most = most.max(postgres_processes(&s.project));
        let d = s.get(&format!("/deploys/{id}")).await;
        if !matches!(d["deploy"]["status"].as_str(), Some("queued" | "running")) {
            break d;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "deploy still running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let log = log_text(&d2);
    assert_eq!(status(&d2), "succeeded", "{log}");
    assert_eq!(most, 1, "two postgres containers ran at once");
    assert!(
        log.contains("postgres (recreate): command changed"),
        "{log}"
    );
    assert!(log.contains("web (rolling): unchanged"), "{log}");
    let now = container_of(&s, "postgres").await;
    assert_ne!(now.0, pg.0, "postgres was replaced");
    assert_eq!(psql(&now.0, "SELECT v FROM kept"), "still here");
    assert_eq!(psql(&now.0, "SHOW work_mem"), "8MB");
    s.assert_serving("v1").await;
}

#[tokio::test]
async fn a_manual_service_waits_for_replace_now() {
    let (s, volume) = stage("d-manual").await;
    let mut pg = postgres(&volume.0, &[]);
    pg["update"] = json!("manual");
    put_service(&s, "postgres", pg.clone()).await;
    assert_eq!(status(&s.deploy_and_wait(json!({})).await), "succeeded");
    let before = container_of(&s, "postgres").await;

    pg["command"] = json!(["berth-postgres", "-c", "work_mem=16MB"]);
    put_service(&s, "postgres", pg).await;
    let d = s.deploy_and_wait(json!({})).await;
    let log = log_text(&d);
    assert_eq!(status(&d), "succeeded", "{log}");
    assert!(
        log.contains("postgres (manual): command changed; not applied"),
        "{log}"
    );
    assert_eq!(
        container_of(&s, "postgres").await,
        before,
        "a deploy replaced it"
    );

    let (code, b) = s
        .call(
            Method::POST,
            &s.env_path("/services/postgres/replace"),
            json!({"reason": "apply work_mem"}),
        )
        .await;
    assert_eq!(code, 202, "{b}");
    let r = s.wait(b["id"].as_i64().unwrap()).await;
    assert_eq!(status(&r), "succeeded", "{}", log_text(&r));
    let after = container_of(&s, "postgres").await;
    assert_ne!(after.0, before.0);
    assert_eq!(psql(&after.0, "SHOW work_mem"), "16MB");

    // Stopped by hand (a deployer may), then a deploy that would change it: started again
    // as it was, not replaced.
    let (code, b) = s
        .call(
            Method::POST,
            &s.env_path(&format!("/containers/{}/stop", after.0)),
            Value::Null,
        )
        .await;
    assert!(code < 300, "{b}");
    let mut pg = postgres(&volume.0, &["-c", "work_mem=32MB"]);
    pg["update"] = json!("manual");
    put_service(&s, "postgres", pg).await;
    let d = s.deploy_and_wait(json!({"reason": "after a stop"})).await;
    let log = log_text(&d);
    assert_eq!(status(&d), "succeeded", "{log}");
    assert!(
        log.contains("starting again as it was") || log.contains("again as it was"),
        "{log}"
    );
    let again = container_of(&s, "postgres").await;
    assert_eq!(again.0, after.0, "the same container, not a new one");
    assert_eq!(psql(&again.0, "SHOW work_mem"), "16MB");
}

/// Berth killed (SIGKILL) in the middle of recreating PostgreSQL, then restarted: the
/// reconciliation never starts a second writer on the data, and the data is intact.
#[tokio::test]
async fn killed_during_a_recreate_then_reconciled_with_one_writer() {
    let (mut s, volume) = stage("d-kill-pg").await;
    let d1 = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d1), "succeeded", "{}", log_text(&d1));
    let pg = container_of(&s, "postgres").await;
    psql(&pg.0, "CREATE TABLE kept (v text)");
    psql(&pg.0, "INSERT INTO kept VALUES ('survived')");
    s.app.stop();
    let port = fixture::free_port();
    s.app.url = format!("http://127.0.0.1:{port}");
    let mut first = super::recovery::Berth::start(&s, port).await;
    put_service(&s, "postgres", postgres(&volume.0, &["-c", "work_mem=8MB"])).await;
    let id = s.deploy(json!({"reason": "to be interrupted"})).await;
    // Kill it once the old postgres is stopped or the new one is starting.
    let t0 = Instant::now();
    let mut most = 0;
    loop {
        let n = postgres_processes(&s.project);
        most = most.max(n);
        let names = fixture::containers(&s.project, &s.env);
        let new_one = names
            .iter()
            .any(|(name, r)| r == "2" && name.contains("-postgres-"));
        if n == 0 || new_one {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "the recreate never began: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();
    let _second = super::recovery::Berth::start(&s, port).await;
    let d = s.wait(id).await;
    assert_eq!(status(&d), "interrupted", "{}", log_text(&d));
    let t0 = Instant::now();
    loop {
        most = most.max(postgres_processes(&s.project));
        let list = s.get(&s.env_path("/deploys")).await;
        let done = list.as_array().unwrap().iter().any(|d| {
            d["kind"] == "reconcile" && !matches!(d["status"].as_str(), Some("queued" | "running"))
        });
        if done {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no reconciliation: {list}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(most <= 1, "two postgres containers ran at once");
    assert_eq!(postgres_processes(&s.project), 1);
    let now = container_of(&s, "postgres").await;
    assert_eq!(psql(&now.0, "SELECT v FROM kept"), "survived");
    s.assert_serving("v1").await;
}
