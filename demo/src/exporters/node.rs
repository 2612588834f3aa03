//! node_exporter's memory, filesystem and CPU series, for the seed's `HighMemoryUsage` (> 85 %
//! used) and `LowDiskSpace` (> 80 % full) rules and for `rate(node_cpu_seconds_total[…])`.

use super::{pages, wave};
use crate::metrics::header;
use std::f64::consts::{PI, TAU};
use std::fmt::Write;
use std::time::Duration;

const GIB: u64 = 1 << 30;
pub const MEM_TOTAL_BYTES: u64 = 16 * GIB;

/// Memory use swings between 45 % and 95 % every 20 minutes, above 85 % for about 6 of them,
/// from 2 to 8 minutes after the start.
pub const MEMORY_PERIOD_SECS: f64 = 1200.0;

/// `/data` fills from 70 % to 90 % over 15 minutes, then a cleanup empties it back: above the
/// seed's 80 % for the second half of every cycle.
pub const DATA_FILL_PERIOD_SECS: f64 = 900.0;

pub struct Filesystem {
    pub device: &'static str,
    pub fstype: &'static str,
    pub mountpoint: &'static str,
    pub size_bytes: u64,
    /// The fraction in use, `uptime` after the start.
    pub used: fn(Duration) -> f64,
}

pub const FILESYSTEMS: [Filesystem; 3] = [
    Filesystem {
        device: "/dev/sda1",
        fstype: "ext4",
        mountpoint: "/",
        size_bytes: 100 * GIB,
        used: |uptime| 0.42 + 0.01 * wave(uptime, 300.0),
    },
    Filesystem {
        device: "/dev/sdb1",
        fstype: "xfs",
        mountpoint: "/data",
        size_bytes: 500 * GIB,
        used: |uptime| {
            0.70 + 0.20 * (uptime.as_secs_f64() % DATA_FILL_PERIOD_SECS) / DATA_FILL_PERIOD_SECS
        },
    },
    Filesystem {
        device: "tmpfs",
        fstype: "tmpfs",
        mountpoint: "/run",
        size_bytes: 1638 << 20,
        used: |_| 0.001,
    },
];

pub fn mem_available_bytes(uptime: Duration) -> u64 {
    let used = 0.70 + 0.25 * wave(uptime, MEMORY_PERIOD_SECS);
    pages(MEM_TOTAL_BYTES as f64 * (1.0 - used))
}

pub fn fs_avail_bytes(fs: &Filesystem, uptime: Duration) -> u64 {
    pages(fs.size_bytes as f64 * (1.0 - (fs.used)(uptime)))
}

pub const CPUS: usize = 2;
pub const CPU_MODES: [&str; 4] = ["idle", "iowait", "system", "user"];

/// The pretend machine was up a day before the demo started, as a real node's counters are.
const BOOT_SECS: f64 = 86_400.0;
const CPU_PERIOD_SECS: f64 = 600.0;

/// Seconds CPU `cpu` spent in each of [`CPU_MODES`]. User time runs at 25 % ± 15 % in a
/// 10-minute wave (CPU 1 half a wave behind CPU 0), system at 6 %, iowait at 1 %, the rest is
/// idle; every counter only grows.
pub fn cpu_seconds(cpu: usize, uptime: Duration) -> [f64; 4] {
    let t = BOOT_SECS + uptime.as_secs_f64();
    let omega = TAU / CPU_PERIOD_SECS;
    let shift = PI * cpu as f64;
    // The integral of 0.25 + 0.15·sin(ω·s + shift) from 0 to t.
    let user = 0.25 * t + 0.15 / omega * (shift.cos() - (omega * t + shift).cos());
    let (system, iowait) = (0.06 * t, 0.01 * t);
    [t - user - system - iowait, iowait, system, user]
}

pub fn render(out: &mut String, uptime: Duration) {
    for (field, value) in [
        ("MemAvailable", mem_available_bytes(uptime)),
        ("MemTotal", MEM_TOTAL_BYTES),
    ] {
        let name = format!("node_memory_{field}_bytes");
        let help = format!("Memory information field {field}_bytes.");
        header(out, &name, "gauge", &help);
        let _ = writeln!(out, "{name} {value}");
    }
    for (name, help, value) in [
        (
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
            fs_avail_bytes as fn(&Filesystem, Duration) -> u64,
        ),
        (
            "node_filesystem_size_bytes",
            "Filesystem size in bytes.",
            |fs, _| fs.size_bytes,
        ),
    ] {
        header(out, name, "gauge", help);
        for fs in &FILESYSTEMS {
            let _ = writeln!(
                out,
                "{name}{{device=\"{}\",fstype=\"{}\",mountpoint=\"{}\"}} {}",
                fs.device,
                fs.fstype,
                fs.mountpoint,
                value(fs, uptime)
            );
        }
    }
    let name = "node_cpu_seconds_total";
    header(out, name, "counter", "Seconds the CPUs spent in each mode.");
    for cpu in 0..CPUS {
        for (mode, seconds) in CPU_MODES.iter().zip(cpu_seconds(cpu, uptime)) {
            let _ = writeln!(out, "{name}{{cpu=\"{cpu}\",mode=\"{mode}\"}} {seconds:.2}");
        }
    }
}
