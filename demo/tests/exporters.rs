//! `DEMO_EXPORTERS`: node_exporter and elasticsearch_exporter look-alike series, as functions
//! of the time since the start.

#[path = "support/spawn.rs"]
mod spawn;

use berth_demo::config::Config;
use berth_demo::exporters::elasticsearch::{self, health, HEALTH_CYCLE, INDICES};
use berth_demo::exporters::node::{self, cpu_seconds, fs_avail_bytes, FILESYSTEMS};
use berth_demo::exporters::Exporters;
use spawn::{body, config, start};
use std::time::Duration;

fn at(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn rendered(exporters: Exporters, secs: u64) -> String {
    let mut out = String::new();
    exporters.render(&mut out, at(secs));
    out
}

fn memory_used_percent(secs: u64) -> f64 {
    let available = node::mem_available_bytes(at(secs)) as f64;
    (1.0 - available / node::MEM_TOTAL_BYTES as f64) * 100.0
}

fn disk_used_percent(mountpoint: &str, secs: u64) -> f64 {
    let fs = FILESYSTEMS
        .iter()
        .find(|f| f.mountpoint == mountpoint)
        .unwrap();
    (1.0 - fs_avail_bytes(fs, at(secs)) as f64 / fs.size_bytes as f64) * 100.0
}

#[test]
fn memory_use_crosses_the_seeds_85_percent_for_longer_than_its_for_clause() {
    assert!((memory_used_percent(0) - 70.0).abs() < 0.1);
    let high: Vec<u64> = (0..1200)
        .filter(|&s| memory_used_percent(s) > 85.0)
        .collect();
    let (first, last) = (high[0], high[high.len() - 1]);
    assert_eq!(high.len() as u64, last - first + 1, "one spell per cycle");
    assert!(last - first > 300, "longer than for: 5m ({first}..{last})");
    assert!(
        memory_used_percent(900) < 46.0,
        "the trough, three quarters in"
    );
}

#[test]
fn the_data_disk_fills_past_80_percent_then_is_cleaned_up() {
    assert!(disk_used_percent("/data", 100) < 80.0);
    assert!(disk_used_percent("/data", 800) > 80.0);
    assert!(
        disk_used_percent("/data", 900) < 71.0,
        "cleaned at the cycle's end"
    );
    assert!((disk_used_percent("/", 450) - 42.0).abs() < 1.5);
    for secs in (0..3600).step_by(7) {
        for fs in &FILESYSTEMS {
            let avail = fs_avail_bytes(fs, at(secs));
            assert!(
                avail < fs.size_bytes && avail.is_multiple_of(4096),
                "{}",
                fs.mountpoint
            );
        }
    }
}

#[test]
fn cpu_counters_only_grow_and_add_up_to_the_machines_uptime() {
    for cpu in 0..node::CPUS {
        let mut before = cpu_seconds(cpu, at(0));
        for secs in 1..1800 {
            let now = cpu_seconds(cpu, at(secs));
            assert!(
                now.iter().zip(before).all(|(n, b)| *n > b),
                "cpu {cpu} at {secs}s"
            );
            let total: f64 = now.iter().sum();
            assert!((total - (86_400.0 + secs as f64)).abs() < 1e-6);
            before = now;
        }
    }
}

#[test]
fn the_cluster_starts_yellow_and_goes_through_green_and_red_every_ten_minutes() {
    let colors: Vec<&str> = [0, 179, 180, 359, 360, 419, 420, 509, 510, 599, 600]
        .map(|s| health(at(s)))
        .into();
    let expected = [
        "yellow", "yellow", "green", "green", "red", "red", "yellow", "yellow", "green", "green",
        "yellow",
    ];
    assert_eq!(colors, expected);
    assert_eq!(HEALTH_CYCLE.last().unwrap().0, 600);
}

#[test]
fn exactly_one_health_color_is_1_at_a_time() {
    for secs in [0, 200, 400] {
        let text = rendered(Exporters::ALL, secs);
        let health: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("elasticsearch_cluster_health_status{"))
            .collect();
        assert_eq!(health.len(), 3);
        let on = format!("color=\"{}\"}} 1", elasticsearch::health(at(secs)));
        assert_eq!(health.iter().filter(|l| l.ends_with(" 1")).count(), 1);
        assert!(health.iter().any(|l| l.ends_with(&on)), "{text}");
    }
}

