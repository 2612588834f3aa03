//! The seed stack described in Berth from its own files: .env and compose imports, sites,
//! the generated nginx configuration under real `nginx -t`, and exports.
use crate::support::*;
use berth_model::{InstanceRole, Scope};
use reqwest::Method;
use serde_json::{json, Value};

fn fixture(path: &str) -> String {
    let p = format!(
        "{}/../../shared/seed/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

async fn world() -> (TestApp, String) {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    app.project("idp-cms").await;
    let t = app.token("root", Scope::Write).await;
    let (s, e) = app
        .api(Method::POST, "/projects/idp-cms/environments", Some(&t), Some(json!({"name": "Production", "slug": "production", "protected": true, "branch": "main"})))
        .await;
    assert_eq!(s, 201, "{e}");
    (app, t)
}

async fn import(
    app: &TestApp,
    t: &str,
    kind: &str,
    file: &str,
    content: String,
    apply: bool,
) -> (u16, Value) {
    app.api(
        Method::POST,
        &format!("/projects/idp-cms/environments/production/imports/{kind}"),
        Some(t),
        Some(json!({"file_name": file, "content": content, "apply": apply})),
    )
    .await
}

#[tokio::test]
async fn the_prod_env_file_previews_then_applies_with_vault_values_as_missing_secrets() {
    let (app, t) = world().await;
    let (s, plan) = import(
        &app,
        &t,
        "env",
        ".env.prod",
        fixture("env/.env.prod"),
        false,
    )
    .await;
    assert_eq!(s, 200, "{plan}");
    assert_eq!(plan["applied"], false);
    assert_eq!(app.count("variables").await, 0, "a preview writes nothing");
    let item = |name: &str| {
        plan["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .cloned()
            .unwrap()
    };
    for secret in [
        "DJANGO_SECRET_KEY",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "OPENSEARCH_PASSWORD",
        "SENTRY_DSN",
    ] {
        assert_eq!(item(secret)["kind"], "secret", "{secret}");
        assert_eq!(item(secret)["missing"], true, "{secret}");
    }
    assert_eq!(item("DJANGO_DEBUG")["kind"], "variable");
    assert_eq!(item("DJANGO_DEBUG")["action"], "create");
    let (s, plan) = import(&app, &t, "env", ".env.prod", fixture("env/.env.prod"), true).await;
    assert_eq!(s, 200, "{plan}");
    assert_eq!(plan["applied"], true);
    let (_, vars) = app
        .api(
            Method::GET,
            "/projects/idp-cms/environments/production/variables",
            Some(&t),
            None,
        )
        .await;
    let v = |name: &str| {
        vars.as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        v("CLICKHOUSE_URL")["value"],
        "clickhouse://${CH_USER}:${CH_PASSWORD}@clickhouse-cluster.internal:9000/production"
    );
    assert_eq!(v("POSTGRES_PASSWORD")["missing"], true);
    assert_eq!(v("POSTGRES_PASSWORD")["secret"], true);
    // Importing the same file again changes nothing.
    let (_, again) = import(
        &app,
        &t,
        "env",
        ".env.prod",
        fixture("env/.env.prod"),
        false,
    )
    .await;
    assert!(
        again["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"] == "unchanged"),
        "{again}"
    );
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|(a, _, _)| a == "import.env"));
}

