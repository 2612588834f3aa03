//! Compaction: merging blocks into fewer, larger ones, and rewriting a block without some
//! series (retention). Both stream series in label order through a k-way merge, so memory
//! holds one series' samples at a time, and both write a new block before anything old is
//! removed; the new block names the old ones as its sources.
use std::path::Path;
use std::sync::Arc;

use super::block::{Block, TimesCache};
use super::block_meta::BlockKind;
use super::block_writer::BlockWriter;
use super::disk::Faults;
use super::error::TsdbError;
use super::rollup;
use super::symbols::Interner;
use crate::model::Labels;

/// Block ranges per level, as multiples of the head's block range.
pub fn level_ranges(kind: BlockKind, base: i64) -> [i64; 3] {
    match kind {
        // 2 h, 6 h, 24 h by default: retention deletes a day at a time.
        BlockKind::Raw => [base, base * 3, base * 12],
        // 2 h, 24 h, 10 days.
        BlockKind::Rollup => [base, base * 12, base * 120],
    }
}

pub struct Plan {
    pub kind: BlockKind,
    pub sources: Vec<Arc<Block>>,
    pub range: (i64, i64),
    pub level: u32,
}

/// The next compaction worth doing: at the lowest level, the earliest window that is
/// complete (ends at or before `until`, the head's floor) and holds several smaller blocks.
pub fn plan(blocks: &[Arc<Block>], kind: BlockKind, base: i64, until: i64) -> Option<Plan> {
    let mut of_kind: Vec<&Arc<Block>> = blocks.iter().filter(|b| b.meta.kind == kind).collect();
    of_kind.sort_by_key(|b| b.meta.range_start);
    for (level, &size) in level_ranges(kind, base).iter().enumerate().skip(1) {
        let mut i = 0;
        while i < of_kind.len() {
            let b = of_kind[i];
            let w = b.meta.range_start.div_euclid(size) * size;
            let group: Vec<Arc<Block>> = of_kind[i..]
                .iter()
                .take_while(|b| b.meta.range_start < w + size)
                .filter(|b| {
                    b.meta.range_end - b.meta.range_start < size && b.meta.range_end <= w + size
                })
                .map(|b| (*b).clone())
                .collect();
            let skip = of_kind[i..]
                .iter()
                .take_while(|b| b.meta.range_start < w + size)
                .count();
            if group.len() >= 2 && w + size <= until {
                return Some(Plan {
                    kind,
                    sources: group,
                    range: (w, w + size),
                    level: level as u32,
                });
            }
            i += skip.max(1);
        }
    }
    None
}

/// What a merge writes.
pub struct MergeSpec<'a> {
    pub kind: BlockKind,
    pub range: (i64, i64),
    pub level: u32,
    /// Re-bucket merged samples to this resolution (rollup blocks).
    pub rollup_res: Option<i64>,
    /// Series to keep.
    pub keep: &'a dyn Fn(&Labels) -> bool,
}

/// Merges `sources` (ordered by time) into one new block; `None` when nothing was kept.
pub fn merge(
    blocks_dir: &Path,
    sources: &[Arc<Block>],
    spec: &MergeSpec<'_>,
    faults: &Arc<Faults>,
    interner: &Interner,
) -> Result<Option<Block>, TsdbError> {
    let names = sources.iter().map(|b| b.name.clone()).collect();
    let mut w = BlockWriter::new(
        blocks_dir,
        spec.kind,
        spec.range,
        spec.level,
        names,
        faults.clone(),
    )?;
    let mut cursors = vec![0u32; sources.len()];
    let mut heads: Vec<Option<Labels>> = sources
        .iter()
        .map(|b| (b.series_count() > 0).then(|| b.labels(0)))
        .collect();
    let mut caches: Vec<TimesCache> = sources.iter().map(|_| TimesCache::default()).collect();
    let mut samples = Vec::new();
    while let Some(min) = heads.iter().flatten().min().cloned() {
        samples.clear();
        for (k, src) in sources.iter().enumerate() {
            if heads[k].as_ref() != Some(&min) {
                continue;
            }
            src.read(
                cursors[k],
                (i64::MIN, i64::MAX),
                None,
                &mut samples,
                &mut caches[k],
            )?;
            cursors[k] += 1;
            heads[k] = ((cursors[k] as usize) < src.series_count()).then(|| src.labels(cursors[k]));
        }
        if !(spec.keep)(&min) {
            continue;
        }
        rollup::normalize(&mut samples);
        match spec.rollup_res {
            Some(res) => w.add(&min, &rollup::last_per_bucket(&samples, res))?,
            None => w.add(&min, &samples)?,
        }
    }
    w.finish(interner)
}

/// Writes the rollup block for a raw block whose rollup is missing (a crash between the
/// two renames).
pub fn rollup_of(
    blocks_dir: &Path,
    raw: &Arc<Block>,
    res: i64,
    faults: &Arc<Faults>,
    interner: &Interner,
) -> Result<Option<Block>, TsdbError> {
    // The raw block is not a source: it stays.
    let mut w = BlockWriter::new(
        blocks_dir,
        BlockKind::Rollup,
        (raw.meta.range_start, raw.meta.range_end),
        0,
        Vec::new(),
        faults.clone(),
    )?;
    let mut samples = Vec::new();
    let mut cache = TimesCache::default();
    for i in 0..raw.series_count() as u32 {
        samples.clear();
        raw.read(i, (i64::MIN, i64::MAX), None, &mut samples, &mut cache)?;
        w.add(&raw.labels(i), &rollup::last_per_bucket(&samples, res))?;
    }
    w.finish(interner)
}

/// Whether a rollup block covers `raw`'s window.
pub fn has_rollup(blocks: &[Arc<Block>], raw: &Block) -> bool {
    blocks.iter().any(|b| {
        b.meta.kind == BlockKind::Rollup
            && b.meta.range_start <= raw.meta.range_start
            && b.meta.range_end >= raw.meta.range_end
    })
}
