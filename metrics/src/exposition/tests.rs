use super::*;
use berth_demo::metrics::{Metrics, Observation};
use std::time::Duration;

fn prom(body: &str) -> Exposition {
    parse(body, Format::Prometheus, 10_000).expect("parses")
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_demo_apps_own_exposition_reads_back_with_its_escaped_hosts() {
    let m = Metrics::default();
    let odd = "we\"ird\\host\nname";
    for (site, status, ms) in [
        ("shop.example", 200, 3),
        ("shop.example", 500, 1200),
        (odd, 404, 40),
    ] {
        m.observe(&Observation {
            site,
            method: "GET",
            view: "home",
            status,
            duration: Duration::from_millis(ms),
        });
    }
    let e = prom(&m.render("1.2.3", true));
    assert_eq!(e.type_of("django_requests_total"), MetricType::Counter);
    assert_eq!(
        e.type_of("django_request_duration_seconds_bucket"),
        MetricType::Histogram
    );
    let total = |site: &str| {
        e.samples
            .iter()
            .filter(|s| s.name == "django_requests_total")
            .filter(|s| s.labels.iter().any(|(k, v)| k == "site" && v == site))
            .map(|s| s.value)
            .sum::<f64>()
    };
    assert_eq!(total("shop.example"), 2.0);
    assert_eq!(total(odd), 1.0, "the escaped host comes back as it was");
    let inf = e
        .samples
        .iter()
        .find(|s| {
            s.name == "django_request_duration_seconds_bucket"
                && s.labels.contains(&("le".into(), "+Inf".into()))
                && s.labels.contains(&("site".into(), "shop.example".into()))
        })
        .expect("+Inf bucket");
    assert_eq!(inf.value, 2.0);
    for s in &e.samples {
        assert!(
            s.labels.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted: {s:?}"
        );
    }
}

#[test]
fn values_timestamps_help_and_types_as_prometheus_reads_them() {
    let e = prom(
        "# HELP http_requests_total The total number of HTTP requests.\n\
         # TYPE http_requests_total counter\n\
         http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
         http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n\
         \n\
         # Escaping in label values:\n\
         msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n\
         metric_without_timestamp_and_labels 12.47\n\
         something_weird{problem=\"division by zero\"} +Inf -3982045\n\
         nan_value NaN\n\
         neg -Inf\n\
         # HELP help_escapes line\\none \\\\ two\n",
    );
    assert_eq!(e.samples.len(), 7);
    let s = &e.samples[0];
    assert_eq!(s.labels, labels(&[("code", "200"), ("method", "post")]));
    assert_eq!((s.value, s.timestamp_ms), (1027.0, Some(1_395_066_363_000)));
    assert_eq!(e.samples[1].value, 3.0);
    assert_eq!(
        e.samples[2].labels,
        labels(&[
            ("error", "Cannot find file:\n\"FILE.TXT\""),
            ("path", "C:\\DIR\\FILE.TXT")
        ])
    );
    assert_eq!(e.samples[3].labels, vec![]);
    assert_eq!(e.samples[3].timestamp_ms, None);
    assert_eq!(e.samples[4].value, f64::INFINITY);
    assert_eq!(e.samples[4].timestamp_ms, Some(-3_982_045));
    assert!(e.samples[5].value.is_nan());
    assert_eq!(e.samples[6].value, f64::NEG_INFINITY);
    assert_eq!(e.help["help_escapes"], "line\none \\ two");
    assert_eq!(e.type_of("http_requests_total"), MetricType::Counter);
    assert_eq!(e.type_of("neg"), MetricType::Unknown);
}

#[test]
fn openmetrics_timestamps_are_seconds_exemplars_are_skipped_and_eof_is_required() {
    let body = "# TYPE foo counter\n\
                # UNIT foo seconds\n\
                foo_total{a=\"b\"} 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n\
                foo_created{a=\"b\"} 1520430000.123\n\
                # EOF\n";
    let e = parse(body, Format::OpenMetrics, 100).unwrap();
    assert_eq!(e.samples[0].timestamp_ms, Some(1_520_879_607_789));
    assert_eq!(e.samples[0].value, 17.0);
    assert_eq!(e.type_of("foo_total"), MetricType::Counter);
    assert_eq!(e.type_of("foo_created"), MetricType::Counter);
    assert_eq!(
        parse("foo 1\n", Format::OpenMetrics, 100),
        Err(ParseError::MissingEof)
    );
    assert!(matches!(
        parse("# EOF\nfoo 1\n", Format::OpenMetrics, 100),
        Err(ParseError::Syntax { line: 2, .. })
    ));
    // A Prometheus-format body does not know `# EOF` and ignores it as a comment.
    assert_eq!(
        parse("# EOF\nfoo 1\n", Format::Prometheus, 100)
            .unwrap()
            .samples
            .len(),
        1
    );
}

#[test]
fn the_content_type_decides_the_grammar() {
    assert_eq!(
        Format::from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Format::OpenMetrics
    );
    assert_eq!(
        Format::from_content_type("text/plain; version=0.0.4"),
        Format::Prometheus
    );
    assert_eq!(Format::from_content_type(""), Format::Prometheus);
}

#[test]
fn a_body_over_the_limit_is_refused_whole() {
    let body: String = (0..11).map(|i| format!("m{{i=\"{i}\"}} 1\n")).collect();
    assert_eq!(
        parse(&body, Format::Prometheus, 10),
        Err(ParseError::TooManySamples(10))
    );
    assert_eq!(
        parse(&body, Format::Prometheus, 11).unwrap().samples.len(),
        11
    );
}

#[test]
fn malformed_lines_name_their_line_and_never_yield_a_sample() {
    for (body, bad_line) in [
        ("ok 1\n1bad 2\n", 2),
        ("m{a=\"1\" 2\n", 1),
        ("m{a=\"1\",a=\"2\"} 2\n", 1),
        ("m{__name__=\"x\"} 2\n", 1),
        ("m{a=\"\\q\"} 2\n", 1),
        ("m{a=\"1\"}2\n", 1),
        ("m 1 2 3\n", 1),
        ("m one\n", 1),
        ("m 1 1.5\n", 1),
        ("m\n", 1),
        ("# TYPE m counter\n# TYPE m gauge\n", 2),
        ("# TYPE m histogramm\n", 1),
        ("m{a=\"unterminated} 1\n", 1),
    ] {
        match parse(body, Format::Prometheus, 100) {
            Err(ParseError::Syntax { line, .. }) => assert_eq!(line, bad_line, "{body:?}"),
            other => panic!("{body:?} gave {other:?}"),
        }
    }
}

#[test]
fn trailing_commas_blanks_and_crlf_are_accepted() {
    let e = prom("m{ a = \"1\" , b=\"2\", } 5\r\n\tother 1\r\n");
    // Blanks before a line's first token are skipped, as Prometheus does.
    assert_eq!(e.samples.len(), 2);
    assert_eq!(e.samples[1].name, "other");
    assert_eq!(e.samples[0].labels, labels(&[("a", "1"), ("b", "2")]));
}

#[test]
fn the_demo_apps_imitated_exporters_read_back_with_what_the_seed_rules_ask_for() {
    // 400 s in: memory above the seed's 85 %, the cluster red, /data still under 80 %.
    let mut body = Metrics::default().render("1.2.3", true);
    berth_demo::exporters::Exporters::ALL.render(&mut body, Duration::from_secs(400));
    let e = prom(&body);
    let value = |name: &str, pairs: &[(&str, &str)]| {
        let found = e
            .samples
            .iter()
            .find(|s| s.name == name && s.labels == labels(pairs));
        found.unwrap_or_else(|| panic!("{name} {pairs:?}")).value
    };
    for (name, kind) in [
        ("node_memory_MemAvailable_bytes", MetricType::Gauge),
        ("node_filesystem_size_bytes", MetricType::Gauge),
        ("node_cpu_seconds_total", MetricType::Counter),
        ("elasticsearch_cluster_health_status", MetricType::Gauge),
        ("elasticsearch_indices_docs", MetricType::Gauge),
    ] {
        assert_eq!(e.type_of(name), kind, "{name}");
    }
    let memory =
        value("node_memory_MemAvailable_bytes", &[]) / value("node_memory_MemTotal_bytes", &[]);
    assert!((1.0 - memory) * 100.0 > 85.0, "{memory}");
    let data = [
        ("device", "/dev/sdb1"),
        ("fstype", "xfs"),
        ("mountpoint", "/data"),
    ];
    let disk =
        value("node_filesystem_avail_bytes", &data) / value("node_filesystem_size_bytes", &data);
    assert!((1.0 - disk) * 100.0 < 80.0, "{disk}");
    let health = |color| {
        value(
            "elasticsearch_cluster_health_status",
            &[("cluster", "multi-site-cluster"), ("color", color)],
        )
    };
    assert_eq!(
        (health("green"), health("yellow"), health("red")),
        (0.0, 0.0, 1.0)
    );
    let cpu = e
        .samples
        .iter()
        .filter(|s| s.name == "node_cpu_seconds_total");
    assert_eq!(cpu.count(), 8, "2 CPUs x idle, iowait, system, user");
    // The seed dashboard's table: elasticsearch_indices_docs{index=~"news_.*_articles.*"}.
    let dashboard = regex::Regex::new("^(?:news_.*_articles.*)$").unwrap();
    let news: Vec<f64> = e
        .samples
        .iter()
        .filter(|s| s.name == "elasticsearch_indices_docs")
        .filter(|s| {
            s.labels
                .iter()
                .any(|(k, v)| k == "index" && dashboard.is_match(v))
        })
        .map(|s| s.value)
        .collect();
    assert_eq!(news.len(), 4);
    assert!(news.iter().all(|&docs| docs > 0.0));
}
