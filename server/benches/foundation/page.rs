//! An authenticated page (`GET /projects`) under concurrent load, after signing in through
//! the login server function.
use super::load::{load, percentile};
use super::report::{ms, runtime, Report};
use super::{PASSWORD, USERNAME};
use berth_core::context::Ctx;
use berth_core::{members, projects, users, AppState};
use berth_model::{InstanceRole, Role};
use berth_server::config::Config;
use leptos::server_fn::ServerFn;
use std::time::{Duration, Instant};

/// Projects created for the page benchmark; the user is a member of every other one.
const PROJECTS: usize = 20;

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

pub fn bench_page(report: &mut Report, conns: usize, duration: Duration) {
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