#[test]
fn index_docs_grow_and_the_news_indices_match_the_dashboards_regex() {
    let news: Vec<&str> = INDICES
        .iter()
        .map(|(index, ..)| *index)
        .filter(|i| i.starts_with("news_") && i.contains("_articles"))
        .collect();
    assert_eq!(news.len(), 4, "one per seed site; .kibana_1 stays out");
    for (_, start, per_sec) in INDICES.iter().filter(|(_, _, rate)| *rate > 0.0) {
        let docs = |s| elasticsearch::docs(*start, *per_sec, at(s));
        assert!(docs(0) == *start && docs(60) > docs(0) && docs(3600) > docs(60));
    }
}

#[test]
fn the_same_moment_renders_the_same_text() {
    assert_eq!(
        rendered(Exporters::ALL, 1234),
        rendered(Exporters::ALL, 1234)
    );
    assert_ne!(
        rendered(Exporters::ALL, 1234),
        rendered(Exporters::ALL, 1294)
    );
}

#[test]
fn each_exporter_renders_only_its_own_families() {
    let only_node = Exporters {
        node: true,
        ..Exporters::default()
    };
    let text = rendered(only_node, 10);
    assert!(text.contains("node_memory_MemTotal_bytes ") && !text.contains("elasticsearch_"));
    assert!(rendered(Exporters::default(), 10).is_empty());
}

#[test]
fn the_served_metrics_include_the_exporters_only_when_configured() {
    let names = [
        "node_memory_MemAvailable_bytes ",
        "node_memory_MemTotal_bytes ",
        "node_filesystem_avail_bytes{device=\"/dev/sdb1\",fstype=\"xfs\",mountpoint=\"/data\"} ",
        "node_filesystem_size_bytes{device=\"/dev/sda1\",fstype=\"ext4\",mountpoint=\"/\"} ",
        "node_cpu_seconds_total{cpu=\"1\",mode=\"user\"} ",
        "elasticsearch_cluster_health_status{cluster=\"multi-site-cluster\",color=\"red\"} ",
        "elasticsearch_indices_docs{cluster=\"multi-site-cluster\",index=\"news_localhost_articles\"} ",
    ];
    let server = start(Config {
        exporters: Exporters::ALL,
        ..config()
    });
    let text = body(&server.get("a", "/metrics"));
    server.stop();
    for name in names {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name}\n{text}");
    }
    assert!(
        text.contains("# TYPE django_requests_total counter\n"),
        "the demo's own series stay"
    );
    let plain = start(config());
    let text = body(&plain.get("a", "/metrics"));
    plain.stop();
    assert!(!text.contains("node_") && !text.contains("elasticsearch_"));
}

/// The value of the unlabelled sample `name` in an exposition.
fn sample(text: &str, name: &str) -> f64 {
    let line = text.lines().find(|l| l.starts_with(&format!("{name} ")));
    line.and_then(|l| l.split(' ').nth(1)?.parse().ok())
        .unwrap_or_else(|| panic!("{name} in {text}"))
}

#[test]
fn a_clock_offset_starts_the_exporters_that_far_into_their_cycles() {
    let served = |offset: u64| {
        let server = start(Config {
            exporters: Exporters::ALL,
            clock_offset: at(offset),
            ..config()
        });
        let text = body(&server.get("a", "/metrics"));
        server.stop();
        text
    };
    let used = |text: &str| {
        let total = sample(text, "node_memory_MemTotal_bytes");
        (1.0 - sample(text, "node_memory_MemAvailable_bytes") / total) * 100.0
    };
    let (fresh, later) = (served(0), served(300));
    assert!(
        used(&fresh) < 85.0 && used(&later) > 85.0,
        "memory alerts 5 min in"
    );
    let red = r#"elasticsearch_cluster_health_status{cluster="multi-site-cluster",color="red"} 1"#;
    assert!(
        !fresh.contains(red) && served(400).contains(red),
        "red 6 to 7 min in"
    );
}
