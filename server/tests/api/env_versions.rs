//! Configuration versions and environment settings (edge proxy, remote Docker hosts).
use crate::stack_config::{everything_stored, world, PLAINTEXT};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_change_makes_a_version_and_diffs_hide_secret_values() {
    let w = world().await;
    let base = "/projects/shop/environments/production/variables";
    w.app
        .put_var(&format!("{base}/DEBUG"), &w.maint, json!({"value": "true"}))
        .await;
    w.app
        .put_var(
            &format!("{base}/DB_PASSWORD"),
            &w.maint,
            json!({"value": PLAINTEXT, "secret": true}),
        )
        .await;
    w.app
        .put_var(
            &format!("{base}/DEBUG"),
            &w.maint,
            json!({"value": "false"}),
        )
        .await;
    w.app
        .put_var(
            &format!("{base}/DB_PASSWORD"),
            &w.maint,
            json!({"value": "another-secret-1", "secret": true}),
        )
        .await;
    // A project-level variable makes a version in every environment.
    w.app
        .put_var(
            "/projects/shop/variables/REGION",
            &w.maint,
            json!({"value": "eu"}),
        )
        .await;
    let (_, versions) = w
        .app
        .api(
            Method::GET,
            "/projects/shop/environments/production/versions",
            Some(&w.viewer),
            None,
        )
        .await;
    let numbers: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_i64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        vec![6, 5, 4, 3, 2, 1],
        "creating the environment is version 1"
    );
    let (s, diff) = w
        .app
        .api(
            Method::GET,
            "/projects/shop/environments/production/versions/diff?from=2&to=6",
            Some(&w.viewer),
            None,
        )
        .await;
    assert_eq!(s, 200, "{diff}");
    let text = diff.to_string();
    assert!(
        !text.contains(PLAINTEXT) && !text.contains("another-secret-1"),
        "{text}"
    );
    let find = |k: &str| {
        diff.as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == k)
            .cloned()
    };
    let debug = find("variables.DEBUG").expect("DEBUG changed");
    assert_eq!(
        (debug["from"].clone(), debug["to"].clone()),
        (json!("true"), json!("false"))
    );
    let pw = find("variables.DB_PASSWORD").expect("DB_PASSWORD added");
    assert_eq!(pw["kind"], "added");
    assert!(pw["to"].is_null());
    assert_eq!(find("variables.REGION").unwrap()["kind"], "added");
    let (_, d) = w
        .app
        .api(
            Method::GET,
            "/projects/shop/environments/production/versions/diff?from=3&to=5",
            Some(&w.viewer),
            None,
        )
        .await;
    let pw = d
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "variables.DB_PASSWORD")
        .unwrap()
        .clone();
    assert_eq!(pw["kind"], "changed");
    assert!(pw["from"].is_null() && pw["to"].is_null());
    assert!(!everything_stored(&w.app).await.contains("another-secret-1"));
}

