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
    fn no_previous_sample_is_zero_cpu() {
        let sample = ContainerStatsResponse {
            cpu_stats: Some(cpu(1_500, 10_000)),
            ..Default::default()
        };
        assert_eq!(compute(&sample).cpu_percent, 0.0);
    }
}
