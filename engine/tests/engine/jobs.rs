use std::sync::Mutex;
use std::time::{Duration, Instant};

use engine::{CancellationToken, EngineError, LogLine, LogStream};

use crate::support::{engine, Guard};

fn migrate(guard: &Guard) -> engine::ContainerSpec {
    let mut spec = guard.demo("migrate");
    spec.command = vec!["migrate".into()];
    spec.http_port = None;
    spec.publish_http = false;
    spec.restart = false;
    spec
}

#[tokio::test]
async fn a_job_streams_its_lines_and_returns_zero() {
    let engine = engine().await;
    let guard = Guard::new("job-ok");
    let spec = migrate(&guard);
    let lines: Mutex<Vec<LogLine>> = Mutex::new(Vec::new());
    let code = engine
        .run_job(
            &spec,
            Duration::from_secs(30),
            CancellationToken::new(),
            &|line| lines.lock().unwrap().push(line),
        )
        .await
        .unwrap();
    assert_eq!(code, 0);
    let texts: Vec<String> = lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| l.text.clone())
        .collect();
    assert!(
        texts.contains(&"Running migrations:".to_owned()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"  Applying news.0001_initial... OK".to_owned()),
        "{texts:?}"
    );
    assert!(texts.iter().all(|t| !t.ends_with('\n')));
    assert_eq!(
        engine.inspect(&spec.name).await.unwrap(),
        None,
        "the job is removed"
    );
}

#[tokio::test]
async fn a_failing_job_returns_its_exit_code_and_stderr() {
    let engine = engine().await;
    let guard = Guard::new("job-fail");
    let mut spec = migrate(&guard);
    spec.env = vec![("DEMO_MIGRATE_FAIL".into(), "1".into())];
    let lines: Mutex<Vec<LogLine>> = Mutex::new(Vec::new());
    let code = engine
        .run_job(
            &spec,
            Duration::from_secs(30),
            CancellationToken::new(),
            &|line| lines.lock().unwrap().push(line),
        )
        .await
        .unwrap();
    assert_eq!(code, 1);
    let lines = lines.into_inner().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.stream == LogStream::Stderr && l.text.contains("OperationalError")),
        "{lines:?}"
    );
    assert_eq!(engine.inspect(&spec.name).await.unwrap(), None);
}

#[tokio::test]
async fn a_job_past_its_timeout_is_killed_and_removed() {
    let engine = engine().await;
    let guard = Guard::new("job-timeout");
    let mut spec = migrate(&guard);
    spec.command = Vec::new(); // serves until stopped
    let begun = Instant::now();
    let err = engine
        .run_job(
            &spec,
            Duration::from_secs(2),
            CancellationToken::new(),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Timeout(_)), "{err:?}");
    assert!(err.to_string().contains(&spec.name), "{err}");
    assert!(
        begun.elapsed() < Duration::from_secs(10),
        "{:?}",
        begun.elapsed()
    );
    assert_eq!(engine.inspect(&spec.name).await.unwrap(), None);
}

#[tokio::test]
async fn a_cancelled_job_is_killed_and_removed() {
    let engine = engine().await;
    let guard = Guard::new("job-cancel");
    let mut spec = migrate(&guard);
    spec.command = Vec::new();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        trigger.cancel();
    });
    let err = engine
        .run_job(&spec, Duration::from_secs(60), cancel, &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Cancelled), "{err:?}");
    assert_eq!(engine.inspect(&spec.name).await.unwrap(), None);
}
