//! Metrics end to end: static targets scraped by the real scheduler into the real storage,
//! answered through Prometheus's HTTP API (shapes, errors, scoping per project), a
//! `prometheus.yml` imported, targets that time out, answer too much or go away.
use super::support::{plain, spawn, TestApp};
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[path = "metrics/exporter.rs"]
mod exporter;
use exporter::Exporter;

/// An admin token, project `shop` with environment `staging`.
async fn world(app: &TestApp) -> String {
    app.user("root", InstanceRole::Admin).await;
    let admin = app.token("root", Scope::Write).await;
    app.project("shop").await;
    app.environment("shop", "staging", &admin).await;
    admin
}

async fn add_target(app: &TestApp, token: &str, project: &str, body: Value) -> (u16, Value) {
    app.api(
        Method::POST,
        &format!("/projects/{project}/environments/staging/metrics/targets"),
        Some(token),
        Some(body),
    )
    .await
}

/// `GET /api/v1{path}` with a bearer token: status, headers' Cache-Control, JSON body.
async fn prom(app: &TestApp, path: &str, token: &str) -> (u16, String, Value) {
    let res = plain()
        .get(format!("{}/api/v1{path}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("query");
    let status = res.status().as_u16();
    let cache = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, cache, body)
}

fn q(expr: &str) -> String {
    format!("/query?query={}", urlencode(expr))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Waits until the instant query `expr` has at least one sample; returns the result list.
async fn eventually(app: &TestApp, token: &str, expr: &str) -> Vec<Value> {
    eventually_n(app, token, expr, 1).await
}

/// Waits until the instant query `expr` has at least `n` samples.
async fn eventually_n(app: &TestApp, token: &str, expr: &str, n: usize) -> Vec<Value> {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (s, _, body) = prom(app, &q(expr), token).await;
        if s == 200 {
            if let Some(list) = body["data"]["result"].as_array().filter(|l| l.len() >= n) {
                return list.clone();
            }
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{expr} never had a sample; last answer {last}");
}

fn value(sample: &Value) -> f64 {
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

#[tokio::test]
async fn a_static_target_is_scraped_and_answers_like_prometheus() {
    let app = spawn().await;
    let admin = world(&app).await;
    let hits = Arc::new(AtomicU64::new(0));
    let ex = Exporter::counting(hits.clone()).await;
    let (s, b) = add_target(
        &app,
        &admin,
        "shop",
        json!({"job_name": "app", "address": ex.address(), "interval_ms": 1000, "timeout_ms": 900,
               "labels": [["team", "web"]]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let up = eventually(&app, &admin, r#"up{job="app"}"#).await;
    assert_eq!(value(&up[0]), 1.0, "{up:?}");
    let m = &up[0]["metric"];
    assert_eq!(m["project"], "shop");
    assert_eq!(m["environment"], "staging");
    assert_eq!(m["instance"], ex.address());
    assert_eq!(m["team"], "web");
    assert!(
        up[0]["value"][0].is_number(),
        "time is a JSON number: {up:?}"
    );

    // The counter the exporter serves, with its labels and the target's.
    let served = eventually(&app, &admin, r#"demo_requests_total{path="/a"}"#).await;
    assert_eq!(served[0]["metric"]["job"], "app");
    // A label the target exposes that Berth also sets is kept as exported_<name>.
    assert_eq!(served[0]["metric"]["exported_job"], "inner", "{served:?}");
    for name in [
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_series_added",
    ] {
        eventually(&app, &admin, &format!(r#"{name}{{job="app"}}"#)).await;
    }
    let scraped = eventually(&app, &admin, r#"scrape_samples_scraped{job="app"}"#).await;
    assert_eq!(value(&scraped[0]), 3.0, "{scraped:?}");

    // A few scrapes later the counter has a rate (the exporter adds 1 per scrape).
    tokio::time::sleep(Duration::from_secs(4)).await;
    let r = eventually(&app, &admin, r#"rate(demo_requests_total{path="/a"}[10s])"#).await;
    let rate = value(&r[0]);
    assert!(rate > 0.3 && rate < 3.0, "about 1 per second: {r:?}");
    assert!(hits.load(Ordering::Relaxed) >= 3);

    // query_range: Prometheus's matrix shape.
    let now = chrono::Utc::now().timestamp();
    let (s, cache, body) = prom(
        &app,
        &format!(
            "/query_range?query={}&start={}&end={}&step=1",
            urlencode(r#"up{job="app"}"#),
            now - 5,
            now
        ),
        &admin,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(cache, "no-store");
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["resultType"], "matrix");
    let values = body["data"]["result"][0]["values"]
        .as_array()
        .expect("values");
    assert!(values.len() >= 4, "{body}");
    assert_eq!(values[0][1], "1");

    // series, labels, label values.
    let (s, _, body) = prom(
        &app,
        &format!("/series?match[]={}", urlencode(r#"up{job="app"}"#)),
        &admin,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"][0]["__name__"], "up");
    let (_, _, body) = prom(&app, "/labels", &admin).await;
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for n in [
        "__name__",
        "environment",
        "exported_job",
        "instance",
        "job",
        "path",
        "project",
        "team",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let (_, _, body) = prom(&app, "/label/path/values", &admin).await;
    assert_eq!(body["data"], json!(["/a", "/b"]));

    // POST with a form body, as Grafana sends long queries.
    let res = plain()
        .post(format!("{}/api/v1/query", app.url))
        .bearer_auth(&admin)
        .form(&[("query", "sum(demo_requests_total)")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["resultType"], "vector", "{body}");

    // The targets list says how the target did.
    let (s, list) = app
        .api(
            Method::GET,
            "/projects/shop/environments/staging/metrics/targets",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 200, "{list}");
    let t = &list[0];
    assert_eq!(t["health"], "up", "{list}");
    assert_eq!(t["job"], "app");
    assert_eq!(t["last_samples"], 3);
}

#[tokio::test]
async fn prometheus_errors_have_prometheus_shape() {
    let app = spawn().await;
    let admin = world(&app).await;
    let (s, cache, body) = prom(&app, &q("rate(up[5m]"), &admin).await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(cache, "no-store");
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "bad_data");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    let (s, _, body) = prom(&app, "/query_range?query=up&start=10&end=5&step=1", &admin).await;
    assert_eq!(
        (s, body["errorType"].as_str()),
        (400, Some("bad_data")),
        "{body}"
    );
    let (s, _, body) = prom(
        &app,
        "/query_range?query=up&start=0&end=100000&step=1",
        &admin,
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("11,000 points"),
        "{body}"
    );
    let (s, _, body) = prom(&app, "/query?query=up&time=yesterday", &admin).await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("invalid parameter \"time\""),
        "{body}"
    );
    // Without credentials: refused in the same shape.
    let res = plain()
        .get(format!("{}/api/v1/query?query=up", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "unauthorized");
    let (s, _, body) = prom(
        &app,
        "/projects/nope/prometheus/api/v1/query?query=up",
        &admin,
    )
    .await;
    assert_eq!(
        (s, body["errorType"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
}

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
async fn the_seed_prometheus_yml_imports_and_says_what_it_ignored() {
    let app = spawn().await;
    let admin = world(&app).await;
    let seed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/seed/fixtures/monitoring/prometheus.yml"),
    )
    .expect("seed prometheus.yml");
    let res = plain()
        .post(format!(
            "{}/api/v1/projects/shop/environments/staging/metrics/import",
            app.url
        ))
        .bearer_auth(&admin)
        .header("content-type", "application/yaml")
        .body(seed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(
        view["jobs"],
        json!([
            "django-multi-site",
            "opensearch",
            "clickhouse",
            "redis",
            "nginx"
        ])
    );
    assert_eq!(view["targets"], 7);
    let unsupported: Vec<&str> = view["unsupported"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for key in ["rule_files", "alerting", "global.evaluation_interval"] {
        assert!(unsupported.contains(&key), "{key} in {unsupported:?}");
    }
    let (_, list) = app
        .api(
            Method::GET,
            "/projects/shop/environments/staging/metrics/targets",
            Some(&admin),
            None,
        )
        .await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 7);
    let os = list.iter().find(|t| t["job"] == "opensearch").unwrap();
    assert_eq!(os["url"], "http://opensearch:9200/_prometheus/metrics");
    let django: Vec<&Value> = list
        .iter()
        .filter(|t| t["job"] == "django-multi-site")
        .collect();
    assert_eq!(django.len(), 3);
    assert_eq!(django[0]["interval_ms"], 30_000);
    // Importing again replaces, not duplicates.
    let res = plain()
        .post(format!(
            "{}/api/v1/projects/shop/environments/staging/metrics/import",
            app.url
        ))
        .bearer_auth(&admin)
        .body(seed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.count("scrape_targets").await, 7);
    // Bad input changes nothing and says where.
    let res = plain()
        .post(format!(
            "{}/api/v1/projects/shop/environments/staging/metrics/import",
            app.url
        ))
        .bearer_auth(&admin)
        .body(
            "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['no-port']\n",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(app.count("scrape_targets").await, 7);
    let actions: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .map(|(a, _, _)| a)
        .collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "metrics.import").count(),
        2,
        "{actions:?}"
    );
}

#[tokio::test]
async fn slow_huge_and_vanished_targets_are_reported_and_end_their_series() {
    let app = spawn().await;
    let admin = world(&app).await;
    let slow = Exporter::slow(Duration::from_secs(5)).await;
    let huge = Exporter::huge(20 << 20).await;
    let good = Exporter::counting(Arc::new(AtomicU64::new(0))).await;
    for (job, ex) in [("slow", &slow), ("huge", &huge), ("good", &good)] {
        let (s, b) = add_target(&app, &admin, "shop", json!({"job_name": job, "address": ex.address(), "interval_ms": 1000, "timeout_ms": 500})).await;
        assert_eq!(s, 201, "{b}");
    }
    let down = eventually(&app, &admin, r#"up{job=~"slow|huge"} == 0"#).await;
    assert!(!down.is_empty());
    let mut errors = Value::Null;
    for _ in 0..50 {
        let (_, list) = app
            .api(
                Method::GET,
                "/projects/shop/environments/staging/metrics/targets",
                Some(&admin),
                None,
            )
            .await;
        let err = |job: &str| {
            list.as_array()
                .and_then(|l| l.iter().find(|t| t["job"] == job))
                .and_then(|t| t["last_error"].as_str())
                .unwrap_or("")
                .to_string()
        };
        if !err("slow").is_empty() && !err("huge").is_empty() {
            assert!(
                err("slow").contains("timeout") || err("slow").contains("deadline"),
                "{list}"
            );
            assert!(err("huge").contains("limit"), "{list}");
            errors = list;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!errors.is_null(), "both targets report why they are down");
    // The good target was scraped all along, then removed: its series end (stale), so an
    // instant query no longer finds them.
    eventually(&app, &admin, r#"up{job="good"} == 1"#).await;
    let (_, list) = app
        .api(
            Method::GET,
            "/projects/shop/environments/staging/metrics/targets",
            Some(&admin),
            None,
        )
        .await;
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["job"] == "good")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, _) = app
        .api(
            Method::DELETE,
            &format!("/projects/shop/environments/staging/metrics/targets/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let mut gone = false;
    for _ in 0..50 {
        let (_, _, body) = prom(&app, &q(r#"up{job="good"}"#), &admin).await;
        if body["data"]["result"] == json!([]) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(gone, "a removed target's series are marked stale");
    // Still there when asked for the past.
    let (_, _, body) = prom(&app, &q(r#"max_over_time(up{job="good"}[1m])"#), &admin).await;
    assert_eq!(body["data"]["result"][0]["value"][1], "1", "{body}");
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
