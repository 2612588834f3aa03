use std::time::{Duration, Instant};

use engine::{Engine, EngineError, Probe, Started};
use stack::model::HealthCheck;

use crate::support::{cancel_after, health, setup, wait, Guard};

fn demo_check() -> HealthCheck {
    HealthCheck {
        command: vec!["/berth-demo".into(), "check".into()],
        interval_secs: 1,
        timeout_secs: 2,
        retries: 2,
        ..Default::default()
    }
}

/// Starts the demo with the failure mode `var` (`DEMO_CRASH`, …) switched on.
async fn start_demo_with(engine: &Engine, guard: &Guard, var: &str) -> Started {
    engine.start(&guard.demo_with("web", var)).await.unwrap()
}

/// Waits up to `secs` seconds for `probe`, which must fail, and in less than `within`.
async fn fails_within(
    engine: &Engine,
    id: &str,
    probe: &Probe,
    secs: u64,
    within: Duration,
) -> EngineError {
    let begun = Instant::now();
    let err = wait(engine, id, probe, secs).await.unwrap_err();
    assert!(begun.elapsed() < within, "took {:?}", begun.elapsed());
    err
}

#[tokio::test]
async fn docker_health_passes_with_the_demo_check() {
    let (engine, guard) = setup("docker-health").await;
    let mut spec = guard.demo("web");
    spec.health = Some(demo_check());
    let started = engine.start(&spec).await.unwrap();
    wait(&engine, &started.id, &Probe::DockerHealth, 30)
        .await
        .unwrap();
    let info = engine.inspect(&started.id).await.unwrap().unwrap();
    assert_eq!(info.health.as_deref(), Some("healthy"));
}

#[tokio::test]
async fn a_crashing_container_fails_early_with_its_exit_code_and_output() {
    let (engine, guard) = setup("crash").await;
    let started = start_demo_with(&engine, &guard, "DEMO_CRASH").await;
    let err = fails_within(&engine, &started.id, &health(), 60, Duration::from_secs(10)).await;
    let EngineError::Exited { code, logs } = &err else {
        panic!("expected Exited, got {err:?}");
    };
    assert_eq!(*code, 3);
    assert!(
        logs.iter()
            .any(|l| l.contains("DEMO_CRASH=1: crashing at start")),
        "{logs:?}"
    );
    assert!(
        err.to_string()
            .starts_with("the container exited at once with code 3"),
        "{err}"
    );
}

#[tokio::test]
async fn a_job_like_container_that_exits_fails_the_running_probe() {
    let (engine, guard) = setup("crash-norestart").await;
    let mut spec = guard.demo_with("web", "DEMO_CRASH");
    spec.restart = stack::lifecycle::Restart::No;
    let started = engine.start(&spec).await.unwrap();
    let probe = Probe::Running {
        min_uptime: Duration::from_secs(3),
    };
    let err = wait(&engine, &started.id, &probe, 30).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Exited { code: 3, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn running_waits_for_the_minimum_uptime() {
    let (engine, guard) = setup("running").await;
    let started = engine.start(&guard.demo("web")).await.unwrap();
    let begun = Instant::now();
    let probe = Probe::Running {
        min_uptime: Duration::from_secs(1),
    };
    wait(&engine, &started.id, &probe, 20).await.unwrap();
    assert!(begun.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn an_unhealthy_container_is_unhealthy() {
    let (engine, guard) = setup("unhealthy").await;
    let mut spec = guard.demo_with("web", "DEMO_START_UNHEALTHY");
    spec.health = Some(demo_check());
    let started = engine.start(&spec).await.unwrap();
    let err = wait(&engine, &started.id, &Probe::DockerHealth, 30)
        .await
        .unwrap_err();
    let EngineError::Unhealthy(output) = &err else {
        panic!("expected Unhealthy, got {err:?}");
    };
    assert!(output.contains("503"), "{output}");
}

#[tokio::test]
async fn an_http_probe_that_never_answers_200_times_out_naming_the_answer() {
    let (engine, guard) = setup("http-timeout").await;
    let started = start_demo_with(&engine, &guard, "DEMO_START_UNHEALTHY").await;
    let err = fails_within(&engine, &started.id, &health(), 3, Duration::from_secs(6)).await;
    let EngineError::Timeout(message) = &err else {
        panic!("expected Timeout, got {err:?}");
    };
    assert!(
        message.contains("GET /api/health to answer 200"),
        "{message}"
    );
    assert!(message.contains("answered 503"), "{message}");
}

#[tokio::test]
async fn waiting_can_be_cancelled() {
    let (engine, guard) = setup("ready-cancel").await;
    let started = start_demo_with(&engine, &guard, "DEMO_START_UNHEALTHY").await;
    let cancel = cancel_after(Duration::from_millis(500));
    let err = engine
        .wait_ready(&started.id, &health(), Duration::from_secs(30), cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Cancelled), "{err:?}");
}
