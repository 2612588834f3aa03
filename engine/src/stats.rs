//! Resource usage of one container, computed the way `docker stats` shows it.

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptions;
use futures_util::StreamExt;

use crate::{Engine, EngineError};

/// CPU and memory of one container at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// 100 is one full CPU (so up to 100 × CPUs, like `docker stats`).
    pub cpu_percent: f64,
    /// In use, not counting reclaimable page cache.
    pub memory_bytes: u64,
    /// The container's limit, or the host's memory without one.
    pub memory_limit: u64,
}

impl Engine {
    /// One sample. Docker measures CPU over its own collection interval, so this takes about a
    /// second (`one_shot` would skip that wait but leaves nothing to compute the CPU share from).
    pub async fn stats(&self, id: &str) -> Result<Stats, EngineError> {
        let docker = self.docker().await?;
        let options = StatsOptions {
            stream: false,
            one_shot: false,
        };
        let mut samples = docker.stats(id, Some(options));
        match samples.next().await {
            Some(Ok(sample)) => Ok(compute(&sample)),
            Some(Err(err)) => Err(self.fail(err)),
            None => Err(EngineError::Other(format!(
                "Docker engine at {} sent no stats for {id}",
                self.host()
            ))),
        }
    }
}

/// A container's cumulative counters at one moment, for metrics (cAdvisor's names): CPU
/// seconds used, memory in use (working set) and its limit, bytes received and sent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    pub cpu_seconds: f64,
    pub memory_working_set: u64,
    pub memory_limit: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

impl Engine {
    /// One reading of the counters, without Docker's one-second wait (`one_shot`): rates
    /// are computed from successive readings, as Prometheus does with cAdvisor.
    pub async fn usage(&self, id: &str) -> Result<Usage, EngineError> {
        let docker = self.docker().await?;
        let options = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut samples = docker.stats(id, Some(options));
        match samples.next().await {
            Some(Ok(sample)) => Ok(usage_of(&sample)),
            Some(Err(err)) => Err(self.fail(err)),
            None => Err(EngineError::Other(format!(
                "Docker engine at {} sent no stats for {id}",
                self.host()
            ))),
        }
    }
}

fn usage_of(s: &ContainerStatsResponse) -> Usage {
    let stats = compute(s);
    let cpu_ns = s
        .cpu_stats
        .as_ref()
        .and_then(|c| c.cpu_usage.as_ref())
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    let (rx, tx) = s
        .networks
        .as_ref()
        .map(|n| {
            n.values().fold((0u64, 0u64), |(rx, tx), v| {
                (
                    rx.saturating_add(v.rx_bytes.unwrap_or(0)),
                    tx.saturating_add(v.tx_bytes.unwrap_or(0)),
                )
            })
        })
        .unwrap_or((0, 0));
    Usage {
        cpu_seconds: cpu_ns as f64 / 1e9,
        memory_working_set: stats.memory_bytes,
        memory_limit: stats.memory_limit,
        rx_bytes: rx,
        tx_bytes: tx,
    }
}

fn compute(s: &ContainerStatsResponse) -> Stats {
    let cpu = s.cpu_stats.clone().unwrap_or_default();
    let pre = s.precpu_stats.clone().unwrap_or_default();
    let total = |c: &bollard::models::ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
    let system_delta = cpu
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(pre.system_cpu_usage.unwrap_or(0)) as f64;
    let online = cpu.online_cpus.map(f64::from).unwrap_or_else(|| {
        let per_cpu = cpu.cpu_usage.as_ref().and_then(|u| u.percpu_usage.as_ref());
        per_cpu.map(|p| p.len() as f64).unwrap_or(1.0)
    });
    let cpu_percent = if pre.system_cpu_usage.unwrap_or(0) > 0 && system_delta > 0.0 {
        cpu_delta / system_delta * online * 100.0
    } else {
        0.0
    };
    let memory = s.memory_stats.clone().unwrap_or_default();
    let usage = memory.usage.unwrap_or(0);
    let stats = memory.stats.unwrap_or_default();
    // cgroup v1 reports total_inactive_file, v2 inactive_file (docker CLI's choice too).
    let cache = stats
        .get("total_inactive_file")
        .or_else(|| stats.get("inactive_file"))
        .copied()
        .filter(|c| *c < usage)
        .unwrap_or(0);
    Stats {
        cpu_percent,
        memory_bytes: usage - cache,
        memory_limit: memory.limit.unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats};
    use std::collections::HashMap;

    fn cpu(total: u64, system: u64) -> ContainerCpuStats {
        ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total),
                ..Default::default()
            }),
            system_cpu_usage: Some(system),
            online_cpus: Some(2),
            ..Default::default()
        }
    }

    #[test]
    fn cpu_share_is_usage_over_system_time_times_cpus() {
        let sample = ContainerStatsResponse {
            cpu_stats: Some(cpu(1_500, 10_000)),
            precpu_stats: Some(cpu(1_000, 8_000)),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(100 << 20),
                limit: Some(512 << 20),
                stats: Some(HashMap::from([("inactive_file".to_owned(), 10 << 20)])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let stats = compute(&sample);
        assert!((stats.cpu_percent - 50.0).abs() < 1e-9, "{stats:?}");
        assert_eq!(stats.memory_bytes, 90 << 20);
        assert_eq!(stats.memory_limit, 512 << 20);
    }

    #[test]
    fn usage_counts_cpu_seconds_and_every_network() {
        use bollard::models::ContainerNetworkStats;
        let net = |rx, tx| ContainerNetworkStats {
            rx_bytes: Some(rx),
            tx_bytes: Some(tx),
            ..Default::default()
        };
        let sample = ContainerStatsResponse {
            cpu_stats: Some(cpu(2_500_000_000, 10_000)),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(100 << 20),
                limit: Some(512 << 20),
                stats: Some(HashMap::from([("inactive_file".to_owned(), 10 << 20)])),
                ..Default::default()
            }),
            networks: Some(HashMap::from([
                ("eth0".to_owned(), net(100, 10)),
                ("eth1".to_owned(), net(5, 1)),
            ])),
            ..Default::default()
        };
        let u = usage_of(&sample);
        assert!((u.cpu_seconds - 2.5).abs() < 1e-9, "{u:?}");
        assert_eq!(u.memory_working_set, 90 << 20);
        assert_eq!(u.memory_limit, 512 << 20);
        assert_eq!((u.rx_bytes, u.tx_bytes), (105, 11));
    }

    #[test]
    fn no_previous_sample_is_zero_cpu() {
        let sample = ContainerStatsResponse {
            cpu_stats: Some(cpu(1_500, 10_000)),
            ..Default::default()
        };
        assert_eq!(compute(&sample).cpu_percent, 0.0);
    }
}
