//! Foundation benchmarks: password hashing, an authenticated page under concurrent load, the
//! audit append rate, and verifying a long audit chain.
//!
//! Run with `cargo bench -p server --bench foundation` (release profile). Everything runs
//! in-process on loopback against temporary SQLite databases, and every phase is bounded.
//!
//! Tuning (environment):
//! - `BERTH_BENCH_EVENTS`: audit events for the verify benchmark (default 1000000)
//! - `BERTH_BENCH_SECS`: seconds of measured page load (default 10)
//! - `BERTH_BENCH_CONNECTIONS`: concurrent connections for the page load (default 32)
//! - `BERTH_BENCH_VERIFIES`: argon2id verifications to time (default 10)
//! - `BERTH_BENCH_APPEND_SECS`: seconds of single-event audit appends (default 3)

use berth_core::audit::{self, NewEvent, StoredEvent, GENESIS};
use berth_core::context::{Actor, AuthUser, Ctx, RequestMeta};
use berth_core::{members, password, projects, users, AppState, Db};
use berth_model::{InstanceRole, Role};
use berth_server::config::Config;
use leptos::server_fn::ServerFn;
use std::time::{Duration, Instant};

const USERNAME: &str = "bench-user";
const PASSWORD: &str = "correct-horse-battery-staple";
/// Projects created for the page benchmark; the user is a member of every other one.
const PROJECTS: usize = 20;
/// Rows per transaction when building the long audit chain.
const CHAIN_BATCH: usize = 50_000;
/// Events per transaction in the batched append measurement.
const APPEND_BATCH: usize = 1_000;
const APPEND_BATCHES: usize = 20;
/// Cap on single-event appends, whatever the duration.
const APPEND_MAX: usize = 50_000;

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, got {v:?}")),
        _ => default,
    }
}

/// One line of the results table.
struct Line {
    metric: String,
    value: String,
    target: String,
    met: Option<bool>,
}

#[derive(Default)]
struct Report {
    lines: Vec<Line>,
}

impl Report {
    fn add(&mut self, metric: &str, value: String, target: &str, met: Option<bool>) {
        println!("  {metric}: {value}");
        self.lines.push(Line {
            metric: metric.into(),
            value,
            target: target.into(),
            met,
        });
    }

