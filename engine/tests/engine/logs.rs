use std::time::Duration;

use engine::LogStream;
use futures_util::StreamExt;

use crate::support::{get, setup, start_ready};

#[tokio::test]
async fn logs_tail_returns_the_last_lines() {
    let (engine, guard) = setup("logs-tail").await;
    let started = start_ready(&engine, &guard.demo("web")).await;
    let addr = started.http_addr.unwrap();
    for path in ["/api/health?n=1", "/api/health?n=2", "/api/health?n=3"] {
        get(addr, "localhost", path).await.unwrap();
    }
    // The access log is written after the answer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all: Vec<_> = engine.logs(&started.id, usize::MAX, false).collect().await;
    let all: Vec<_> = all.into_iter().map(Result::unwrap).collect();
    assert!(
        all.iter().any(|l| l.text.contains("listening on")),
        "{all:?}"
    );
    let tail: Vec<_> = engine.logs(&started.id, 2, false).collect().await;
    let tail: Vec<String> = tail.into_iter().map(|l| l.unwrap().text).collect();
    assert_eq!(tail.len(), 2, "{tail:?}");
    assert_eq!(
        tail,
        all[all.len() - 2..]
            .iter()
            .map(|l| l.text.clone())
            .collect::<Vec<_>>()
    );
    assert!(tail[1].contains("n=3"), "{tail:?}");
}

#[tokio::test]
async fn logs_follow_streams_new_lines() {
    let (engine, guard) = setup("logs-follow").await;
    let started = start_ready(&engine, &guard.demo("web")).await;
    let mut follow = engine.logs(&started.id, 0, true);
    // The stream asks Docker only once polled, so requests keep coming until one shows up.
    let addr = started.http_addr.unwrap();
    let requests = tokio::spawn(async move {
        for n in 0..50 {
            let _ = get(addr, "localhost", &format!("/api/health?followed={n}")).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let line = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let line = follow.next().await.expect("the stream ended").unwrap();
            if line.text.contains("followed=") {
                return line;
            }
        }
    })
    .await
    .expect("no request's log line arrived");
    requests.abort();
    assert!(matches!(line.stream, LogStream::Stdout | LogStream::Stderr));
}

#[tokio::test]
async fn logs_of_an_unknown_container_are_not_found() {
    let (engine, guard) = setup("logs-unknown").await;
    let items: Vec<_> = engine.logs(&guard.name("nope"), 10, false).collect().await;
    assert_eq!(items.len(), 1);
    assert!(
        matches!(items[0], Err(engine::EngineError::NotFound(_))),
        "{items:?}"
    );
}
