//! Berth's embedded time-series storage: Prometheus-like, in one directory, no server.
//!
//! Design, and why:
//! - **Chunks** (`tsdb/chunk.rs`): Gorilla-style compression (64-bit XOR floats), with
//!   timestamps coded as deviations from one base interval per chunk (scrape jitter costs ~5
//!   bits, not the 16 of delta-of-delta) and values that are short decimals (counters, byte
//!   gauges, `0.01`-second CPU counters) coded as integer changes (or changes of changes) when
//!   that is shorter than XOR. Bit patterns are compared and restored exactly, so NaN payloads
//!   and the staleness marker round-trip.
//! - **Head** (`tsdb/head.rs`): recent samples, compressed as they arrive (an open chunk per
//!   series and closed chunks; never a `Vec` of samples). Label strings are interned and series
//!   hold symbol numbers; postings map label pairs to sorted series ids for matchers.
//! - **WAL** (`tsdb/wal.rs`): every batch is one CRC-framed record written before the head
//!   changes, so a batch is durable whole or not at all; replay stops a segment at the first
//!   torn record and truncates it there, never refusing to open. `Options::fsync` fsyncs per
//!   batch; without it a batch is in the page cache when `append` returns (survives `kill -9`,
//!   not a power cut). Only the record's write is under the WAL lock: there a batch also
//!   takes its place in line on each head stripe it touches, and it is applied after the
//!   lock, stripe by stripe in WAL order, so batches of different targets apply in parallel
//!   and replay decides every sample as the live head did.
//! - **Blocks** (`tsdb/block.rs`): immutable directories for a time window (2 h from the head,
//!   compacted to 6 h and 24 h), written to `tmp-*` and renamed; old blocks are removed only
//!   after the new one is in place, and a new block names them as sources, so a crash at any
//!   point leaves data once (`tsdb/blocks.rs`). Blocks store timestamps and values as separate
//!   streams, each distinct timestamp stream once: the series of one scrape target share it, so
//!   a sample costs about its value's bits only. Chunks hold up to 480 samples there, with a
//!   scale and coding chosen for the whole chunk, and every 96th value written on its own (a
//!   restart point, ~0.02 bytes a sample) so that a short window decodes from the restart
//!   point before it.
//! - **Reading** (`tsdb/query.rs`, `tsdb/windows.rs`): a range query whose windows leave gaps
//!   (`rate(x[5m])` at a 43-minute step) gets only the samples in its windows: chunks outside
//!   every window are skipped, the rest decoded from the restart point before each window.
//! - **Rollups** (`tsdb/rollup.rs`): with every head block a rollup block holding the last
//!   sample of each 5-minute bucket, kept 90 days (raw: 15), compacted up to 10-day blocks. A
//!   selection whose step is at least `rollup_min_step_ms` reads rollups; any selection falls
//!   back to rollups where retention already removed a series' raw samples.
//! - **Retention** (`tsdb/retention.rs`): per-policy (label equalities, e.g. `environment`),
//!   applied per series at block granularity: a block past every series' cutoff is deleted, one
//!   past only some is rewritten without them.
//! - **Faults**: a full disk is [`TsdbError::DiskFull`] with nothing half-applied (the torn WAL
//!   record is cut off again, a half-written block stays a `tmp-*` directory); out-of-order and
//!   duplicate samples are refused and counted per batch and in [`Stats`]; a backward clock
//!   step makes samples out of order until the clock passes the last stored time (as in
//!   Prometheus); a forward `now_ms` given to [`Tsdb::maintain`] only moves retention, and the
//!   head's block cut follows sample times, not the clock.
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

mod bits;
mod block;
mod block_meta;
mod block_writer;
mod blocks;
mod chunk;
mod compact;
mod disk;
mod error;
mod head;
mod maintain;
mod memseries;
mod open;
mod options;
mod postings;
mod query;
mod retention;
mod rollup;
mod series_index;
mod series_labels;
mod symbols;
mod varint;
mod wal;
mod wal_replay;
mod windows;

