//! Opening a storage directory: lock it, load blocks (cleaning up after a crash), replay
//! the WAL into a fresh head.
use std::collections::HashMap;
use std::fs::{self, File, TryLockError};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64};
use std::sync::{Arc, Mutex, RwLock};

use super::block_meta::BlockKind;
use super::disk::Faults;
use super::error::TsdbError;
use super::head::Head;
use super::options::{Options, Retention, RetentionPolicy};
use super::symbols::Interner;
use super::wal::{self, Wal};
use super::wal_replay::{self, ReplaySink};
use super::{blocks, Counters, Status, Tsdb};
use crate::model::Labels;

pub fn open(dir: &Path, opts: Options) -> Result<Tsdb, TsdbError> {
    let range = opts.block_range_ms;
    let res = opts.rollup_resolution_ms;
    if range <= 0 || res <= 0 || range % res != 0 {
        return Err(TsdbError::Config(format!(
            "block_range_ms ({range}) must be a positive multiple of rollup_resolution_ms ({res})"
        )));
    }
    fs::create_dir_all(dir).map_err(|e| TsdbError::at("creating", dir, e))?;
    let lock_path = dir.join("LOCK");
    let lock = File::create(&lock_path).map_err(|e| TsdbError::at("creating", &lock_path, e))?;
    // A lock can outlive its holder for a moment: a process forked (to run a command) between
    // our open and its `exec` shares the file. Held for 2 s, it belongs to another storage.
    let mut tries = 0;
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if tries < 40 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(TsdbError::Locked(dir.display().to_string()))
            }
            Err(TryLockError::Error(e)) => return Err(TsdbError::at("locking", &lock_path, e)),
        }
    }
    let interner = Interner::default();
    let mut problems = Vec::new();
    let loaded = blocks::load_all(&dir.join("blocks"), &interner, &mut problems)?;
    let floor = loaded
        .iter()
        .filter(|b| b.meta.kind == BlockKind::Raw)
        .map(|b| b.meta.range_end)
        .max()
        .unwrap_or(i64::MIN);
    let head = Head::new(range, opts.max_series, floor);
    let wal_dir = dir.join("wal");
    wal::create_dir(&wal_dir)?;
    let mut sink = Replay {
        head: &head,
        interner: &interner,
        remap: HashMap::new(),
        scratch: Vec::new(),
    };
    let replayed = wal_replay::replay(&wal_dir, &mut sink)?;
    head.raise_min_valid(replayed.floor);
    let max_seen = replayed.max_id.map_or(0, |m| m.saturating_add(1));
    head.reserve_below(replayed.next_id.max(max_seen));
    problems.extend(replayed.problems.iter().cloned());
    let faults = Arc::new(Faults::default());
    let wal = Wal::open(
        &wal_dir,
        replayed.last,
        replayed.next_segment,
        replayed.seg_max_t,
        opts.fsync,
        opts.wal_segment_bytes,
        faults.clone(),
    )?;
    let default = RetentionPolicy {
        matchers: Vec::new(),
        raw: opts.retention_raw,
        rollup: opts.retention_rollup,
    };
    Ok(Tsdb {
        dir: dir.to_path_buf(),
        opts,
        head,
        wal: Mutex::new(wal),
        blocks: RwLock::new(loaded),
        retention: RwLock::new(Retention {
            policies: Vec::new(),
            default,
        }),
        maintaining: Mutex::new(()),
        retention_now: AtomicI64::new(i64::MIN),
        counters: Counters::default(),
        status: Mutex::new(Status {
            last_error: (!problems.is_empty()).then(|| problems.join("; ")),
        }),
        disk_full: AtomicBool::new(false),
        faults,
        interner,
        _lock: lock,
    })
}

/// Applies replayed records to the head. A series record whose labels already have another
/// id (possible only after a damaged log) is remapped, not duplicated.
struct Replay<'a> {
    head: &'a Head,
    interner: &'a Interner,
    remap: HashMap<u32, u32>,
    scratch: Vec<(u32, i64, f64)>,
}

impl ReplaySink for Replay<'_> {
    fn series(&mut self, id: u32, labels: Labels) {
        if labels.is_empty() {
            return;
        }
        if let Ok((got, _)) = self.head.get_or_create(&labels, Some(id), self.interner) {
            if got != id {
                self.remap.insert(id, got);
            }
        }
    }

    fn samples(&mut self, samples: &[(u32, i64, f64)]) {
        let mut ignored = Default::default();
        let samples = if self.remap.is_empty() {
            samples
        } else {
            self.scratch.clear();
            self.scratch.extend(
                samples
                    .iter()
                    .map(|&(id, t, v)| (*self.remap.get(&id).unwrap_or(&id), t, v)),
            );
            &self.scratch
        };
        let tickets = self.head.take_tickets(samples);
        self.head.append(tickets, samples, &mut ignored);
    }

    fn floor(&mut self, t: i64) {
        self.head.raise_min_valid(t);
    }
}
