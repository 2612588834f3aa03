use std::sync::Mutex;
use std::time::{Duration, Instant};

use engine::{CancellationToken, Engine, EngineError, LogLine, LogStream};

use crate::support::{cancel_after, setup, Guard};

fn migrate(guard: &Guard) -> engine::ContainerSpec {
    let mut spec = guard.demo("migrate");
    spec.command = vec!["migrate".into()];
    spec.http_port = None;
    spec.publish_http = false;
    spec.restart = stack::lifecycle::Restart::No;
    spec
}

/// Runs `spec` as a job for at most `secs` seconds, without cancellation: its result and the
/// lines it logged.
async fn run(
    engine: &Engine,
    spec: &engine::ContainerSpec,
    secs: u64,
) -> (Result<i64, EngineError>, Vec<LogLine>) {
    let lines = Mutex::new(Vec::new());
    let code = engine
        .run_job(
            spec,
            Duration::from_secs(secs),
            CancellationToken::new(),
            &|line| lines.lock().unwrap().push(line),
        )
        .await;
    (code, lines.into_inner().unwrap())
}

#[tokio::test]
async fn a_job_streams_its_lines_and_returns_zero() {
    let (engine, guard) = setup("job-ok").await;
    let spec = migrate(&guard);
    let (code, lines) = run(&engine, &spec, 30).await;
    assert_eq!(code.unwrap(), 0);
    let texts: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
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
    let (engine, guard) = setup("job-fail").await;
    let mut spec = migrate(&guard);
    spec.env = vec![("DEMO_MIGRATE_FAIL".into(), "1".into())];
    let (code, lines) = run(&engine, &spec, 30).await;
    assert_eq!(code.unwrap(), 1);
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
    let (engine, guard) = setup("job-timeout").await;
    let mut spec = migrate(&guard);
    spec.command = Vec::new(); // serves until stopped
    let begun = Instant::now();
    let err = run(&engine, &spec, 2).await.0.unwrap_err();
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
    let (engine, guard) = setup("job-cancel").await;
    let mut spec = migrate(&guard);
    spec.command = Vec::new();
    let cancel = cancel_after(Duration::from_millis(800));
    let err = engine
        .run_job(&spec, Duration::from_secs(60), cancel, &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Cancelled), "{err:?}");
    assert_eq!(engine.inspect(&spec.name).await.unwrap(), None);
}
