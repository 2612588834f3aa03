//! The benchmark's synthetic scrape data: targets of 100 series scraped every 15 s, with
//! a mix of series shaped like what a Docker host exposes (see [`Kind`]).
use metrics::model::Labels;

/// Deterministic pseudo-random numbers (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly standard normal (a sum of four uniforms).
    pub fn normal(&mut self) -> f64 {
        (self.unit() + self.unit() + self.unit() + self.unit() - 2.0) * 3f64.sqrt()
    }
}

/// Series shapes, by share of all series:
/// - 20 % constant (`up`, `*_info`, limits);
/// - 30 % slow integer counters (histogram buckets, error counters: a quarter never move,
///   the others move on 5 %, 50 % or every scrape by 1 to 4);
/// - 12 % busy integer counters (requests, packets, bytes: about 20, 300 or 40,000 per
///   scrape, Poisson-like);
/// - 8 % memory gauges moving by up to 8 pages of 4 KiB; 7 % small integer gauges
///   (goroutines, connections) moving by up to 2;
/// - 10 % CPU-seconds counters at 0.01 s resolution;
/// - 3 % load-average-like gauges with 2 decimals, moving by up to 0.05;
/// - 10 % full-precision floats: 5 % `_sum` of request durations (moving on half the
///   scrapes), 3 % nanosecond CPU seconds (as cAdvisor's), 2 % float gauges (ratios).
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Constant,
    SlowCounter(f64),
    BusyCounter(f64),
    PageGauge,
    SmallGauge,
    CpuSeconds,
    DurationSum,
    NanoCpu,
    LoadGauge,
    FloatGauge,
}

impl Kind {
    /// One series of each shape, for per-shape measurements.
    pub const ALL: [Kind; 10] = [
        Kind::Constant,
        Kind::SlowCounter(0.5),
        Kind::BusyCounter(300.0),
        Kind::PageGauge,
        Kind::SmallGauge,
        Kind::CpuSeconds,
        Kind::DurationSum,
        Kind::NanoCpu,
        Kind::LoadGauge,
        Kind::FloatGauge,
    ];

    fn of(i: usize) -> Kind {
        match (i * 7919) % 100 {
            0..=19 => Kind::Constant,
            20..=49 => Kind::SlowCounter([0.0, 0.05, 0.5, 2.0][i % 4]),
            50..=61 => Kind::BusyCounter([20.0, 300.0, 40_000.0][i % 3]),
            62..=69 => Kind::PageGauge,
            70..=76 => Kind::SmallGauge,
            77..=86 => Kind::CpuSeconds,
            87..=91 => Kind::DurationSum,
            92..=94 => Kind::NanoCpu,
            95..=97 => Kind::LoadGauge,
            _ => Kind::FloatGauge,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Constant => "container_spec_memory_limit_bytes",
            Kind::SlowCounter(_) => "http_request_duration_seconds_bucket",
            Kind::BusyCounter(_) => "http_requests_total",
            Kind::PageGauge => "container_memory_usage_bytes",
            Kind::SmallGauge => "go_goroutines",
            Kind::CpuSeconds => "process_cpu_seconds_total",
            Kind::DurationSum => "http_request_duration_seconds_sum",
            Kind::NanoCpu => "container_cpu_usage_seconds_total",
            Kind::LoadGauge => "node_load1",
            Kind::FloatGauge => "node_filesystem_usage_ratio",
        }
    }
}

pub const PER_TARGET: usize = 100;
pub const INTERVAL: i64 = 15_000;

pub struct Workload {
    pub labels: Vec<Labels>,
    kinds: Vec<Kind>,
    values: Vec<f64>,
    rng: Rng,
    /// Scrape timestamps vary by up to ± this many ms.
    jitter_ms: i64,
    /// The chance, per scrape, that a counter starts over at 0 (its process restarted).
    pub resets: f64,
}

impl Workload {
    pub fn new(series: usize, group: &str, jitter_ms: i64, seed: u64) -> Workload {
        Workload::with_kinds(series, group, jitter_ms, seed, Kind::of)
    }

