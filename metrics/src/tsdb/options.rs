//! Configuration and the reports storage hands back.
use std::time::Duration;

use crate::model::Labels;

pub(crate) const HOUR_MS: i64 = 3_600_000;

#[derive(Clone, Debug)]
pub struct Options {
    /// How long raw samples are kept (the default policy's raw retention).
    pub retention_raw: Duration,
    /// How long 5-minute rollups are kept (the default policy's rollup retention).
    pub retention_rollup: Duration,
    /// The time range of the blocks the head is cut into; compaction builds blocks of 3×
    /// and 12× this. Must be a multiple of `rollup_resolution_ms`.
    pub block_range_ms: i64,
    /// Bucket width of rollups.
    pub rollup_resolution_ms: i64,
    /// `select_hinted` reads rollups when the step is at least this (default 5 × the
    /// resolution, as Thanos: a `rate()` window as wide as the step then still spans
    /// several rollup points).
    pub rollup_min_step_ms: i64,
    /// fsync the WAL after every batch (else a batch reaches the OS page cache on return,
    /// which survives `kill -9` but not a power cut).
    pub fsync: bool,
    /// New series beyond this many in the head are refused.
    pub max_series: usize,
    /// A selection returning more series than this is refused.
    pub max_query_series: usize,
    /// A selection returning more samples than this is refused.
    pub max_query_samples: usize,
    /// A WAL segment is closed and a new one started past this size.
    pub wal_segment_bytes: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            retention_raw: Duration::from_secs(15 * 24 * 3600),
            retention_rollup: Duration::from_secs(90 * 24 * 3600),
            block_range_ms: 2 * HOUR_MS,
            rollup_resolution_ms: 300_000,
            rollup_min_step_ms: 1_500_000,
            fsync: false,
            max_series: 5_000_000,
            max_query_series: 50_000,
            max_query_samples: 50_000_000,
            wal_segment_bytes: 64 << 20,
        }
    }
}

/// How long one group of series keeps raw data and rollups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Label equalities a series must all have for the policy to apply (empty: all).
    pub matchers: Vec<(String, String)>,
    pub raw: Duration,
    pub rollup: Duration,
}

impl RetentionPolicy {
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers
            .iter()
            .all(|(n, v)| labels.get(n).unwrap_or("") == v)
    }
}

/// The policy list and default, resolved per series.
#[derive(Clone, Debug)]
pub(crate) struct Retention {
    pub policies: Vec<RetentionPolicy>,
    pub default: RetentionPolicy,
}

impl Retention {
    pub fn for_series(&self, labels: &Labels) -> &RetentionPolicy {
        self.policies
            .iter()
            .find(|p| p.matches(labels))
            .unwrap_or(&self.default)
    }
}

/// What an append did with each sample of the batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    pub accepted: usize,
    /// Older than the series' latest sample ("out of order").
    pub out_of_order: usize,
    /// Same time as the series' latest sample, different value.
    pub duplicate: usize,
    /// Same time and bit-identical value as the latest sample: ignored, not an error.
    pub identical: usize,
    /// Older than what the head still accepts (already persisted into a block).
    pub out_of_bounds: usize,
    /// The ref names no series (it was dropped after idling past a block range, or never
    /// existed); resolve it again with `series_ref`.
    pub unknown_series: usize,
}

impl AppendOutcome {
    pub fn rejected(&self) -> usize {
        self.out_of_order + self.duplicate + self.out_of_bounds + self.unknown_series
    }
}

/// What one `maintain` run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaintainReport {
    /// Raw blocks written from the head (each with its rollup block).
    pub head_blocks_written: usize,
    pub samples_persisted: u64,
    /// Compactions run (each merges several blocks into one).
    pub compactions: usize,
    /// Blocks removed or rewritten by retention.
    pub blocks_deleted: usize,
    pub blocks_rewritten: usize,
    /// Series dropped from the head after idling.
    pub series_dropped: usize,
    /// WAL segments removed.
    pub wal_segments_removed: usize,
}

/// A snapshot of storage counters for the UI and health checks.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub head_series: usize,
    pub head_chunks: usize,
    pub head_min_time: Option<i64>,
    pub head_max_time: Option<i64>,
    pub samples_appended_total: u64,
    pub out_of_order_total: u64,
    pub duplicate_total: u64,
    pub out_of_bounds_total: u64,
    pub unknown_series_total: u64,
    pub raw_blocks: usize,
    pub rollup_blocks: usize,
    /// Bytes of all block directories.
    pub block_bytes: u64,
    /// Samples held in raw blocks.
    pub block_samples: u64,
    pub wal_bytes: u64,
    /// Blocks and WAL together.
    pub disk_bytes: u64,
    /// The last append or maintenance failed for lack of space (cleared by a success).
    pub disk_full: bool,
    /// The latest error from append, maintain or open-time recovery.
    pub last_error: Option<String>,
}