#[tokio::test]
async fn the_dev_and_test_env_files_import() {
    let (app, t) = world().await;
    for f in ["env/.env.dev", "env/.env.test"] {
        let (s, plan) = import(&app, &t, "env", f, fixture(f), false).await;
        assert_eq!(s, 200, "{f}: {plan}");
        assert!(!plan["items"].as_array().unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_seed_compose_file_imports_as_services_and_lists_what_is_not_modelled() {
    let (app, t) = world().await;
    let (s, plan) = import(
        &app,
        &t,
        "compose",
        "docker-compose.prod.yml",
        fixture("docker-compose.prod.yml"),
        true,
    )
    .await;
    assert_eq!(s, 200, "{plan}");
    assert_eq!(plan["items"].as_array().unwrap().len(), 7);
    assert!(
        plan["unsupported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().starts_with("version")),
        "{plan}"
    );
    let (_, services) = app
        .api(
            Method::GET,
            "/projects/idp-cms/environments/production/services",
            Some(&t),
            None,
        )
        .await;
    let authoring = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "authoring")
        .unwrap();
    assert_eq!(authoring["spec"]["replicas"], 3);
    assert_eq!(
        authoring["spec"]["resources"]["memory_limit"],
        4u64 * 1024 * 1024 * 1024
    );
    // Export and import again: nothing to change.
    let compose = app
        .text(
            "/projects/idp-cms/environments/production/export/docker-compose.yml",
            &t,
        )
        .await;
    let (s, again) = import(&app, &t, "compose", "exported.yml", compose, false).await;
    assert_eq!(s, 200, "{again}");
    assert!(
        again["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"] == "unchanged"),
        "{again}"
    );
}

#[tokio::test]
async fn bad_files_name_the_line_and_write_nothing() {
    let (app, t) = world().await;
    let (s, e) = import(
        &app,
        &t,
        "compose",
        "bad.yml",
        "services:\n  web:\n    image: [unclosed\n".into(),
        true,
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("bad.yml:"),
        "{e}"
    );
    let (s, e) = import(
        &app,
        &t,
        "compose",
        "neg.yml",
        "services:\n  web:\n    image: x\n    deploy:\n      replicas: -1\n".into(),
        true,
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("replicas"),
        "{e}"
    );
    let (s, e) = import(&app, &t, "env", ".env", "GOOD=1\nBAD LINE\n".into(), true).await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains(".env:2"),
        "{e}"
    );
    let (s, _) = import(
        &app,
        &t,
        "env",
        ".env",
        format!("BIG={}\n", "x".repeat(300 * 1024)),
        true,
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(app.count("variables").await, 0);
    assert_eq!(app.count("services").await, 0);
}

fn self_signed(dir: &std::path::Path, host: &str) -> (String, String) {
    let crt = dir.join(format!("{host}.crt"));
    let key = dir.join(format!("{host}.key"));
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
        ])
        .arg(format!("/CN={host}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .expect("openssl is needed for this test (apt-get install openssl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (crt.display().to_string(), key.display().to_string())
}

fn site(name: &str, host: &str, tls: (String, String)) -> Value {
    json!({
        "hosts": {"production": {"primary": host, "aliases": [format!("www.{host}")]}},
        "routes": [
            {"path": "/static/", "target": {"kind": "files", "root": "/app/static/", "expires": "1y"}},
            {"path": "/media/", "target": {"kind": "files", "root": "/app/media/", "expires": "1y"}},
            {"path": "/api/", "target": {"kind": "service", "service": "authoring"}},
            {"path": "/admin/", "target": {"kind": "service", "service": "authoring"}},
            {"path": "/", "target": {"kind": "service", "service": "portal"}}
        ],
        "health_path": "/api/health",
        "smoke_checks": [{"path": "/api/feed?size=1", "assertions": [
            {"op": "non_empty", "pointer": ".items"},
            {"op": "equals", "pointer": ".debug.site", "value": "${HOST}"}
        ]}],
        "tls": {"production": {"certificate": tls.0, "certificate_key": tls.1}},
        "cache_timeout_secs": 300,
        "name": name
    })
}

#[tokio::test]
async fn the_seed_sites_generate_an_nginx_config_that_real_nginx_accepts() {
    let (app, t) = world().await;
    let (s, _) = import(
        &app,
        &t,
        "compose",
        "docker-compose.prod.yml",
        fixture("docker-compose.prod.yml"),
        true,
    )
    .await;
    assert_eq!(s, 200);
    let certs = tempfile::tempdir().unwrap();
    for (name, host) in [
        ("site-a", "site-a.com"),
        ("site-b", "site-b.com"),
        ("portal", "portal.com"),
    ] {
        let (s, e) = app
            .api(
                Method::PUT,
                &format!("/projects/idp-cms/sites/{name}"),
                Some(&t),
                Some(site(name, host, self_signed(certs.path(), host))),
            )
            .await;
        assert_eq!(s, 200, "{e}");
    }
    let conf = app
        .text("/projects/idp-cms/environments/production/nginx.conf", &t)
        .await;
    for needle in [
        "server_name site-a.com www.site-a.com;",
        "server_name portal.com www.portal.com;",
        "proxy_pass http://berth_idp-cms_production_authoring;",
        "proxy_pass http://berth_idp-cms_production_portal;",
        "return 301 https://$host$request_uri;",
        "X-Frame-Options",
    ] {
        assert!(conf.contains(needle), "missing {needle:?} in\n{conf}");
    }
    let (s, check) = app
        .api(
            Method::POST,
            "/projects/idp-cms/environments/production/nginx/check",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(s, 200, "{check}");
    assert_eq!(check["ok"], true, "{}", check["output"]);
}

#[tokio::test]
async fn a_hostname_claimed_by_two_sites_is_refused() {
    let (app, t) = world().await;
    let certs = tempfile::tempdir().unwrap();
    let tls = || {
        (
            certs.path().join("x.crt").display().to_string(),
            certs.path().join("x.key").display().to_string(),
        )
    };
    let (s, _) = app
        .api(
            Method::PUT,
            "/projects/idp-cms/sites/site-a",
            Some(&t),
            Some(site("site-a", "site-a.com", tls())),
        )
        .await;
    assert_eq!(s, 200);
    let (s, e) = app
        .api(
            Method::PUT,
            "/projects/idp-cms/sites/copy",
            Some(&t),
            Some(site("copy", "site-a.com", tls())),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["field"], "hosts");
    let (s, e) = app
        .api(
            Method::PUT,
            "/projects/idp-cms/sites/bad",
            Some(&t),
            Some(site("bad", "bad_host;.com", tls())),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(app.count("sites").await, 1);
}

#[tokio::test]
async fn the_env_export_writes_secrets_as_references() {
    let (app, t) = world().await;
    let base = "/projects/idp-cms/environments/production/variables";
    app.api(
        Method::PUT,
        &format!("{base}/DB_PASSWORD"),
        Some(&t),
        Some(json!({"value": "exported-secret-value", "secret": true})),
    )
    .await;
    app.api(
        Method::PUT,
        &format!("{base}/DEBUG"),
        Some(&t),
        Some(json!({"value": "false"})),
    )
    .await;
    let env = app
        .text("/projects/idp-cms/environments/production/export/env", &t)
        .await;
    assert!(env.contains("DB_PASSWORD=${DB_PASSWORD}"), "{env}");
    assert!(env.contains("DEBUG=false"), "{env}");
    assert!(!env.contains("exported-secret-value"));
}
