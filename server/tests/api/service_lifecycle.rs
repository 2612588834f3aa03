//! What a service's lifecycle settings may be: one writer per writable volume, nothing
//! published by an internal service, capabilities and ulimits that reach the host only from
//! an instance admin, a depends_on cycle named at input, and "replace now" for maintainers.
use crate::support::*;
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::{json, Value};

const SERVICES: &str = "/projects/shop/environments/staging/services";

async fn world() -> (TestApp, String, String, String) {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    app.user("max", InstanceRole::User).await;
    app.user("dee", InstanceRole::User).await;
    app.project("shop").await;
    app.member("shop", "max", Role::Maintainer).await;
    app.member("shop", "dee", Role::Deployer).await;
    let root = app.token("root", Scope::Write).await;
    let max = app.token("max", Scope::Write).await;
    let dee = app.token("dee", Scope::Write).await;
    app.environment("shop", "staging", &root).await;
    (app, root, max, dee)
}

async fn put(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let name = body["name"].as_str().unwrap().to_string();
    app.api(
        Method::PUT,
        &format!("{SERVICES}/{name}"),
        Some(token),
        Some(body),
    )
    .await
}

fn db() -> Value {
    json!({"name": "db", "image": "postgres:15",
           "volumes": [{"source": "pgdata", "target": "/var/lib/postgresql/data"}]})
}

#[tokio::test]
async fn a_writable_volume_has_one_writer_and_an_internal_service_publishes_nothing() {
    let (app, _, max, _) = world().await;
    let mut two = db();
    two["replicas"] = json!(2);
    let (s, b) = put(&app, &max, two).await;
    assert_eq!(
        (s, b["error"]["field"].as_str()),
        (422, Some("replicas")),
        "{b}"
    );
    let mut rolling = db();
    rolling["update"] = json!("rolling");
    let (s, b) = put(&app, &max, rolling).await;
    assert_eq!(
        (s, b["error"]["field"].as_str()),
        (422, Some("update")),
        "{b}"
    );
    // Read-only mounts may be shared by replicas; recreate and manual are fine.
    let (s, b) = put(
        &app,
        &max,
        json!({"name": "web", "image": "shop:1", "replicas": 3,
               "volumes": [{"source": "static", "target": "/static", "read_only": true}]}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let mut manual = db();
    manual["update"] = json!("manual");
    let (s, b) = put(&app, &max, manual).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["spec"]["update"], "manual");
    // Scaling the database to two is refused the same way.
    let (s, b) = app
        .api(
            Method::POST,
            "/projects/shop/environments/staging/scale",
            Some(&max),
            Some(json!({"replicas": {"db": 2}})),
        )
        .await;
    assert!(s == 422 || s == 409, "{s} {b}");
    let (s, b) = put(
        &app,
        &max,
        json!({"name": "cache", "image": "redis:7", "internal": true,
               "ports": [{"host_port": 6379, "container_port": 6379}]}),
    )
    .await;
    assert_eq!(
        (s, b["error"]["field"].as_str()),
        (422, Some("ports")),
        "{b}"
    );
}

#[tokio::test]
async fn capabilities_and_ulimits_that_reach_the_host_need_an_instance_admin() {
    let (app, root, max, _) = world().await;
    let with = |runtime: Value| json!({"name": "web", "image": "shop:1", "runtime": runtime});
    for runtime in [
        json!({"cap_add": ["SYS_ADMIN"]}),
        json!({"cap_add": ["cap_sys_ptrace"]}),
        json!({"cap_add": ["ALL"]}),
        json!({"cap_add": ["SYS_NICE"]}),
        json!({"ulimits": {"rtprio": {"soft": 99, "hard": 99}}}),
    ] {
        let (s, b) = put(&app, &max, with(runtime.clone())).await;
        assert_eq!(s, 422, "{runtime}: {b}");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .contains("instance admin"),
            "{b}"
        );
        let (s, b) = put(&app, &root, with(runtime.clone())).await;
        assert_eq!(s, 200, "an admin may: {runtime}: {b}");
    }
    let (s, b) = put(
        &app,
        &max,
        with(json!({"cap_add": ["NET_BIND_SERVICE"], "cap_drop": ["ALL"],
                    "ulimits": {"nofile": {"soft": 65536, "hard": 65536}},
                    "user": "999:999", "tmpfs": ["/run:size=64m"], "stop_grace_secs": 60})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    for (runtime, field) in [
        (json!({"stop_grace_secs": 3600}), "stop_grace"),
        (
            json!({"ulimits": {"nofile": {"soft": -1, "hard": 100}}}),
            "runtime",
        ),
        (json!({"extra_hosts": ["db.internal"]}), "runtime"),
        (json!({"working_dir": "relative"}), "runtime"),
    ] {
        let (s, b) = put(&app, &max, with(runtime.clone())).await;
        assert_eq!(
            (s, b["error"]["field"].as_str()),
            (422, Some(field)),
            "{runtime}: {b}"
        );
    }
}

#[tokio::test]
async fn a_depends_on_cycle_is_named_and_replace_now_is_for_maintainers() {
    let (app, _, max, dee) = world().await;
    let (s, b) = put(
        &app,
        &max,
        json!({"name": "web", "image": "shop:1", "depends_on": [{"service": "api"}]}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = put(
        &app,
        &max,
        json!({"name": "api", "image": "shop:1",
               "depends_on": [{"service": "web", "condition": "service_started"}]}),
    )
    .await;
    assert_eq!(
        (s, b["error"]["field"].as_str()),
        (422, Some("depends_on")),
        "{b}"
    );
    let msg = b["error"]["message"].as_str().unwrap();
    assert!(msg.contains("→"), "the cycle is named: {msg}");

    let replace = |svc: &str| format!("/projects/shop/environments/staging/services/{svc}/replace");
    let (s, b) = app
        .api(Method::POST, &replace("web"), Some(&dee), Some(json!({})))
        .await;
    assert_eq!(s, 403, "a deployer may not replace: {b}");
    let (s, b) = app
        .api(Method::POST, &replace("nope"), Some(&max), Some(json!({})))
        .await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = app
        .api(Method::POST, &replace("web"), Some(&max), Some(json!({})))
        .await;
    assert_eq!(s, 409, "nothing deployed yet: {b}");
}