#[tokio::test]
async fn proxy_settings_are_validated_and_drive_the_generated_config() {
    let w = world().await;
    let path = "/projects/shop/environments/production";
    let (_, env) = w.app.api(Method::GET, path, Some(&w.viewer), None).await;
    assert_eq!(env["proxy"]["http_port"], 80);
    assert_eq!(env["proxy"]["https_port"], 443);
    let (s, e) = w
        .app
        .api(
            Method::PATCH,
            path,
            Some(&w.maint),
            Some(json!({"proxy": {"http_port": 8080, "https_port": 8080}})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["field"], "proxy.https_port");
    let (s, e) = w
        .app
        .api(
            Method::PATCH,
            path,
            Some(&w.maint),
            Some(json!({"proxy": {"http_port": 18080, "https_port": null, "redirect_http": false, "hsts_max_age": 0}})),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["proxy"]["http_port"], 18080);
    let (s, _) = w
        .app
        .api(
            Method::PUT,
            "/projects/shop/sites/web",
            Some(&w.maint),
            Some(json!({"hosts": {"production": {"primary": "shop.example.com", "aliases": []}}, "routes": []})),
        )
        .await;
    assert_eq!(s, 200);
    let conf = w.app.text(&format!("{path}/nginx.conf"), &w.viewer).await;
    assert!(conf.contains("listen 18080;"), "{conf}");
    let (_, versions) = w
        .app
        .api(
            Method::GET,
            &format!("{path}/versions"),
            Some(&w.viewer),
            None,
        )
        .await;
    let newest = versions[0]["number"].as_i64().unwrap();
    let (_, diff) = w
        .app
        .api(
            Method::GET,
            &format!("{path}/versions/diff?from=1&to={newest}"),
            Some(&w.viewer),
            None,
        )
        .await;
    assert!(diff.to_string().contains("environment.proxy"), "{diff}");
}

#[tokio::test]
async fn a_remote_docker_host_asks_for_its_tls_secrets() {
    let w = world().await;
    let path = "/projects/shop/environments/production";
    let (s, _) = w
        .app
        .api(
            Method::PATCH,
            path,
            Some(&w.maint),
            Some(json!({"docker_host": "tcp://10.0.0.5:2376"})),
        )
        .await;
    assert_eq!(s, 403, "Docker hosts are an admin's call");
    let (s, env) = w
        .app
        .api(
            Method::PATCH,
            path,
            Some(&w.admin),
            Some(json!({"docker_host": "tcp://10.0.0.5:2376"})),
        )
        .await;
    assert_eq!(s, 200, "{env}");
    assert_eq!(
        env["docker_tls_missing"],
        json!([
            "DOCKER_TLS_CA_CERT",
            "DOCKER_TLS_CLIENT_CERT",
            "DOCKER_TLS_CLIENT_KEY"
        ])
    );
    let (s, _) = w
        .app
        .put_var(
            &format!("{path}/variables/DOCKER_TLS_CA_CERT"),
            &w.maint,
            json!({"value": "-----BEGIN CERTIFICATE-----", "secret": true}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, env) = w.app.api(Method::GET, path, Some(&w.viewer), None).await;
    assert_eq!(
        env["docker_tls_missing"],
        json!(["DOCKER_TLS_CLIENT_CERT", "DOCKER_TLS_CLIENT_KEY"])
    );
}

#[tokio::test]
async fn only_admins_choose_the_commands_that_drive_nginx() {
    let w = world().await;
    let path = "/projects/shop/environments/production";
    let manager = json!({
        "http_port": 8080,
        "manager": {
            "mode": "host",
            "config_path": "/tmp/berth-test.conf",
            "test_command": ["nginx", "-t"],
            "reload_command": ["touch", "/tmp/owned"]
        }
    });
    let (s, e) = w
        .app
        .api(
            Method::PATCH,
            path,
            Some(&w.maint),
            Some(json!({"proxy": manager})),
        )
        .await;
    assert_eq!(s, 403, "a maintainer may not set commands Berth runs: {e}");
    let (_, env) = w.app.api(Method::GET, path, Some(&w.viewer), None).await;
    assert_eq!(env["proxy"]["manager"]["mode"], "");
    let bad = json!({"http_port": 8080, "manager": {"mode": "ssh", "config_path": "/x"}});
    let root = w.admin.clone();
    let (s, e) = w
        .app
        .api(
            Method::PATCH,
            path,
            Some(&root),
            Some(json!({"proxy": bad})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["field"], "proxy.manager.mode");
    let (s, e) = w
        .app
        .api(
            Method::PATCH,
            path,
            Some(&root),
            Some(json!({"proxy": manager})),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["proxy"]["manager"]["mode"], "host");
}

/// Numbers of the versions a GET of `query` answers.
async fn version_numbers(w: &crate::stack_config::World, query: &str) -> Vec<i64> {
    let (s, versions) = w
        .app
        .api(
            Method::GET,
            &format!("/projects/shop/environments/production/versions{query}"),
            Some(&w.viewer),
            None,
        )
        .await;
    assert_eq!(s, 200, "{versions}");
    versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_long_history_is_read_a_page_at_a_time() {
    let w = world().await;
    // Version 1 is the environment; 44 more changes.
    for i in 0..44 {
        let (s, e) = w
            .app
            .put_var(
                "/projects/shop/environments/production/variables/COUNTER",
                &w.maint,
                json!({ "value": i.to_string() }),
            )
            .await;
        assert!(s < 300, "{s} {e}");
    }
    // The newest page by default, newest first.
    assert_eq!(
        version_numbers(&w, "").await,
        (26..=45).rev().collect::<Vec<_>>()
    );
    // Older pages continue below the last number seen.
    assert_eq!(
        version_numbers(&w, "?before=26").await,
        (6..=25).rev().collect::<Vec<_>>()
    );
    assert_eq!(version_numbers(&w, "?before=6").await, vec![5, 4, 3, 2, 1]);
    assert_eq!(version_numbers(&w, "?before=1").await, Vec::<i64>::new());
    assert_eq!(version_numbers(&w, "?limit=3").await, vec![45, 44, 43]);
    // A page is at most 200 long, and at least 1.
    assert_eq!(version_numbers(&w, "?limit=100000").await.len(), 45);
    assert_eq!(version_numbers(&w, "?limit=0").await, vec![45]);

    // The environment page shows one page of versions and links to the older ones; the diff
    // form does not list every version either.
    let c = w.app.signed_in("vic").await;
    let url = format!("{}/projects/shop/environments/production", w.app.url);
    let html = c.get(&url).send().await.unwrap().text().await.unwrap();
    let table = &html[html.find("id=\"versions\"").expect("versions table")..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr").count(), 21, "a header and 20 versions");
    assert!(table.contains(">v45<") && !table.contains(">v25<"));
    assert!(html.contains("vbefore=26"), "no link to older versions");
    assert!(
        html.matches("<option").count() < 20,
        "the diff form lists every version"
    );
    let older = c
        .get(format!("{url}?vbefore=26"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let table = &older[older.find("id=\"versions\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert!(table.contains(">v25<") && table.contains(">v6<") && !table.contains(">v26<"));
}
