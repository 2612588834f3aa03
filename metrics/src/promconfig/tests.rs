use super::*;

mod durations;
mod errors;

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/seed/fixtures/monitoring/prometheus.yml"
);

fn parse(yaml: &str) -> ImportedConfig {
    parse_prometheus_yml(yaml).expect("parses")
}

fn job<'a>(config: &'a ImportedConfig, name: &str) -> &'a ScrapeJob {
    let found = config.jobs.iter().find(|j| j.job_name == name);
    found.unwrap_or_else(|| panic!("no job {name}"))
}

fn addresses(job: &ScrapeJob) -> Vec<&str> {
    job.targets.iter().map(|t| t.address.as_str()).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let owned = list.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    owned.collect()
}

#[test]
fn the_seed_prometheus_yml_imports_five_jobs_and_names_what_it_ignored() {
    let text = std::fs::read_to_string(SEED).expect("the seed's prometheus.yml");
    let config = parse(&text);
    let names: Vec<&str> = config.jobs.iter().map(|j| j.job_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "django-multi-site",
            "opensearch",
            "clickhouse",
            "redis",
            "nginx"
        ]
    );
    let django = job(&config, "django-multi-site");
    assert_eq!(addresses(django), ["app1:8000", "app2:8000", "app3:8000"]);
    assert_eq!((django.interval_ms, django.timeout_ms), (30_000, 10_000));
    assert_eq!(
        job(&config, "opensearch").metrics_path,
        "/_prometheus/metrics"
    );
    assert_eq!(addresses(job(&config, "clickhouse")), ["clickhouse:9363"]);
    assert_eq!(addresses(job(&config, "redis")), ["redis-exporter:9121"]);
    let nginx = job(&config, "nginx");
    assert_eq!(addresses(nginx), ["nginx-exporter:9113"]);
    assert_eq!((nginx.interval_ms, nginx.timeout_ms), (15_000, 10_000));
    assert_eq!(nginx.metrics_path, "/metrics");
    assert_eq!(
        config.unsupported,
        ["global.evaluation_interval", "rule_files", "alerting"]
    );
}

#[test]
fn a_bare_job_gets_prometheus_defaults() {
    let config = parse("scrape_configs:\n  - job_name: app\n");
    let app = &config.jobs[0];
    assert_eq!(app.scheme, "http");
    assert_eq!(app.metrics_path, "/metrics");
    assert_eq!((app.interval_ms, app.timeout_ms), (60_000, 10_000));
    assert!(!app.honor_labels && app.honor_timestamps);
    assert_eq!((app.sample_limit, app.label_limit), (None, None));
    assert!(app.targets.is_empty() && app.params.is_empty());
    assert!(config.unsupported.is_empty());
}

#[test]
fn an_empty_file_is_an_empty_config() {
    assert_eq!(parse(""), ImportedConfig::default());
    assert_eq!(parse("scrape_configs:\n"), ImportedConfig::default());
}

#[test]
fn every_supported_field_is_read() {
    let config = parse(
        "scrape_configs:
  - job_name: blackbox
    scheme: https
    metrics_path: /probe
    scrape_interval: 1m30s
    scrape_timeout: 500ms
    honor_labels: true
    honor_timestamps: false
    sample_limit: 5000
    label_limit: 30
    params:
      module: [http_2xx, tcp]
      debug: ['true']
    static_configs:
      - targets: ['a.example:443', '[2001:db8::1]:9115']
        labels: {zone: eu, env: prod}
      - targets: [b.example:8443]
",
    );
    let j = &config.jobs[0];
    assert_eq!(
        (j.scheme.as_str(), j.metrics_path.as_str()),
        ("https", "/probe")
    );
    assert_eq!((j.interval_ms, j.timeout_ms), (90_000, 500));
    assert!(j.honor_labels && !j.honor_timestamps);
    assert_eq!((j.sample_limit, j.label_limit), (Some(5000), Some(30)));
    let params = [("module", "http_2xx"), ("module", "tcp"), ("debug", "true")];
    assert_eq!(j.params, pairs(&params));
    let labelled = pairs(&[("env", "prod"), ("zone", "eu")]);
    assert_eq!(
        j.targets,
        [
            StaticTarget {
                address: "a.example:443".into(),
                labels: labelled.clone()
            },
            StaticTarget {
                address: "[2001:db8::1]:9115".into(),
                labels: labelled
            },
            StaticTarget {
                address: "b.example:8443".into(),
                labels: vec![]
            },
        ]
    );
}

