//! A `prometheus.yml` imported into an environment: the seed's file, its jobs' static
//! targets, and what Berth does not act on listed back.
use super::super::support::{plain, spawn};
use super::{targets, world};
use serde_json::{json, Value};

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
    let (_, list) = targets(&app, &admin).await;
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