    fn print(&self) {
        let w0 = self.lines.iter().map(|l| l.metric.len()).max().unwrap_or(6);
        let w1 = self.lines.iter().map(|l| l.value.len()).max().unwrap_or(5);
        let w2 = self.lines.iter().map(|l| l.target.len()).max().unwrap_or(6);
        println!();
        println!("== Berth foundation benchmarks ==");
        println!(
            "| {:w0$} | {:>w1$} | {:w2$} | met |",
            "metric", "value", "target"
        );
        println!(
            "|{}|{}|{}|-----|",
            "-".repeat(w0 + 2),
            "-".repeat(w1 + 2),
            "-".repeat(w2 + 2)
        );
        for l in &self.lines {
            let met = match l.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            println!(
                "| {:w0$} | {:>w1$} | {:w2$} | {:3} |",
                l.metric, l.value, l.target, met
            );
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn main() {
    let events = env_num("BERTH_BENCH_EVENTS", 1_000_000) as usize;
    let secs = env_num("BERTH_BENCH_SECS", 10);
    let conns = env_num("BERTH_BENCH_CONNECTIONS", 32).max(1) as usize;
    let verifies = env_num("BERTH_BENCH_VERIFIES", 10).max(1) as usize;
    let append_secs = env_num("BERTH_BENCH_APPEND_SECS", 3);
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    println!(
        "foundation benchmarks: {events} audit events, {secs} s of page load at {conns} connections, \
         {verifies} argon2id verifications"
    );
    let mut report = Report::default();

    println!("[1/4] argon2id (m=19 MiB, t=2, p=1)");
    bench_password(&mut report, verifies);

    println!("[2/4] GET /projects under load");
    bench_page(&mut report, conns, Duration::from_secs(secs));

    println!("[3/4] audit append");
    bench_append(&mut report, Duration::from_secs(append_secs));

    println!("[4/4] audit verify");
    bench_verify(&mut report, events);

    report.print();
}

// ---- argon2id -------------------------------------------------------------------------------

fn bench_password(report: &mut Report, n: usize) {
    let t = Instant::now();
    let phc = password::hash_blocking(PASSWORD);
    let hash_time = t.elapsed();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    // One untimed verification to warm caches and the allocator.
    assert!(password::verify_blocking(PASSWORD, &phc));
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let ok = password::verify_blocking(PASSWORD, &phc);
        times.push(t.elapsed());
        assert!(ok);
    }
    let total: Duration = times.iter().sum();
    let mean = total / n as u32;
    let min = *times.iter().min().expect("n >= 1");
    let max = *times.iter().max().expect("n >= 1");
    report.add("argon2id hash (1 call)", ms(hash_time), "report", None);
    report.add(
        &format!("argon2id verify, mean of {n}"),
        ms(mean),
        "report",
        None,
    );
    report.add(
        "argon2id verify, min / max",
        format!("{} / {}", ms(min), ms(max)),
        "report",
        None,
    );
    report.add(
        "argon2id verifies/s per core",
        format!("{:.1}/s", 1.0 / mean.as_secs_f64()),
        "report",
        None,
    );
}

// ---- page under load ------------------------------------------------------------------------

fn user_ctx(id: i64, name: &str) -> Ctx {
    Ctx::new(
        Actor::User(AuthUser {
            id,
            username: name.into(),
            instance_role: InstanceRole::User,
        }),
        RequestMeta {
            client_addr: "127.0.0.1".into(),
            user_agent: "berth-bench".into(),
        },
    )
}

async fn seed_page_data(state: &AppState) {
    users::create_from_cli(state, USERNAME, PASSWORD, InstanceRole::User)
        .await
        .expect("create user");
    for i in 0..PROJECTS {
        let slug = format!("bench-project-{i:02}");
        projects::create(
            state,
            &Ctx::system(),
            &format!("Bench project {i:02}"),
            &slug,
        )
        .await
        .expect("create project");
        if i % 2 == 0 {
            let role = Role::ALL[i / 2 % Role::ALL.len()];
            members::set(state, &Ctx::system(), &slug, USERNAME, role)
                .await
                .expect("add member");
        }
    }
}

/// Signs in through the login server function; returns the `name=value` session cookie.
async fn sign_in(client: &reqwest::Client, url: &str) -> String {
    let path = <app::serverfns::auth::Login as ServerFn>::PATH;
    let res = client
        .post(format!("{url}{path}"))
        .header("origin", url)
        .header("sec-fetch-site", "same-origin")
        .form(&[("username", USERNAME), ("password", PASSWORD)])
        .send()
        .await
        .expect("login request");
    let status = res.status();
    assert!(
        status.is_success() || status.is_redirection(),
        "login failed: {status}"
    );
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.starts_with("berth_session="))
        .expect("login sets the berth_session cookie")
        .to_string()
}

struct LoadResult {
    latencies_us: Vec<u64>,
    errors: u64,
    bytes: u64,
    elapsed: Duration,
}

/// `conns` workers, each sending one request at a time until `duration` has passed.
async fn load(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    conns: usize,
    duration: Duration,
) -> LoadResult {
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = Vec::with_capacity(conns);
    for _ in 0..conns {
        let client = client.clone();
        let url = url.to_string();
        let cookie = cookie.to_string();
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(16_384);
            let mut errors = 0u64;
            let mut bytes = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let res = client
                    .get(&url)
                    .header(reqwest::header::COOKIE, &cookie)
                    .send()
                    .await;
                let ok = match res {
                    Ok(r) if r.status() == reqwest::StatusCode::OK => match r.bytes().await {
                        Ok(b) => {
                            bytes += b.len() as u64;
                            true
                        }
                        Err(_) => false,
                    },
                    _ => false,
                };
                if ok {
                    lat.push(t.elapsed().as_micros() as u64);
                } else {
                    errors += 1;
                }
            }
            (lat, errors, bytes)
        }));
    }
    let mut out = LoadResult {
        latencies_us: Vec::new(),
        errors: 0,
        bytes: 0,
        elapsed: Duration::ZERO,
    };
    for w in workers {
        let (lat, errors, bytes) = w.await.expect("load worker");
        out.latencies_us.extend(lat);
        out.errors += errors;
        out.bytes += bytes;
    }
    out.elapsed = start.elapsed();
    out.latencies_us.sort_unstable();
    out
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Duration::from_micros(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn bench_page(report: &mut Report, conns: usize, duration: Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::for_data_dir(dir.path().to_path_buf(), None);
    // The server gets a runtime of its own (as `berth serve` would); the load generator
    // another. Both share the machine's cores.
    let server_rt = runtime();
    let client_rt = runtime();
    let state = server_rt
        .block_on(berth_server::build_state(&config))
        .expect("state");
    server_rt.block_on(seed_page_data(&state));
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
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
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(conns)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let mut up = false;
        for _ in 0..200 {
            if let Ok(r) = client.get(format!("{url}/healthz")).send().await {
                if r.status().is_success() {
                    up = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(up, "server did not answer /healthz");

        // Signing in end to end (server function, argon2id verify, session, audit).
        let mut login_times = Vec::new();
        let mut cookie = String::new();
        for _ in 0..5 {
            let t = Instant::now();
            cookie = sign_in(&client, &url).await;
            login_times.push(t.elapsed());
        }
        let login_mean = login_times.iter().sum::<Duration>() / login_times.len() as u32;

        // The page must be the signed-in render, listing the user's projects.
        let page_url = format!("{url}/projects");
        let res = client
            .get(&page_url)
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .await
            .expect("GET /projects");
        assert_eq!(res.status(), reqwest::StatusCode::OK, "GET /projects");
        let body = res.text().await.expect("body");
        assert!(
            body.contains("bench-project-00") && !body.contains("bench-project-01"),
            "GET /projects did not render the signed-in user's projects"
        );
        let page_bytes = body.len();

        // Warm-up, then the measured run.
        let _ = load(&client, &page_url, &cookie, conns, Duration::from_secs(2)).await;
        let r = load(&client, &page_url, &cookie, conns, duration).await;
        let n = r.latencies_us.len();
        let rps = n as f64 / r.elapsed.as_secs_f64();
        let p50 = percentile(&r.latencies_us, 50.0);
        let p90 = percentile(&r.latencies_us, 90.0);
        let p99 = percentile(&r.latencies_us, 99.0);
        let max = percentile(&r.latencies_us, 100.0);
        report.add(
            "login round trip (HTTP, sequential, mean of 5)",
            ms(login_mean),
            "report",
            None,
        );
        report.add(
            "GET /projects page size",
            format!("{page_bytes} B"),
            "report",
            None,
        );
        report.add(
            &format!(
                "GET /projects requests/s ({conns} conns, {} s)",
                duration.as_secs()
            ),
            format!("{rps:.0}/s"),
            "report",
            None,
        );
        report.add("GET /projects p50", ms(p50), "report", None);
        report.add("GET /projects p90", ms(p90), "report", None);
        report.add(
            "GET /projects p99",
            ms(p99),
            "< 20 ms",
            Some(p99 < Duration::from_millis(20)),
        );
        report.add("GET /projects max", ms(max), "report", None);
        report.add(
            "GET /projects errors / requests",
            format!("{} / {}", r.errors, n as u64 + r.errors),
            "0",
            Some(r.errors == 0),
        );
        report.add(
            "GET /projects transfer",
            format!(
                "{:.1} MiB/s",
                r.bytes as f64 / 1048576.0 / r.elapsed.as_secs_f64()
            ),
            "report",
            None,
        );
    });

    let _ = stop.send(());
    server_rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    });
    server_rt.shutdown_timeout(Duration::from_secs(2));
    client_rt.shutdown_timeout(Duration::from_secs(2));
}