#[test]
fn global_interval_timeout_and_limits_are_the_jobs_defaults() {
    let config = parse(
        "global: {scrape_interval: 20s, scrape_timeout: 7s, sample_limit: 100, label_limit: 9}
scrape_configs:
  - job_name: inherits
  - job_name: overrides
    scrape_interval: 1m
    scrape_timeout: 30s
    sample_limit: 7
  - job_name: zero_means_unset
    scrape_interval: 0s
    label_limit: 0
",
    );
    let got = |name| {
        let j = job(&config, name);
        (j.interval_ms, j.timeout_ms, j.sample_limit, j.label_limit)
    };
    assert_eq!(got("inherits"), (20_000, 7_000, Some(100), Some(9)));
    assert_eq!(got("overrides"), (60_000, 30_000, Some(7), Some(9)));
    assert_eq!(got("zero_means_unset"), (20_000, 7_000, Some(100), Some(9)));
}

#[test]
fn an_inherited_timeout_longer_than_the_interval_is_cut_to_it() {
    let config = parse(
        "global: {scrape_interval: 5s}
scrape_configs:
  - job_name: fast
    scrape_interval: 2s
",
    );
    assert_eq!(
        (config.jobs[0].interval_ms, config.jobs[0].timeout_ms),
        (2_000, 2_000)
    );
    let global_only = parse("global: {scrape_interval: 5s}\nscrape_configs: [{job_name: a}]");
    assert_eq!(global_only.jobs[0].timeout_ms, 5_000);
}

#[test]
fn everything_berth_does_not_scrape_is_listed_by_key_path() {
    let config = parse(
        "global:
  scrape_interval: 15s
  external_labels: {region: eu}
  query_log_file: /tmp/q.log
remote_write: [{url: 'http://remote/api/v1/write'}]
scrape_configs:
  - job_name: a
    relabel_configs: [{action: drop}]
    static_configs:
      - targets: ['a:1']
        weird_key: 1
  - job_name: b
    kubernetes_sd_configs: [{role: pod}]
    metric_relabel_configs: []
    tls_config: {insecure_skip_verify: true}
    follow_redirects: false
storage: {tsdb: {out_of_order_time_window: 5m}}
",
    );
    assert_eq!(
        config.unsupported,
        [
            "global.external_labels",
            "global.query_log_file",
            "remote_write",
            "scrape_configs[0].relabel_configs",
            "scrape_configs[0].static_configs[0].weird_key",
            "scrape_configs[1].kubernetes_sd_configs",
            "scrape_configs[1].metric_relabel_configs",
            "scrape_configs[1].tls_config",
            "scrape_configs[1].follow_redirects",
            "storage",
        ]
    );
    assert_eq!(addresses(&config.jobs[0]), ["a:1"]);
}

#[test]
fn credentials_in_the_file_are_listed_by_path_only() {
    let config = parse(
        "scrape_configs:
  - job_name: secured
    basic_auth: {username: admin, password: hunter2-basic}
    authorization: {type: Bearer, credentials: hunter2-authz}
    bearer_token: hunter2-bearer
    static_configs: [{targets: ['s:9100']}]
",
    );
    let listed = config.unsupported.join("\n");
    assert_eq!(
        config.unsupported,
        [
            "scrape_configs[0].basic_auth",
            "scrape_configs[0].authorization",
            "scrape_configs[0].bearer_token",
        ]
    );
    assert!(!listed.contains("hunter2") && !format!("{config:?}").contains("hunter2"));
}

#[test]
fn anchors_and_merge_keys_are_followed() {
    let config = parse(
        "scrape_configs:
  - &base
    job_name: one
    scrape_interval: 10s
    static_configs: [{targets: ['x:1']}]
  - <<: *base
    job_name: two
",
    );
    let two = job(&config, "two");
    assert_eq!((two.interval_ms, addresses(two)), (10_000, vec!["x:1"]));
}
