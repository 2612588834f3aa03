use std::sync::Mutex;
use std::time::{Duration, Instant};

use engine::{EngineError, ImageRef, PullPolicy};

use crate::support::{demo_image, docker, engine, setup};

fn demo_id() -> String {
    docker(&["image", "inspect", "--format", "{{.Id}}", demo_image()]).remove(0)
}

/// `ensure_image` without registry auth, waiting up to `secs` seconds: its result and the
/// lines it logged.
async fn ensure(
    engine: &engine::Engine,
    reference: &str,
    policy: PullPolicy,
    secs: u64,
) -> (Result<ImageRef, EngineError>, Vec<String>) {
    let lines = Mutex::new(Vec::new());
    let log = |line: String| lines.lock().unwrap().push(line);
    let image = engine
        .ensure_image(reference, policy, None, Duration::from_secs(secs), &log)
        .await;
    (image, lines.into_inner().unwrap())
}

#[tokio::test]
async fn a_local_image_is_used_without_pulling() {
    let engine = engine().await;
    let (image, lines) = ensure(&engine, demo_image(), PullPolicy::IfMissing, 5).await;
    let image = image.unwrap();
    assert_eq!(image.id, demo_id());
    assert_eq!(image.reference, demo_image());
    assert!(lines.is_empty(), "{lines:?}");
}

#[tokio::test]
async fn pull_always_falls_back_to_the_local_image_when_the_registry_fails() {
    let engine = engine().await;
    let (image, lines) = ensure(&engine, demo_image(), PullPolicy::Always, 20).await;
    assert_eq!(image.unwrap().id, demo_id());
    assert!(
        lines.iter().any(|l| l.contains("using the local image")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_missing_image_is_image_missing_once_the_timeout_passes() {
    let (engine, guard) = setup("missing-image").await;
    let reference = format!("{}:v9", guard.name("nowhere"));
    let started = Instant::now();
    let (image, _) = ensure(&engine, &reference, PullPolicy::IfMissing, 3).await;
    let err = image.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, EngineError::ImageMissing(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&reference), "{message}");
    assert!(!message.contains('\n'), "{message}");
    assert!(took >= Duration::from_secs(3), "gave up after {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn an_image_that_appears_while_waiting_is_used() {
    let (engine, guard) = setup("late-image").await;
    let reference = guard.image(&format!("{}:late", guard.name("app")));
    let tag = reference.clone();
    let source = demo_image();
    let tagger = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        docker(&["tag", source, &tag]);
    });
    let (image, lines) = ensure(&engine, &reference, PullPolicy::IfMissing, 20).await;
    tagger.join().unwrap();
    assert_eq!(image.unwrap().id, demo_id());
    assert!(lines.iter().any(|l| l.contains("retrying in")), "{lines:?}");
}

#[tokio::test]
async fn image_exists_answers_none_for_an_unknown_image() {
    let (engine, guard) = setup("unknown-image").await;
    let found = engine.image_exists(&guard.name("nope")).await.unwrap();
    assert_eq!(found, None);
    assert!(engine.image_exists(demo_image()).await.unwrap().is_some());
}

#[tokio::test]
async fn an_image_in_use_is_not_removed() {
    let (engine, guard) = setup("image-in-use").await;
    engine.start(&guard.demo("web")).await.unwrap();
    let err = engine.remove_image(&demo_id()).await.unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
    assert!(engine.image_exists(demo_image()).await.unwrap().is_some());
}

#[tokio::test]
async fn removing_an_image_removes_the_tag_and_is_idempotent() {
    let (engine, guard) = setup("remove-image").await;
    let reference = guard.image(&format!("{}:gone", guard.name("app")));
    docker(&["tag", demo_image(), &reference]);
    engine.remove_image(&reference).await.unwrap();
    assert_eq!(engine.image_exists(&reference).await.unwrap(), None);
    engine.remove_image(&reference).await.unwrap();
}
