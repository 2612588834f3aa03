use std::time::Duration;

use engine::{CancellationToken, Probe};

use crate::support::{docker, engine, Guard};

#[tokio::test]
async fn containers_join_the_network_under_their_alias() {
    let engine = engine().await;
    let guard = Guard::new("network");
    let network = guard.name("net");
    engine
        .ensure_network(&network, &guard.labels())
        .await
        .unwrap();
    engine
        .ensure_network(&network, &guard.labels())
        .await
        .unwrap();
    let mut spec = guard.demo("web-1");
    spec.network = Some(network.clone());
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
    let probe = Probe::Http {
        path: "/api/health".into(),
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
}

#[tokio::test]
async fn a_network_in_use_is_not_removed_until_empty() {
    let engine = engine().await;
    let guard = Guard::new("network-rm");
    let network = guard.name("net");
    engine
        .ensure_network(&network, &guard.labels())
        .await
        .unwrap();
    let mut spec = guard.demo("web");
    spec.network = Some(network.clone());
    let started = engine.start(&spec).await.unwrap();
    let err = engine.remove_network(&network).await.unwrap_err();
    assert!(matches!(err, engine::EngineError::Conflict(_)), "{err:?}");
    engine
        .stop_remove(&started.id, Duration::from_secs(5))
        .await
        .unwrap();
    engine.remove_network(&network).await.unwrap();
    engine.remove_network(&network).await.unwrap();
}