    /// A workload whose series `i` has shape `kind(i)`.
    pub fn with_kinds(
        series: usize,
        group: &str,
        jitter_ms: i64,
        seed: u64,
        kind: impl Fn(usize) -> Kind,
    ) -> Workload {
        let mut rng = Rng::new(seed);
        let kinds: Vec<Kind> = (0..series).map(kind).collect();
        let labels = (0..series)
            .map(|i| {
                let t = i / PER_TARGET;
                Labels::new([
                    ("__name__", kinds[i].name().to_string()),
                    ("job", group.to_string()),
                    ("instance", format!("10.0.{}.{}:8080", t / 250, t % 250)),
                    ("project", format!("project-{}", t % 17)),
                    (
                        "environment",
                        ["production", "staging", "dev"][t % 3].to_string(),
                    ),
                    ("series", format!("{}", i % PER_TARGET)),
                ])
            })
            .collect();
        let values = kinds
            .iter()
            .map(|k| match k {
                Kind::Constant => [1.0, 2_147_483_648.0, 0.0][rng.below(3) as usize],
                Kind::SlowCounter(_) => rng.below(50) as f64,
                Kind::BusyCounter(_) => rng.below(1_000_000) as f64,
                Kind::PageGauge => (rng.below(100_000) * 4096) as f64,
                Kind::SmallGauge => 40.0 + rng.below(20) as f64,
                Kind::CpuSeconds => rng.below(100_000) as f64 / 100.0,
                Kind::DurationSum => rng.unit() * 1000.0,
                Kind::NanoCpu => rng.unit() * 10_000.0,
                Kind::LoadGauge => rng.below(400) as f64 / 100.0,
                Kind::FloatGauge => rng.unit(),
            })
            .collect();
        Workload {
            labels,
            kinds,
            values,
            rng,
            jitter_ms,
            resets: 0.0,
        }
    }

    pub fn targets(&self) -> usize {
        self.labels.len().div_ceil(PER_TARGET)
    }

    /// The next scrape of target `t` at nominal time `at`: its timestamp, and the series
    /// numbers with their values.
    pub fn scrape(&mut self, target: usize, at: i64, out: &mut Vec<(usize, f64)>) -> i64 {
        out.clear();
        let ts = if self.jitter_ms > 0 {
            at + self.rng.below(2 * self.jitter_ms as u64 + 1) as i64 - self.jitter_ms
        } else {
            at
        };
        let end = ((target + 1) * PER_TARGET).min(self.labels.len());
        for i in target * PER_TARGET..end {
            let v = &mut self.values[i];
            let rng = &mut self.rng;
            let counter = matches!(
                self.kinds[i],
                Kind::SlowCounter(_)
                    | Kind::BusyCounter(_)
                    | Kind::CpuSeconds
                    | Kind::DurationSum
                    | Kind::NanoCpu
            );
            if self.resets > 0.0 && counter && rng.unit() < self.resets {
                *v = 0.0;
            }
            match self.kinds[i] {
                Kind::Constant => {}
                Kind::SlowCounter(l) => {
                    if l > 0.0 && rng.unit() < l.min(1.0) {
                        *v += (rng.unit() * l.max(1.0) * 2.0).round().max(1.0);
                    }
                }
                Kind::BusyCounter(l) => *v += (l + rng.normal() * l.sqrt()).round().max(0.0),
                Kind::PageGauge => *v = (*v + (rng.below(17) as f64 - 8.0) * 4096.0).max(0.0),
                Kind::SmallGauge => {
                    *v = (*v + rng.below(5) as f64 - 2.0).clamp(10.0, 100.0);
                }
                Kind::CpuSeconds => *v = ((*v * 100.0).round() + rng.below(30) as f64) / 100.0,
                Kind::DurationSum => {
                    if rng.unit() < 0.5 {
                        *v += rng.unit() * 0.25;
                    }
                }
                Kind::NanoCpu => *v += 0.05 + rng.unit() * 0.1,
                Kind::LoadGauge => {
                    let cents = (*v * 100.0).round() + rng.below(11) as f64 - 5.0;
                    *v = cents.max(0.0) / 100.0;
                }
                Kind::FloatGauge => *v = (*v + (rng.unit() - 0.5) * 0.01).clamp(0.0, 1.0),
            }
            out.push((i, *v));
        }
        ts
    }
}