// ---- audit append ---------------------------------------------------------------------------

fn bench_append(report: &mut Report, duration: Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::for_data_dir(dir.path().to_path_buf(), None);
    let rt = runtime();
    rt.block_on(async {
        let state = berth_server::build_state(&config).await.expect("state");
        let db = &state.db;
        let ctx = user_ctx(1, "alice");
        let event = |i: usize| {
            NewEvent::new("project.update", format!("project:bench-{}", i % 100))
                .project((i % 100) as i64 + 1)
                .summary(
                    serde_json::json!({ "field": "name", "from": "old", "to": format!("new-{i}") }),
                )
        };

        // One event per write transaction, as every audited action does.
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < duration && n < APPEND_MAX {
            let mut tx = db.begin_write().await.expect("begin");
            audit::append(&mut tx, &ctx, event(n))
                .await
                .expect("append");
            tx.commit().await.expect("commit");
            n += 1;
        }
        let single = start.elapsed();
        report.add(
            "audit append, 1 event per transaction",
            format!("{:.0} events/s", n as f64 / single.as_secs_f64()),
            "report",
            None,
        );
        report.add(
            "audit append, mean transaction time",
            ms(single / n.max(1) as u32),
            "report",
            None,
        );

        // Many events per transaction: the cost of append itself.
        let start = Instant::now();
        for b in 0..APPEND_BATCHES {
            let mut tx = db.begin_write().await.expect("begin");
            for i in 0..APPEND_BATCH {
                audit::append(&mut tx, &ctx, event(b * APPEND_BATCH + i))
                    .await
                    .expect("append");
            }
            tx.commit().await.expect("commit");
        }
        let batched = start.elapsed();
        let total = APPEND_BATCHES * APPEND_BATCH;
        report.add(
            &format!("audit append, {APPEND_BATCH} events per transaction"),
            format!("{:.0} events/s", total as f64 / batched.as_secs_f64()),
            "report",
            None,
        );
        let check = audit::verify(db).await.expect("verify");
        assert!(check.ok, "appended chain does not verify: {check:?}");
        assert_eq!(check.events_checked as usize, n + total);
        state.db.pool.close().await;
    });
}

