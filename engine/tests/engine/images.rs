use std::sync::Mutex;
use std::time::{Duration, Instant};

use engine::{EngineError, PullPolicy};

use crate::support::{demo_image, docker, engine, Guard};

fn demo_id() -> String {
    docker(&["image", "inspect", "--format", "{{.Id}}", demo_image()]).remove(0)
}

#[tokio::test]
async fn a_local_image_is_used_without_pulling() {
    let engine = engine().await;
    let lines = Mutex::new(Vec::new());
    let log = |line: String| lines.lock().unwrap().push(line);
    let image = engine
        .ensure_image(
            demo_image(),
            PullPolicy::IfMissing,
            None,
            Duration::from_secs(5),
            &log,
        )
        .await
        .unwrap();
    assert_eq!(image.id, demo_id());
    assert_eq!(image.reference, demo_image());
    assert!(
        lines.lock().unwrap().is_empty(),
        "{:?}",
        lines.lock().unwrap()
    );
}

#[tokio::test]
async fn pull_always_falls_back_to_the_local_image_when_the_registry_fails() {
    let engine = engine().await;
    let lines = Mutex::new(Vec::new());
    let log = |line: String| lines.lock().unwrap().push(line);
    let image = engine
        .ensure_image(
            demo_image(),
            PullPolicy::Always,
            None,
            Duration::from_secs(20),
            &log,
        )
        .await
        .unwrap();
    assert_eq!(image.id, demo_id());
    let lines = lines.lock().unwrap();
    assert!(
        lines.iter().any(|l| l.contains("using the local image")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_missing_image_is_image_missing_once_the_timeout_passes() {
    let engine = engine().await;
    let guard = Guard::new("missing-image");
    let reference = format!("{}:v9", guard.name("nowhere"));
    let started = Instant::now();
    let err = engine
        .ensure_image(
            &reference,
            PullPolicy::IfMissing,
            None,
            Duration::from_secs(3),
            &|_| {},
        )
        .await
        .unwrap_err();
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
    let engine = engine().await;
    let guard = Guard::new("late-image");
    let reference = guard.image(&format!("{}:late", guard.name("app")));
    let tag = reference.clone();
    let source = demo_image();
    let tagger = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        docker(&["tag", source, &tag]);
    });
    let lines = Mutex::new(Vec::new());
    let log = |line: String| lines.lock().unwrap().push(line);
    let image = engine
        .ensure_image(
            &reference,
            PullPolicy::IfMissing,
            None,
            Duration::from_secs(20),
            &log,
        )
        .await;
    tagger.join().unwrap();
    let image = image.unwrap();
    assert_eq!(image.id, demo_id());
    let lines = lines.lock().unwrap();
    assert!(lines.iter().any(|l| l.contains("retrying in")), "{lines:?}");
}

#[tokio::test]
async fn image_exists_answers_none_for_an_unknown_image() {
    let engine = engine().await;
    let guard = Guard::new("unknown-image");
    let found = engine.image_exists(&guard.name("nope")).await.unwrap();
    assert_eq!(found, None);
    assert!(engine.image_exists(demo_image()).await.unwrap().is_some());
}

#[tokio::test]
async fn an_image_in_use_is_not_removed() {
    let engine = engine().await;
    let guard = Guard::new("image-in-use");
    engine.start(&guard.demo("web")).await.unwrap();
    let err = engine.remove_image(&demo_id()).await.unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
    assert!(engine.image_exists(demo_image()).await.unwrap().is_some());
}

#[tokio::test]
async fn removing_an_image_removes_the_tag_and_is_idempotent() {
    let engine = engine().await;
    let guard = Guard::new("remove-image");
    let reference = guard.image(&format!("{}:gone", guard.name("app")));
    docker(&["tag", demo_image(), &reference]);
    engine.remove_image(&reference).await.unwrap();
    assert_eq!(engine.image_exists(&reference).await.unwrap(), None);
    engine.remove_image(&reference).await.unwrap();
}