#[cfg(test)]
mod tests;

pub use error::TsdbError;
pub use options::{AppendOutcome, MaintainReport, Options, RetentionPolicy, Stats};
pub use windows::Windows;

use crate::model::{Labels, Matcher, QueryError, Series};
use block::Block;
use block_meta::BlockKind;
use disk::Faults;
use head::Head;
use options::Retention;
use symbols::Interner;
use wal::Wal;

/// A series' id in this storage; resolve once per scrape target with
/// [`Tsdb::series_ref`]. Ids are never reused, so a stale one is reported
/// ([`AppendOutcome::unknown_series`]), never applied to another series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesRef(u32);

#[derive(Default)]
struct Counters {
    appended: AtomicU64,
    out_of_order: AtomicU64,
    duplicate: AtomicU64,
    out_of_bounds: AtomicU64,
    unknown: AtomicU64,
}

#[derive(Default)]
struct Status {
    last_error: Option<String>,
}

/// The storage. `Send + Sync`; share it with an `Arc`.
pub struct Tsdb {
    dir: PathBuf,
    opts: Options,
    head: Head,
    wal: Mutex<Wal>,
    blocks: RwLock<Vec<Arc<Block>>>,
    retention: RwLock<Retention>,
    /// One maintenance run at a time.
    maintaining: Mutex<()>,
    /// The `now` of the last retention run.
    retention_now: AtomicI64,
    counters: Counters,
    status: Mutex<Status>,
    /// The last append or maintenance failed for lack of space.
    disk_full: AtomicBool,
    faults: Arc<Faults>,
    interner: Interner,
    /// Holds the directory's lock for the life of the storage.
    _lock: File,
}

impl Tsdb {
    /// Opens (creating if needed) storage in `dir`: removes what a crash left half-done,
    /// loads blocks and replays the WAL.
    pub fn open(dir: &Path, opts: Options) -> Result<Tsdb, TsdbError> {
        open::open(dir, opts)
    }

    /// Resolves (creating if new) a series id; callers cache it per scrape target.
    pub fn series_ref(&self, labels: &Labels) -> Result<SeriesRef, TsdbError> {
        if labels.is_empty() || labels.iter().any(|l| l.name.is_empty()) {
            return Err(TsdbError::InvalidLabels(format!(
                "{labels}: no labels or an empty name"
            )));
        }
        if let Some(id) = self.head.lookup(labels) {
            return Ok(SeriesRef(id));
        }
        // The WAL lock first: nobody can append to the new id before its record is queued.
        let mut wal = self.wal.lock().expect("wal lock");
        let (id, created) = self.head.get_or_create(labels, None, &self.interner)?;
        if created {
            wal.log_series(id, labels)?;
        }
        Ok(SeriesRef(id))
    }

    /// Appends a batch atomically to the WAL, then to the head. Returns how many samples were
    /// accepted and why the others were not. On error nothing of the batch is stored.
    pub fn append(&self, samples: &[(SeriesRef, i64, f64)]) -> Result<AppendOutcome, TsdbError> {
        let mut out = AppendOutcome::default();
        if samples.is_empty() {
            return Ok(out);
        }
        let batch: Vec<(u32, i64, f64)> = samples.iter().map(|&(r, t, v)| (r.0, t, v)).collect();
        let (record, max_t) = wal::encode_batch(&batch);
        let tickets = {
            let mut wal = self.wal.lock().expect("wal lock");
            if let Err(e) = wal.log_encoded(&record, max_t) {
                drop(wal);
                self.note_error(&e);
                return Err(e);
            }
            // The batch's place in line on its stripes, in WAL order (see `take_tickets`);
            // it is applied after the lock, in parallel with batches on other stripes.
            self.head.take_tickets(&batch)
        };
        self.head.append(tickets, &batch, &mut out);
        let c = &self.counters;
        c.appended.fetch_add(out.accepted as u64, Ordering::Relaxed);
        c.out_of_order
            .fetch_add(out.out_of_order as u64, Ordering::Relaxed);
        c.duplicate
            .fetch_add(out.duplicate as u64, Ordering::Relaxed);
        c.out_of_bounds
            .fetch_add(out.out_of_bounds as u64, Ordering::Relaxed);
        c.unknown
            .fetch_add(out.unknown_series as u64, Ordering::Relaxed);
        self.clear_disk_full();
        Ok(out)
    }

