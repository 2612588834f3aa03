//! Container metrics from the Docker engine, for every container Berth runs in an
//! environment, under cAdvisor's names where one exists: `container_cpu_usage_seconds_total`,
//! `container_memory_working_set_bytes`, `container_spec_memory_limit_bytes`,
//! `container_network_receive_bytes_total`, `container_network_transmit_bytes_total`; and
//! `berth_container_restarts_total` (cAdvisor has none). Each series carries the container's
//! `name`, `service`, `replica`, `release` and `image`. Read like a scrape (the text is
//! parsed and stored by the same code), so staleness and reporting work the same.
use super::super::deploy::rollout::{LABEL_RELEASE, LABEL_REPLICA, LABEL_SERVICE};
use super::super::deploy::{connect, plan, rollout};
use super::super::AppState;
use super::scrape::Fetched;
use engine::{ContainerInfo, Usage};
use futures_util::StreamExt;
use std::fmt::Write;
use std::time::Duration;

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(c: &ContainerInfo) -> String {
    let get = |k: &str| c.labels.get(k).map(String::as_str).unwrap_or("");
    format!(
        "name=\"{}\",service=\"{}\",replica=\"{}\",release=\"{}\",image=\"{}\"",
        escape(c.name.trim_start_matches('/')),
        escape(get(LABEL_SERVICE)),
        escape(get(LABEL_REPLICA)),
        escape(get(LABEL_RELEASE)),
        escape(&c.image),
    )
}

/// The exposition text for `containers` and their readings.
pub fn render(readings: &[(ContainerInfo, Usage)]) -> String {
    type Field = fn(&ContainerInfo, &Usage) -> f64;
    let families: [(&str, &str, &str, Field); 6] = [
        (
            "container_cpu_usage_seconds_total",
            "counter",
            "CPU time used, in seconds.",
            |_, u| u.cpu_seconds,
        ),
        (
            "container_memory_working_set_bytes",
            "gauge",
            "Memory in use, page cache that can be reclaimed left out.",
            |_, u| u.memory_working_set as f64,
        ),
        (
            "container_spec_memory_limit_bytes",
            "gauge",
            "The container's memory limit (the host's memory without one).",
            |_, u| u.memory_limit as f64,
        ),
        (
            "container_network_receive_bytes_total",
            "counter",
            "Bytes received on every network.",
            |_, u| u.rx_bytes as f64,
        ),
        (
            "container_network_transmit_bytes_total",
            "counter",
            "Bytes sent on every network.",
            |_, u| u.tx_bytes as f64,
        ),
        (
            "berth_container_restarts_total",
            "counter",
            "How often Docker restarted the container.",
            |c, _| c.restart_count as f64,
        ),
    ];
    let mut out = String::new();
    for (name, kind, help, field) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (c, u) in readings {
            let _ = writeln!(out, "{name}{{{}}} {}", labels(c), field(c, u));
        }
    }
    out
}

/// Reads every running container of environment `env_id` (several at a time).
pub async fn fetch(state: &AppState, env_id: i64, timeout: Duration) -> Fetched {
    let work = async {
        let env = plan::env_info(&state.db, env_id)
            .await
            .map_err(|e| e.to_string())?;
        let engine = connect::connect(state, &env).await?;
        let list = rollout::env_containers(&engine, &env)
            .await
            .map_err(|e| e.to_string())?;
        let readings: Vec<(ContainerInfo, Usage)> =
            futures_util::stream::iter(list.into_iter().filter(|c| c.state == "running"))
                .map(|c| {
                    let engine = engine.clone();
                    async move {
                        let u = engine.usage(&c.id).await.ok()?;
                        Some((c, u))
                    }
                })
                .buffered(8)
                .filter_map(|x| async move { x })
                .collect()
                .await;
        Ok((render(&readings), ::metrics::exposition::Format::Prometheus))
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "the Docker engine did not answer within {} ms",
            timeout.as_millis()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_parses_back_with_one_series_per_container_and_family() {
        let c = ContainerInfo {
            id: "abc".into(),
            name: "/shop-staging-web-1".into(),
            image: "demo:1".into(),
            image_id: String::new(),
            labels: [
                (LABEL_SERVICE.to_string(), "web".to_string()),
                (LABEL_REPLICA.to_string(), "1".to_string()),
                (LABEL_RELEASE.to_string(), "3".to_string()),
            ]
            .into(),
            state: "running".into(),
            health: None,
            started_at: None,
            exit_code: None,
            http_addr: None,
            restart_count: 2,
            ips: Default::default(),
            volumes: Vec::new(),
        };
        let u = Usage {
            cpu_seconds: 1.5,
            memory_working_set: 1 << 20,
            memory_limit: 1 << 30,
            rx_bytes: 10,
            tx_bytes: 20,
        };
        let text = render(&[(c, u)]);
        let exp =
            ::metrics::exposition::parse(&text, ::metrics::exposition::Format::Prometheus, 100)
                .expect("parses");
        assert_eq!(exp.samples.len(), 6);
        let cpu = &exp.samples[0];
        assert_eq!(cpu.name, "container_cpu_usage_seconds_total");
        assert_eq!(cpu.value, 1.5);
        assert!(cpu
            .labels
            .contains(&("name".into(), "shop-staging-web-1".into())));
        assert!(cpu.labels.contains(&("service".into(), "web".into())));
        assert_eq!(exp.samples[5].value, 2.0);
    }
}
