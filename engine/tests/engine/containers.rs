use std::time::Duration;

use engine::EngineError;
use stack::model::PortSpec;

use crate::support::{get, setup, wait_http, TEST_LABEL};

const GRACE: Duration = Duration::from_secs(5);

#[tokio::test]
async fn start_publishes_the_http_port_on_loopback() {
    let (engine, guard) = setup("publish").await;
    let started = engine.start(&guard.demo("web")).await.unwrap();
    let addr = started.http_addr.expect("the http port is published");
    assert!(addr.ip().is_loopback(), "{addr}");
    assert_eq!(started.name, guard.name("web"));
    wait_http(&engine, &started.id, 20).await;
    let (status, _) = get(addr, "localhost", "/api/health").await.unwrap();
    assert_eq!(status, 200);
    let info = engine.inspect(&started.id).await.unwrap().unwrap();
    assert_eq!(info.state, "running");
    assert_eq!(info.http_addr, Some(addr));
    assert_eq!(info.image, crate::support::DEMO_IMAGE);
    assert!(info.image_id.starts_with("sha256:"), "{}", info.image_id);
    assert!(info.started_at.is_some());
    assert_eq!(info.exit_code, None);
}

#[tokio::test]
async fn a_stopped_container_of_the_same_name_is_replaced() {
    let (engine, guard) = setup("replace").await;
    let first = engine.start(&guard.demo("web")).await.unwrap();
    let err = engine.start(&guard.demo("web")).await.unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
    engine.stop(&first.id, GRACE).await.unwrap();
    let second = engine.start(&guard.demo("web")).await.unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!(engine.inspect(&first.id).await.unwrap(), None);
}

#[tokio::test]
async fn a_taken_port_is_port_taken_and_leaves_no_container() {
    let (engine, guard) = setup("port-taken").await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut spec = guard.demo("web");
    spec.publish_http = false;
    spec.ports = vec![PortSpec {
        host_ip: "127.0.0.1".into(),
        host_port: Some(port),
        container_port: 8000,
        protocol: "tcp".into(),
    }];
    let err = engine.start(&spec).await.unwrap_err();
    assert!(matches!(err, EngineError::PortTaken(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("port 127.0.0.1:{port} is already in use")
    );
    assert_eq!(engine.inspect(&spec.name).await.unwrap(), None);
    drop(listener);
}

#[tokio::test]
async fn stop_remove_is_idempotent() {
    let (engine, guard) = setup("stop-remove").await;
    let started = engine.start(&guard.demo("web")).await.unwrap();
    engine.stop_remove(&started.id, GRACE).await.unwrap();
    assert_eq!(engine.inspect(&started.id).await.unwrap(), None);
    engine.stop_remove(&started.id, GRACE).await.unwrap();
    engine
        .stop_remove(&guard.name("never-existed"), GRACE)
        .await
        .unwrap();
}

#[tokio::test]
async fn stop_then_restart() {
    let (engine, guard) = setup("stop-restart").await;
    let started = engine.start(&guard.demo("web")).await.unwrap();
    engine.stop(&started.id, GRACE).await.unwrap();
    let stopped = engine.inspect(&started.id).await.unwrap().unwrap();
    assert_eq!(stopped.state, "exited");
    // berth-demo drains and exits 0 on SIGTERM.
    assert_eq!(stopped.exit_code, Some(0));
    engine.stop(&started.id, GRACE).await.unwrap();
    engine.restart(&started.id, GRACE).await.unwrap();
    let running = engine.inspect(&started.id).await.unwrap().unwrap();
    assert_eq!(running.state, "running");
}

#[tokio::test]
async fn list_filters_by_labels() {
    let (engine, guard) = setup("list").await;
    for role in ["a", "b"] {
        let mut spec = guard.demo(role);
        spec.labels.insert("berth.role".into(), role.into());
        spec.publish_http = false;
        engine.start(&spec).await.unwrap();
    }
    let all = engine.list(&[(TEST_LABEL, &guard.id)]).await.unwrap();
    let mut names: Vec<_> = all.iter().map(|c| c.name.clone()).collect();
    names.sort();
    assert_eq!(names, [guard.name("a"), guard.name("b")]);
    let only_a = engine
        .list(&[(TEST_LABEL, &guard.id), ("berth.role", "a")])
        .await
        .unwrap();
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0].labels["berth.role"], "a");
    let with_role = engine
        .list(&[(TEST_LABEL, &guard.id), ("berth.role", "")])
        .await
        .unwrap();
    assert_eq!(with_role.len(), 2);
    let none = engine
        .list(&[(TEST_LABEL, &guard.id), ("berth.role", "c")])
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn stats_report_memory_against_the_limit() {
    let (engine, guard) = setup("stats").await;
    let mut spec = guard.demo("web");
    spec.memory_limit = Some(64 << 20);
    spec.cpu_limit = Some(0.5);
    let started = engine.start(&spec).await.unwrap();
    let stats = engine.stats(&started.id).await.unwrap();
    assert_eq!(stats.memory_limit, 64 << 20);
    assert!(stats.memory_bytes > 0, "{stats:?}");
    assert!(stats.memory_bytes < 64 << 20, "{stats:?}");
    assert!(
        stats.cpu_percent >= 0.0 && stats.cpu_percent <= 100.0,
        "{stats:?}"
    );
}

#[tokio::test]
async fn inspecting_an_unknown_container_is_none() {
    let (engine, guard) = setup("unknown").await;
    assert_eq!(engine.inspect(&guard.name("nope")).await.unwrap(), None);
    let err = engine.stats(&guard.name("nope")).await.unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn a_missing_image_is_image_missing_at_start() {
    let (engine, guard) = setup("start-missing").await;
    let mut spec = guard.demo("web");
    spec.image = format!("{}:v9", guard.name("nowhere"));
    let err = engine.start(&spec).await.unwrap_err();
    assert!(matches!(err, EngineError::ImageMissing(_)), "{err:?}");
}

/// One writer per volume and service: a second container of the same service on a
/// writable volume a running one mounts is refused, whatever started it; read-only mounts,
/// other services and a stopped first container are fine.
#[tokio::test]
async fn a_second_writer_on_a_volume_of_the_same_service_is_refused() {
    use stack::model::VolumeSpec;
    let (engine, guard) = setup("single-writer").await;
    let volume = guard.name("data");
    let with_volume = |suffix: &str, service: &str, read_only: bool| {
        let mut spec = guard.demo(suffix);
        spec.volumes = vec![VolumeSpec {
            source: volume.clone(),
            target: "/data".into(),
            read_only,
            external: false,
        }];
        spec.labels.insert("svc".into(), service.into());
        spec.single_writer = vec![
            (TEST_LABEL.to_string(), guard.id.clone()),
            ("svc".to_string(), service.to_string()),
        ];
        spec
    };
    let first = engine
        .start(&with_volume("db-1", "db", false))
        .await
        .unwrap();
    let err = engine
        .start(&with_volume("db-2", "db", false))
        .await
        .unwrap_err();
    match &err {
        EngineError::Conflict(m) => assert!(m.contains(&volume), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Another service sharing the volume (static files, say), and a read-only reader.
    engine
        .start(&with_volume("web", "web", false))
        .await
        .unwrap();
    engine
        .start(&with_volume("db-ro", "db", true))
        .await
        .unwrap();
    engine.stop(&first.id, GRACE).await.unwrap();
    engine
        .start(&with_volume("db-3", "db", false))
        .await
        .expect("the first writer is stopped");
    drop(guard);
    let _ = std::process::Command::new("docker")
        .args(["volume", "rm", "-f", &volume])
        .output();
}