// ---- audit verify ---------------------------------------------------------------------------

/// Builds a valid chain of `events` rows; returns the time spent in `event_hash`.
async fn build_chain(db: &Db, events: usize) -> Duration {
    let mut hashing = Duration::ZERO;
    let mut prev = GENESIS.to_string();
    let base_ts = 1_700_000_000_000i64;
    let mut seq = 0i64;
    while (seq as usize) < events {
        let mut tx = db.begin_write().await.expect("begin");
        let end = (seq as usize + CHAIN_BATCH).min(events) as i64;
        while seq < end {
            seq += 1;
            let i = seq;
            let mut e = StoredEvent {
                seq: i,
                ts: base_ts + i * 37,
                actor_kind: "user".into(),
                actor_id: Some(1 + i % 5),
                actor_name: format!("user-{}", i % 5),
                client_addr: "192.0.2.10".into(),
                user_agent: "Mozilla/5.0 (X11; Linux x86_64) berth-bench".into(),
                action: "project.update".into(),
                target: format!("project:bench-{}", i % 100),
                project_id: if i % 3 == 0 { None } else { Some(i % 100) },
                summary: format!(r#"{{"field":"name","from":"old","to":"new-{i}"}}"#),
                result: "success".into(),
                prev_hash: std::mem::take(&mut prev),
                hash: String::new(),
            };
            let t = Instant::now();
            e.hash = audit::event_hash(&e);
            hashing += t.elapsed();
            audit::insert_raw(&mut tx, &e).await.expect("insert_raw");
            prev = e.hash;
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&prev)
            .execute(&mut *tx)
            .await
            .expect("update head");
        tx.commit().await.expect("commit");
    }
    hashing
}

const READ_SQL: &str =
    "SELECT seq, ts, actor_kind, actor_id, actor_name, client_addr, user_agent, \
    action, target, project_id, summary, result, prev_hash, hash FROM audit_events ORDER BY seq";

/// Decodes all 14 columns of an audit row into owned values, as `verify` does; 1 if sane.
macro_rules! decode_row {
    ($row:expr) => {{
        let row = &$row;
        let ints: [i64; 2] = [row.try_get(0).expect("seq"), row.try_get(1).expect("ts")];
        let opts: [Option<i64>; 2] = [
            row.try_get(3).expect("actor_id"),
            row.try_get(9).expect("project_id"),
        ];
        let mut texts = Vec::with_capacity(10);
        for i in [2usize, 4, 5, 6, 7, 8, 10, 11, 12, 13] {
            let t: String = row.try_get(i).expect("text column");
            texts.push(t);
        }
        usize::from(ints[0] > 0 && opts.len() == 2 && texts.iter().all(|t| !t.is_empty()))
    }};
}

/// Reads and decodes every row the way `verify` does, without hashing: the database share.
async fn read_any(db: &Db) -> usize {
    use futures_util::TryStreamExt;
    use sqlx::Row;
    let mut rows = sqlx::query(READ_SQL).fetch(&db.pool);
    let mut n = 0usize;
    while let Some(row) = rows.try_next().await.expect("row") {
        n += decode_row!(row);
    }
    n
}

/// The same read through the native SQLite driver instead of `sqlx::Any`.
async fn read_native(path: &std::path::Path) -> usize {
    use futures_util::TryStreamExt;
    use sqlx::Row;
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .read_only(true),
        )
        .await
        .expect("native sqlite");
    let mut n = 0usize;
    {
        let mut rows = sqlx::query(READ_SQL).fetch(&pool);
        while let Some(row) = rows.try_next().await.expect("row") {
            n += decode_row!(row);
        }
    }
    pool.close().await;
    n
}

