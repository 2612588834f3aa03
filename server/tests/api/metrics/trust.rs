//! Metrics at the trust boundaries: a caller sees only its projects' series, a target cannot
//! write into another project's scope, secret values a target exposes are masked before
//! anything is stored, and a remote write URL's token stays with maintainers.
use super::super::support::spawn;
use super::exporter::Exporter;
use super::{add_target, eventually, eventually_n, prom, q, urlencode, world};
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::json;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

#[tokio::test]
async fn a_caller_sees_only_the_series_of_its_projects() {
    let app = spawn().await;
    let admin = world(&app).await;
    app.project("other").await;
    app.environment("other", "staging", &admin).await;
    let ex = Exporter::counting(Arc::new(AtomicU64::new(0))).await;
    for p in ["shop", "other"] {
        let (s, b) = add_target(
            &app,
            &admin,
            p,
            json!({"job_name": "app", "address": ex.address(), "interval_ms": 1000}),
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }
    let all = eventually_n(&app, &admin, r#"count by (project) (up{job="app"})"#, 2).await;
    assert_eq!(all.len(), 2, "the admin sees both: {all:?}");

    app.user("vera", InstanceRole::User).await;
    app.member("shop", "vera", Role::Viewer).await;
    let vera = app.token("vera", Scope::Read).await;
    let mine = eventually(&app, &vera, r#"up{job="app"}"#).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["metric"]["project"], "shop");
    // Asking for the other project by label finds nothing; neither does any other trick.
    for expr in [
        r#"up{project="other"}"#,
        r#"{__name__=~".+", project="other"}"#,
        r#"up{project=~"other|shop"} and on() vector(1) unless up{project="shop"}"#,
        r#"absent(up{project="nope"}) * 0 + count(up{project="other"})"#,
    ] {
        let (s, _, body) = prom(&app, &q(expr), &vera).await;
        assert_eq!(s, 200, "{expr}: {body}");
        let text = body.to_string();
        assert!(!text.contains("\"other\""), "{expr} leaked: {text}");
    }
    let (s, _, body) = prom(
        &app,
        &format!("/series?match[]={}", urlencode(r#"{job="app"}"#)),
        &vera,
    )
    .await;
    assert_eq!(s, 200);
    assert!(!body.to_string().contains("\"other\""), "{body}");
    let (_, _, body) = prom(&app, "/label/project/values", &vera).await;
    assert_eq!(body["data"], json!(["shop"]));
    // The per-project API: her project answers, the other one is not hers.
    let (s, _, body) = prom(
        &app,
        &format!("/projects/shop/prometheus/api/v1{}", q("up")),
        &vera,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, _, body) = prom(
        &app,
        &format!("/projects/other/prometheus/api/v1{}", q("up")),
        &vera,
    )
    .await;
    assert!(matches!(s, 403 | 404), "{s} {body}");
    assert_eq!(body["status"], "error");
    // A user in no project sees nothing at all.
    app.user("nemo", InstanceRole::User).await;
    let nemo = app.token("nemo", Scope::Read).await;
    let (s, _, body) = prom(&app, &q("up"), &nemo).await;
    assert_eq!(s, 200);
    assert_eq!(body["data"]["result"], json!([]), "{body}");
    // Viewers read targets but may not add them.
    let (s, _) = add_target(
        &app,
        &vera,
        "shop",
        json!({"job_name": "x", "address": "127.0.0.1:1"}),
    )
    .await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn a_secret_a_target_exposes_is_masked_before_it_is_stored() {
    use base64::Engine as _;
    let app = spawn().await;
    let admin = world(&app).await;
    let secret = "s3cret-metrics-token-77";
    let (s, b) = app
        .put_var(
            "/projects/shop/environments/staging/variables/API_TOKEN",
            &admin,
            json!({"value": secret, "secret": true}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    let body = format!(
        "# HELP leak_info The token is {secret}.\n# TYPE leak_info gauge\n\
         leak_info{{token=\"{secret}\",encoded=\"{b64}\",url=\"https://x/?t={secret}\"}} 1\n\
         leak_plain 2\n"
    );
    let ex = Exporter::fixed(body).await;
    let (s, b) = add_target(
        &app,
        &admin,
        "shop",
        json!({"job_name": "leaky", "address": ex.address(), "interval_ms": 1000}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let found = eventually(&app, &admin, r#"leak_info{job="leaky"}"#).await;
    eventually(&app, &admin, r#"leak_plain{job="leaky"}"#).await;
    let mut captured = serde_json::to_string(&found).unwrap();
    for path in [
        format!("/series?match[]={}", urlencode(r#"{job="leaky"}"#)),
        "/label/token/values".to_string(),
        "/label/encoded/values".to_string(),
        "/label/url/values".to_string(),
        "/projects/shop/environments/staging/metrics/targets".to_string(),
    ] {
        let (_, _, body) = prom(&app, &path, &admin).await;
        captured.push_str(&body.to_string());
    }
    assert!(captured.contains("••••"), "masked, not dropped: {captured}");
    for form in [secret, b64.as_str()] {
        assert!(!captured.contains(form), "{form} leaked: {captured}");
    }
    // Nor on disk, in the storage's files.
    let mut on_disk = Vec::new();
    for entry in walk(&app.data_dir.path().join("metrics")) {
        on_disk.extend(std::fs::read(entry).unwrap_or_default());
    }
    assert!(!on_disk.is_empty());
    let hay = String::from_utf8_lossy(&on_disk);
    assert!(
        !hay.contains(secret) && !hay.contains(&b64),
        "a secret reached the metrics files"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn honor_labels_cannot_move_a_series_into_another_project() {
    let app = spawn().await;
    let admin = world(&app).await;
    app.project("other").await;
    app.environment("other", "staging", &admin).await;
    // A maintainer of shop only, with a target that claims other's labels.
    app.user("mia", InstanceRole::User).await;
    app.member("shop", "mia", Role::Maintainer).await;
    let mia = app.token("mia", Scope::Write).await;
    app.user("otto", InstanceRole::User).await;
    app.member("other", "otto", Role::Viewer).await;
    let otto = app.token("otto", Scope::Read).await;
    let ex = Exporter::fixed(
        "# TYPE forged gauge\nforged{project=\"other\",environment=\"staging\",job=\"x\"} 1\n"
            .to_string(),
    )
    .await;
    let (s, b) = add_target(
        &app,
        &mia,
        "shop",
        json!({"job_name": "fed", "address": ex.address(), "interval_ms": 1000,
               "honor_labels": true}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let found = eventually(&app, &admin, "forged").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let m = &found[0]["metric"];
    assert_eq!(m["project"], "shop", "{m}");
    assert_eq!(m["environment"], "staging", "{m}");
    assert_eq!(m["exported_project"], "other", "{m}");
    // honor_labels still applies to the other labels.
    assert_eq!(m["job"], "x", "{m}");
    let (s, _, body) = prom(&app, &q("forged"), &otto).await;
    assert_eq!(s, 200);
    assert_eq!(body["data"]["result"], json!([]), "{body}");
}

#[tokio::test]
async fn a_remote_write_token_in_the_url_is_for_maintainers_only() {
    let app = spawn().await;
    let admin = world(&app).await;
    let url = "https://mimir.example.com/api/v1/push?token=rw-t0ken-secret-99";
    let (s, b) = app
        .api(
            Method::PUT,
            "/projects/shop/environments/staging/metrics/settings",
            Some(&admin),
            Some(json!({"scrape_replicas": true, "interval_ms": 15000, "timeout_ms": 10000,
                        "retention_raw_days": 15, "retention_rollup_days": 90, "remote_write_url": url})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, mine) = app
        .api(
            Method::GET,
            "/projects/shop/environments/staging/metrics/settings",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        mine["remote_write_url"], url,
        "the maintainer sees what they saved"
    );
    app.user("vera", InstanceRole::User).await;
    app.member("shop", "vera", Role::Viewer).await;
    let vera = app.token("vera", Scope::Read).await;
    let (_, theirs) = app
        .api(
            Method::GET,
            "/projects/shop/environments/staging/metrics/settings",
            Some(&vera),
            None,
        )
        .await;
    let shown = theirs["remote_write_url"].as_str().unwrap_or("");
    assert!(
        shown.starts_with("https://mimir.example.com/api/v1/push"),
        "{theirs}"
    );
    assert!(
        !shown.contains("rw-t0ken"),
        "a viewer saw the token: {theirs}"
    );
    let (_, audit) = app.api(Method::GET, "/audit", Some(&admin), None).await;
    assert!(
        !audit.to_string().contains("rw-t0ken"),
        "the audit log holds the token: {audit}"
    );
}