    /// Convenience for tests: labels instead of refs.
    pub fn append_labeled(
        &self,
        samples: &[(Labels, i64, f64)],
    ) -> Result<AppendOutcome, TsdbError> {
        let refs = samples
            .iter()
            .map(|(l, t, v)| Ok((self.series_ref(l)?, *t, *v)))
            .collect::<Result<Vec<_>, TsdbError>>()?;
        self.append(&refs)
    }

    /// Like [`crate::model::Queryable::select`], but reads rollups when `step_ms` is at least
    /// `Options::rollup_min_step_ms`.
    pub fn select_hinted(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        step_ms: i64,
    ) -> Result<Vec<Series>, QueryError> {
        self.select_impl(matchers, mint, maxt, step_ms, None)
    }

    /// Like [`Tsdb::select_hinted`], and when reading raw samples, only those in `windows`
    /// (the evaluator looks at no others; see [`Windows`]).
    pub fn select_windows(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        step_ms: i64,
        windows: Option<Windows>,
    ) -> Result<Vec<Series>, QueryError> {
        self.select_impl(matchers, mint, maxt, step_ms, windows)
    }

    /// Replaces the retention policies (the first matching policy applies to a series; else
    /// `default`). Enforced by [`Tsdb::maintain`].
    pub fn set_retention(&self, policies: Vec<RetentionPolicy>, default: RetentionPolicy) {
        *self.retention.write().expect("retention lock") = Retention { policies, default };
    }

    pub fn stats(&self) -> Stats {
        let blocks = self.blocks.read().expect("blocks lock").clone();
        let status = self.status.lock().expect("status lock");
        let c = &self.counters;
        let raw = || blocks.iter().filter(|b| b.meta.kind == BlockKind::Raw);
        let block_bytes = blocks.iter().map(|b| b.bytes).sum();
        let wal_bytes = disk::dir_size(&self.dir.join("wal"));
        Stats {
            head_series: self.head.series_count(),
            head_chunks: self.head.chunk_count(),
            head_min_time: self.head.min_time(),
            head_max_time: self.head.max_t(),
            samples_appended_total: c.appended.load(Ordering::Relaxed),
            out_of_order_total: c.out_of_order.load(Ordering::Relaxed),
            duplicate_total: c.duplicate.load(Ordering::Relaxed),
            out_of_bounds_total: c.out_of_bounds.load(Ordering::Relaxed),
            unknown_series_total: c.unknown.load(Ordering::Relaxed),
            raw_blocks: raw().count(),
            rollup_blocks: blocks.len() - raw().count(),
            block_bytes,
            block_samples: raw().map(|b| b.meta.samples).sum(),
            wal_bytes,
            disk_bytes: block_bytes + wal_bytes,
            disk_full: self.disk_full.load(Ordering::Relaxed),
            last_error: status.last_error.clone(),
        }
    }

    /// Writes queued WAL records and fsyncs, then closes.
    pub fn close(self) -> Result<(), TsdbError> {
        self.wal.lock().expect("wal lock").flush()
    }

    fn note_error(&self, e: &TsdbError) {
        self.disk_full.store(e.is_disk_full(), Ordering::Relaxed);
        self.status.lock().expect("status lock").last_error = Some(e.to_string());
    }

    fn clear_disk_full(&self) {
        if self.disk_full.load(Ordering::Relaxed) {
            self.disk_full.store(false, Ordering::Relaxed);
        }
    }

    #[cfg(test)]
    fn faults(&self) -> &Faults {
        &self.faults
    }
}

impl Drop for Tsdb {
    fn drop(&mut self) {
        if let Ok(mut wal) = self.wal.lock() {
            let _ = wal.flush();
        }
    }
}
