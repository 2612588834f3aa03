use std::time::Duration;

use engine::{ContainerSpec, Engine};

use crate::support::{docker, setup, wait_http, Guard};

/// Creates the test's network `<guard>-net` and returns its name.
async fn network(engine: &Engine, guard: &Guard) -> String {
    let network = guard.name("net");
    engine
        .ensure_network(&network, &guard.labels())
        .await
        .unwrap();
    network
}

/// The demo site, named `<guard>-<suffix>`, attached to `network`.
fn demo_on(guard: &Guard, suffix: &str, network: &str) -> ContainerSpec {
    ContainerSpec {
        network: Some(network.to_owned()),
        ..guard.demo(suffix)
    }
}

#[tokio::test]
async fn containers_join_the_network_under_their_alias() {
    let (engine, guard) = setup("network").await;
    let network = network(&engine, &guard).await;
    // Ensuring it again is a no-op.
    engine
        .ensure_network(&network, &guard.labels())
        .await
        .unwrap();
    let mut spec = demo_on(&guard, "web-1", &network);
    spec.aliases = vec!["web".into()];
    spec.publish_http = false;
    let started = engine.start(&spec).await.unwrap();
    assert_eq!(started.http_addr, None);

    let info = engine.inspect(&started.id).await.unwrap().unwrap();
    assert!(info.ips.contains_key(&network), "{:?}", info.ips);
    let format = format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Aliases}}}}");
    let aliases = docker(&["inspect", "--format", &format, &started.id]).join("");
    assert!(aliases.contains("\"web\""), "{aliases}");

    // Without a published port, the HTTP probe reaches the container on its network.
    wait_http(&engine, &started.id, 20).await;
}

#[tokio::test]
async fn a_network_in_use_is_not_removed_until_empty() {
    let (engine, guard) = setup("network-rm").await;
    let network = network(&engine, &guard).await;
    let started = engine
        .start(&demo_on(&guard, "web", &network))
        .await
        .unwrap();
    let err = engine.remove_network(&network).await.unwrap_err();
    assert!(matches!(err, engine::EngineError::Conflict(_)), "{err:?}");
    engine
        .stop_remove(&started.id, Duration::from_secs(5))
        .await
        .unwrap();
    engine.remove_network(&network).await.unwrap();
    engine.remove_network(&network).await.unwrap();
}
