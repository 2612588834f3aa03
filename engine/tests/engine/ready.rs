use std::time::{Duration, Instant};

use engine::{CancellationToken, EngineError, Probe};
use stack::model::HealthCheck;

use crate::support::{engine, Guard};

fn http() -> Probe {
    Probe::Http {
        path: "/api/health".into(),
    }
}

fn demo_check() -> HealthCheck {
    HealthCheck {
        command: vec!["/berth-demo".into(), "check".into()],
        interval_secs: 1,
        timeout_secs: 2,
        retries: 2,
        ..Default::default()
    }
}

#[tokio::test]
async fn docker_health_passes_with_the_demo_check() {
    let engine = engine().await;
    let guard = Guard::new("docker-health");
    let mut spec = guard.demo("web");
    spec.health = Some(demo_check());
    let started = engine.start(&spec).await.unwrap();
    engine
        .wait_ready(
            &started.id,
            &Probe::DockerHealth,
            Duration::from_secs(30),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let info = engine.inspect(&started.id).await.unwrap().unwrap();
    assert_eq!(info.health.as_deref(), Some("healthy"));
}

#[tokio::test]
async fn a_crashing_container_fails_early_with_its_exit_code_and_output() {
    let engine = engine().await;
    let guard = Guard::new("crash");
    let mut spec = guard.demo("web");
    spec.env = vec![("DEMO_CRASH".into(), "1".into())];
    let started = engine.start(&spec).await.unwrap();
    let begun = Instant::now();
    let err = engine
        .wait_ready(
            &started.id,
            &http(),
            Duration::from_secs(60),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        begun.elapsed() < Duration::from_secs(10),
        "took {:?}",
        begun.elapsed()
    );
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
    let engine = engine().await;
    let guard = Guard::new("crash-norestart");
    let mut spec = guard.demo("web");
    spec.env = vec![("DEMO_CRASH".into(), "1".into())];
    spec.restart = false;
    let started = engine.start(&spec).await.unwrap();
    let probe = Probe::Running {
        min_uptime: Duration::from_secs(3),
    };
    let err = engine
        .wait_ready(
            &started.id,
            &probe,
            Duration::from_secs(30),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Exited { code: 3, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn running_waits_for_the_minimum_uptime() {
    let engine = engine().await;
    let guard = Guard::new("running");
    let started = engine.start(&guard.demo("web")).await.unwrap();
    let begun = Instant::now();
    let probe = Probe::Running {
        min_uptime: Duration::from_secs(1),
    };
    engine
        .wait_ready(
            &started.id,
            &probe,
            Duration::from_secs(20),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(begun.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn an_unhealthy_container_is_unhealthy() {
    let engine = engine().await;
    let guard = Guard::new("unhealthy");
    let mut spec = guard.demo("web");
    spec.env = vec![("DEMO_START_UNHEALTHY".into(), "1".into())];
    spec.health = Some(demo_check());
    let started = engine.start(&spec).await.unwrap();
    let err = engine
        .wait_ready(
            &started.id,
            &Probe::DockerHealth,
            Duration::from_secs(30),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    let EngineError::Unhealthy(output) = &err else {
        panic!("expected Unhealthy, got {err:?}");
    };
    assert!(output.contains("503"), "{output}");
}

#[tokio::test]
async fn an_http_probe_that_never_answers_200_times_out_naming_the_answer() {
    let engine = engine().await;
    let guard = Guard::new("http-timeout");
    let mut spec = guard.demo("web");
    spec.env = vec![("DEMO_START_UNHEALTHY".into(), "1".into())];
    let started = engine.start(&spec).await.unwrap();
    let begun = Instant::now();
    let err = engine
        .wait_ready(
            &started.id,
            &http(),
            Duration::from_secs(3),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(begun.elapsed() < Duration::from_secs(6));
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
    let engine = engine().await;
    let guard = Guard::new("ready-cancel");
    let mut spec = guard.demo("web");
    spec.env = vec![("DEMO_START_UNHEALTHY".into(), "1".into())];
    let started = engine.start(&spec).await.unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.cancel();
    });
    let err = engine
        .wait_ready(&started.id, &http(), Duration::from_secs(30), cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Cancelled), "{err:?}");
}