fn bench_verify(report: &mut Report, events: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::for_data_dir(dir.path().to_path_buf(), None);
    let rt = runtime();
    rt.block_on(async {
        let state = berth_server::build_state(&config).await.expect("state");
        let db = state.db.clone();
        let t = Instant::now();
        let hashing = build_chain(&db, events).await;
        let build = t.elapsed();
        report.add(
            &format!("audit chain build ({events} events, insert_raw)"),
            format!(
                "{:.1} s ({:.0} rows/s)",
                build.as_secs_f64(),
                events as f64 / build.as_secs_f64()
            ),
            "setup",
            None,
        );
        let size = std::fs::metadata(dir.path().join("berth.db"))
            .map(|m| m.len())
            .unwrap_or(0);
        report.add(
            "audit database file size",
            format!("{:.0} MiB", size as f64 / 1024.0 / 1024.0),
            "report",
            None,
        );
        let t = Instant::now();
        let check = audit::verify(&db).await.expect("verify");
        let took = t.elapsed();
        assert!(check.ok, "built chain does not verify: {check:?}");
        assert_eq!(check.events_checked as usize, events);
        let target = 5.0 * events as f64 / 1_000_000.0;
        report.add(
            &format!("audit verify, {events} events"),
            format!(
                "{:.2} s ({:.0} events/s)",
                took.as_secs_f64(),
                events as f64 / took.as_secs_f64()
            ),
            &format!("< {target:.1} s (5 s per 1M)"),
            Some(took.as_secs_f64() < target),
        );
        // Where the verify time goes.
        report.add(
            &format!("  of which hashing: event_hash x {events} (timed during build)"),
            format!("{:.2} s", hashing.as_secs_f64()),
            "diagnostic",
            None,
        );
        let t = Instant::now();
        assert_eq!(read_any(&db).await, events);
        report.add(
            "  of which reading: stream + decode via sqlx::Any, no hashing",
            format!("{:.2} s", t.elapsed().as_secs_f64()),
            "diagnostic",
            None,
        );
        let t = Instant::now();
        assert_eq!(read_native(&dir.path().join("berth.db")).await, events);
        report.add(
            "  same read via the native sqlx SQLite driver",
            format!("{:.2} s", t.elapsed().as_secs_f64()),
            "diagnostic",
            None,
        );
        state.db.pool.close().await;
    });
}
