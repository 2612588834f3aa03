use super::super::*;

fn refused(yaml: &str) -> ConfigError {
    parse_prometheus_yml(yaml).expect_err("refused")
}

fn one_job(body: &str) -> String {
    format!("scrape_configs:\n  - job_name: j\n{body}")
}

fn target_error(target: &str) -> ConfigError {
    refused(&one_job(&format!(
        "    static_configs: [{{targets: ['ok:1', '{target}']}}]\n"
    )))
}

#[test]
fn a_duplicate_job_name_names_the_second_entry_and_the_first() {
    let err = refused("scrape_configs:\n  - job_name: a\n  - job_name: b\n  - job_name: a\n");
    assert_eq!(err.path, "scrape_configs[2].job_name");
    let name = "a".to_string();
    assert_eq!(err.problem, Problem::DuplicateJobName { name, first: 0 });
    assert!(err.to_string().contains("scrape_configs[0]"), "{err}");
}

#[test]
fn a_job_without_a_name_is_refused() {
    let err = refused("scrape_configs:\n  - job_name: a\n  - static_configs: []\n");
    assert_eq!(
        (err.path.as_str(), err.problem),
        ("scrape_configs[1]", Problem::MissingJobName)
    );
    let empty = refused("scrape_configs:\n  - job_name: ''\n");
    assert_eq!(empty.problem, Problem::MissingJobName);
}

#[test]
fn an_empty_scrape_config_entry_is_refused() {
    let err = refused("scrape_configs:\n  - job_name: a\n  -\n");
    assert_eq!(
        (err.path.as_str(), err.problem),
        ("scrape_configs[1]", Problem::EmptyScrapeConfig)
    );
}

#[test]
fn targets_must_be_host_and_port() {
    for bad in [
        "app",
        "app:",
        ":9100",
        "app:0",
        "app:65536",
        "app:http",
        "app:+80",
        "http://app:9100",
        "app:9100/metrics",
        "::1:9100",
        "[::1]",
        "[not-ip]:80",
        "a b:80",
        "app:9100:1",
    ] {
        let err = target_error(bad);
        assert_eq!(
            err.path, "scrape_configs[0].static_configs[0].targets[1]",
            "{bad}"
        );
        assert!(
            matches!(err.problem, Problem::BadTarget { .. }),
            "{bad}: {err:?}"
        );
    }
    for good in [
        "app:1",
        "10.0.0.1:65535",
        "[::1]:9100",
        "redis_exporter.local:9121",
    ] {
        let yaml = one_job(&format!("    static_configs: [{{targets: ['{good}']}}]\n"));
        assert!(parse_prometheus_yml(&yaml).is_ok(), "{good}");
    }
}

#[test]
fn a_target_with_userinfo_is_refused_without_echoing_it() {
    let err = target_error("admin:s3cret-pw@app:9100");
    let shown = format!("{err} {err:?}");
    assert!(matches!(
        err.problem,
        Problem::BadTarget { target: None, .. }
    ));
    assert!(
        !shown.contains("s3cret") && !shown.contains("admin"),
        "{shown}"
    );
}

#[test]
fn errors_after_credentials_do_not_echo_them() {
    let err = refused(&one_job(
        "    basic_auth: {username: u, password: s3cret-pw}
    authorization: {credentials: s3cret-token}
    bearer_token: s3cret-bearer
    scrape_interval: soon
",
    ));
    assert_eq!(err.path, "scrape_configs[0].scrape_interval");
    assert!(!format!("{err} {err:?}").contains("s3cret"), "{err}");
}

#[test]
fn a_bad_duration_names_its_key() {
    let err = refused(&one_job("    scrape_timeout: 1.5s\n"));
    assert_eq!(err.path, "scrape_configs[0].scrape_timeout");
    assert!(matches!(err.problem, Problem::BadDuration { ref value, .. } if value == "1.5s"));
    let global = refused("global: {scrape_interval: 1 minute}\n");
    assert_eq!(global.path, "global.scrape_interval");
}

