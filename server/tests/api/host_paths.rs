//! Host-path bind mounts are an instance admin's decision: a maintainer may mount named
//! volumes and paths under the allowlist admins keep, never `/` or the Docker socket.
use crate::support::*;
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::json;

const SERVICES: &str = "/projects/shop/environments/staging/services";

async fn world() -> (TestApp, String, String) {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    app.user("max", InstanceRole::User).await;
    app.project("shop").await;
    app.member("shop", "max", Role::Maintainer).await;
    let root = app.token("root", Scope::Write).await;
    let max = app.token("max", Scope::Write).await;
    app.environment("shop", "staging", &root).await;
    (app, root, max)
}

fn web(volumes: &[&str]) -> serde_json::Value {
    let volumes: Vec<_> = volumes
        .iter()
        .map(|v| {
            let (source, target) = v.split_once(':').unwrap();
            json!({"source": source, "target": target})
        })
        .collect();
    json!({"name": "web", "image": "shop:1", "volumes": volumes})
}

#[tokio::test]
async fn a_maintainer_cannot_mount_the_host_root_or_the_docker_socket() {
    let (app, _, max) = world().await;
    for v in [
        "/:/host",
        "/var/run/docker.sock:/var/run/docker.sock",
        "/srv/shop/../../etc:/etc2",
        "./conf:/conf",
    ] {
        let (s, b) = app
            .api(
                Method::PUT,
                &format!("{SERVICES}/web"),
                Some(&max),
                Some(web(&[v])),
            )
            .await;
        assert_eq!(s, 422, "{v}: {b}");
        assert_eq!(b["error"]["field"], "volumes", "{b}");
        assert!(b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("instance admin"));
    }
    assert_eq!(app.count("services").await, 0);
    // Named volumes are free.
    let (s, b) = app
        .api(
            Method::PUT,
            &format!("{SERVICES}/web"),
            Some(&max),
            Some(web(&["media:/app/media"])),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn paths_under_the_admins_allowlist_are_allowed_and_only_admins_change_it() {
    let (app, root, max) = world().await;
    let (s, _) = app
        .api(
            Method::PUT,
            "/settings/host-paths",
            Some(&max),
            Some(json!({"paths": ["/"]})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, b) = app
        .api(
            Method::PUT,
            "/settings/host-paths",
            Some(&root),
            Some(json!({"paths": ["/srv/shop/", "/srv//shop", "/var/www"]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["paths"], json!(["/srv/shop", "/var/www"]));
    let (s, b) = app
        .api(
            Method::PUT,
            "/settings/host-paths",
            Some(&root),
            Some(json!({"paths": ["relative"]})),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    let (s, b) = app
        .api(
            Method::PUT,
            &format!("{SERVICES}/web"),
            Some(&max),
            Some(web(&["/srv/shop:/static"])),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = app
        .api(
            Method::PUT,
            &format!("{SERVICES}/web"),
            Some(&max),
            Some(web(&["/srv/shopping:/x"])),
        )
        .await;
    assert_eq!(s, 422);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|(a, _, _)| a == "settings.host_paths"));
}

#[tokio::test]
async fn an_admins_mount_stays_when_a_maintainer_edits_the_service_but_cannot_be_added_to() {
    let (app, root, max) = world().await;
    // Read-only: a writable mount would limit the service to one replica.
    let web = |v: &[&str]| {
        let mut w = web(v);
        for vol in w["volumes"].as_array_mut().unwrap() {
            vol["read_only"] = json!(true);
        }
        w
    };
    let (s, b) = app
        .api(
            Method::PUT,
            &format!("{SERVICES}/web"),
            Some(&root),
            Some(web(&["/etc/shop:/conf"])),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let mut edited = web(&["/etc/shop:/conf"]);
    edited["replicas"] = json!(3);
    let (s, b) = app
        .api(
            Method::PUT,
            &format!("{SERVICES}/web"),
            Some(&max),
            Some(edited),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = app
        .api(
            Method::PUT,
            &format!("{SERVICES}/web"),
            Some(&max),
            Some(web(&["/etc/shop:/conf", "/etc:/etc2"])),
        )
        .await;
    assert_eq!(s, 422);
    // Nor may anything run next to it change: a new image beside an admin's mount is the
    // admin's decision again.
    let mut other_image = web(&["/etc/shop:/conf"]);
    other_image["image"] = json!("attacker/shell:1");
    other_image["replicas"] = json!(3);
    let (s, b) = app
        .api(
            Method::PUT,
            &format!("{SERVICES}/web"),
            Some(&max),
            Some(other_image),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    // Below an allowed path is not allowed (a symlink made there would lead anywhere).
    let (s, _) = app
        .api(
            Method::PUT,
            "/settings/host-paths",
            Some(&root),
            Some(json!({"paths": ["/srv/shop"]})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .api(
            Method::PUT,
            &format!("{SERVICES}/cache"),
            Some(&max),
            Some(json!({"name": "cache", "image": "c:1", "volumes": [{"source": "/srv/shop/r", "target": "/host"}]})),
        )
        .await;
    assert_eq!(s, 422);
}

#[tokio::test]
async fn a_maintainers_compose_import_leaves_out_services_with_host_paths_for_an_admin() {
    let (app, _, max) = world().await;
    let compose = "services:\n  web:\n    image: shop:1\n    volumes:\n      - media:/media\n  proxy:\n    image: nginx\n    volumes:\n      - /:/host\n";
    for apply in [false, true] {
        let (s, plan) = app
            .api(
                Method::POST,
                "/projects/shop/environments/staging/imports/compose",
                Some(&max),
                Some(
                    json!({"file_name": "docker-compose.yml", "content": compose, "apply": apply}),
                ),
            )
            .await;
        assert_eq!(s, 200, "{plan}");
        let items = plan["items"].as_array().unwrap();
        let proxy = items.iter().find(|i| i["name"] == "proxy").unwrap();
        assert_eq!(proxy["action"], "needs an admin", "{plan}");
        assert!(proxy["note"].as_str().unwrap().contains("/"));
        let web = items.iter().find(|i| i["name"] == "web").unwrap();
        assert_eq!(web["action"], "create", "{plan}");
    }
    let (_, list) = app.api(Method::GET, SERVICES, Some(&max), None).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["web"]);
}