#[test]
fn a_timeout_over_the_interval_is_refused_as_prometheus_does() {
    let err = refused(&one_job(
        "    scrape_interval: 10s\n    scrape_timeout: 11s\n",
    ));
    assert_eq!(err.path, "scrape_configs[0].scrape_timeout");
    let (timeout_ms, interval_ms) = (11_000, 10_000);
    let problem = Problem::TimeoutOverInterval {
        timeout_ms,
        interval_ms,
    };
    assert_eq!(err.problem, problem);
    assert!(
        err.to_string()
            .contains("(11s) is greater than scrape_interval (10s)"),
        "{err}"
    );
    let global = refused("global: {scrape_interval: 5s, scrape_timeout: 6s}\n");
    assert_eq!(global.path, "global.scrape_timeout");
    // The global timeout against a job's explicit one: over the global interval is fine
    // as long as it is within the job's.
    let ok = "global: {scrape_interval: 5s}\n\
              scrape_configs: [{job_name: j, scrape_interval: 1m, scrape_timeout: 30s}]";
    assert!(parse_prometheus_yml(ok).is_ok());
}

#[test]
fn label_names_must_be_prometheus_names_and_not_reserved() {
    for (name, reserved) in [
        ("1abc", false),
        ("a-b", false),
        ("é", false),
        ("__meta_x", true),
    ] {
        let yaml = one_job(&format!(
            "    static_configs: [{{targets: ['a:1'], labels: {{'{name}': v}}}}]\n"
        ));
        let err = refused(&yaml);
        let path = format!("scrape_configs[0].static_configs[0].labels.{name}");
        assert_eq!(err.path, path);
        let expected = match reserved {
            true => Problem::ReservedLabelName { name: name.into() },
            false => Problem::BadLabelName { name: name.into() },
        };
        assert_eq!(err.problem, expected);
    }
}

#[test]
fn scheme_and_metrics_path_are_checked() {
    let err = refused(&one_job("    scheme: ftp\n"));
    assert_eq!(
        (err.path.as_str(), err.problem),
        ("scrape_configs[0].scheme", Problem::BadScheme("ftp".into()))
    );
    let url = "https://u:pw-in-path@host/metrics";
    let err = refused(&one_job(&format!("    metrics_path: '{url}'\n")));
    assert_eq!(err.problem, Problem::BadMetricsPath);
    assert!(!err.to_string().contains("pw-in-path"));
}

#[test]
fn wrong_shapes_name_where_they_are() {
    for (yaml, path) in [
        ("scrape_configs: {job_name: a}\n", "scrape_configs"),
        ("- a\n- b\n", ""),
        ("global: [1]\n", "global"),
        (
            &one_job("    static_configs: [{targets: 'a:1'}]\n"),
            "scrape_configs[0].static_configs[0].targets",
        ),
        (
            &one_job("    honor_labels: maybe\n"),
            "scrape_configs[0].honor_labels",
        ),
        (
            &one_job("    sample_limit: -1\n"),
            "scrape_configs[0].sample_limit",
        ),
        (
            &one_job("    params: {module: http_2xx}\n"),
            "scrape_configs[0].params.module",
        ),
        (
            "scrape_configs:\n  - job_name: [x]\n",
            "scrape_configs[0].job_name",
        ),
    ] {
        let err = refused(yaml);
        assert_eq!(err.path, path, "{yaml}");
        assert!(
            matches!(err.problem, Problem::WrongType(_)),
            "{yaml}: {err:?}"
        );
    }
}

#[test]
fn broken_yaml_is_refused_as_a_whole() {
    let err = refused("scrape_configs:\n  - job_name: [unclosed\n");
    assert_eq!(err.path, "");
    assert!(matches!(err.problem, Problem::Yaml(_)), "{err:?}");
}

#[test]
fn yaml_errors_near_credentials_do_not_echo_them() {
    for yaml in [
        one_job("    basic_auth: {password: \"s3cret-pw\n"),
        one_job("    basic_auth:\n      password: s3cret-1\n      password: s3cret-2\n"),
        "s3cret-document".into(),
    ] {
        let err = refused(&yaml);
        assert!(!format!("{err} {err:?}").contains("s3cret"), "{err}");
    }
}
