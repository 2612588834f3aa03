//! Periodic maintenance: persist the head into blocks (with rollups), compact, apply
//! retention, drop idle series, truncate the WAL. Files are written without holding the
//! head's or the WAL's locks; those are taken only to move the head's floor, swap block
//! lists and cut the WAL.
use std::collections::BTreeSet;
use std::sync::Arc;

use super::block::Block;
use super::block_meta::BlockKind;
use super::block_writer::BlockWriter;
use super::compact::{self, MergeSpec};
use super::error::TsdbError;
use super::memseries::HeadChunk;
use super::options::MaintainReport;
use super::retention::{self, Verdict};
use super::{blocks, chunk, rollup, wal, Tsdb};
use crate::model::Labels;

impl Tsdb {
    /// Persists head data older than the open block range into blocks, compacts blocks,
    /// applies retention (relative to `now_ms`), drops idle series and truncates the WAL.
    /// Call it periodically from a blocking thread; appends and queries go on meanwhile.
    pub fn maintain(&self, now_ms: i64) -> Result<MaintainReport, TsdbError> {
        let _one = self.maintaining.lock().expect("maintain lock");
        let mut rep = MaintainReport::default();
        let res = self.maintain_steps(now_ms, &mut rep);
        match &res {
            Err(e) => self.note_error(e),
            Ok(()) => self.clear_disk_full(),
        }
        res.map(|()| rep)
    }

    fn maintain_steps(&self, now_ms: i64, rep: &mut MaintainReport) -> Result<(), TsdbError> {
        self.persist_head(rep)?;
        self.repair_rollups(now_ms)?;
        self.compact(rep)?;
        self.apply_retention(now_ms, rep)?;
        rep.series_dropped = self.head.gc();
        self.truncate_wal(rep)?;
        self.interner.prune();
        Ok(())
    }

    fn blocks_dir(&self) -> std::path::PathBuf {
        self.dir.join("blocks")
    }

    fn persist_head(&self, rep: &mut MaintainReport) -> Result<(), TsdbError> {
        let range = self.opts.block_range_ms;
        if let Some(max_t) = self.head.max_t() {
            // Keep half a range of slack for late samples, as Prometheus does.
            let until = max_t.saturating_sub(range / 2).div_euclid(range) * range;
            if until > self.head.min_valid() {
                let barrier = {
                    let _wal = self.wal.lock().expect("wal lock");
                    self.head.raise_min_valid(until);
                    self.head.barrier()
                };
                // Batches logged before the raise read the old floor: wait until they are in
                // the head, so that the chunks taken below see their samples.
                drop(barrier);
            }
        }
        let floor = self.head.min_valid();
        let mut pending = self.head.chunks_before(floor);
        if pending.is_empty() {
            return Ok(());
        }
        pending.sort_by(|a, b| a.0.cmp(&b.0));
        let windows: BTreeSet<i64> = pending
            .iter()
            .flat_map(|(_, c)| c.iter().map(|c| c.mint.div_euclid(range) * range))
            .collect();
        for w in windows {
            let (raw, roll) = self.write_window(&pending, (w, w + range))?;
            rep.samples_persisted += raw.as_ref().map_or(0, |b| b.meta.samples);
            rep.head_blocks_written += raw.is_some() as usize;
            self.replace_blocks(&[], raw.into_iter().chain(roll).collect())?;
            self.head.drop_before(w + range);
        }
        let mut w = self.wal.lock().expect("wal lock");
        // New appends go to a fresh segment, so the ones before can go once persisted.
        w.rotate()
    }

    /// Writes the raw and rollup blocks for one window of head chunks.
    fn write_window(
        &self,
        pending: &[(Labels, Vec<HeadChunk>)],
        range: (i64, i64),
    ) -> Result<(Option<Block>, Option<Block>), TsdbError> {
        let dir = self.blocks_dir();
        let mut raw =
            BlockWriter::new(&dir, BlockKind::Raw, range, 0, vec![], self.faults.clone())?;
        let mut roll = BlockWriter::new(
            &dir,
            BlockKind::Rollup,
            range,
            0,
            vec![],
            self.faults.clone(),
        )?;
        let mut samples = Vec::new();
        for (labels, chunks) in pending {
            samples.clear();
            for c in chunks
                .iter()
                .filter(|c| c.mint >= range.0 && c.mint < range.1)
            {
                chunk::decode_into(&c.data, i64::MIN, i64::MAX, None, &mut samples)
                    .map_err(|_| TsdbError::Corrupt(format!("head chunk of {labels}")))?;
            }
            raw.add(labels, &samples)?;
            roll.add(
                labels,
                &rollup::last_per_bucket(&samples, self.opts.rollup_resolution_ms),
            )?;
        }
        let raw = raw.finish(&self.interner)?;
        let roll = roll.finish(&self.interner)?;
        Ok((raw, roll))
    }

    /// Puts `new` in the block list and takes `old` out, then removes `old` from disk.
    fn replace_blocks(&self, old: &[Arc<Block>], new: Vec<Block>) -> Result<(), TsdbError> {
        {
            let mut list = self.blocks.write().expect("blocks lock");
            list.retain(|b| !old.iter().any(|o| o.name == b.name));
            list.extend(new.into_iter().map(Arc::new));
            blocks::sort(&mut list);
        }
        for o in old {
            blocks::remove(&self.blocks_dir(), &o.name)?;
        }
        Ok(())
    }

    fn snapshot(&self) -> Vec<Arc<Block>> {
        self.blocks.read().expect("blocks lock").clone()
    }

    /// Writes rollups missing for fresh raw blocks (a crash between the two renames), unless
    /// rollup retention would remove them again at once.
    fn repair_rollups(&self, now: i64) -> Result<(), TsdbError> {
        let list = self.snapshot();
        let keep = self
            .retention
            .read()
            .expect("retention lock")
            .default
            .rollup;
        let horizon = now.saturating_sub(keep.as_millis().min(i64::MAX as u128) as i64);
        for b in list.iter().filter(|b| {
            b.meta.kind == BlockKind::Raw && b.meta.level == 0 && b.meta.maxt >= horizon
        }) {
            if !compact::has_rollup(&list, b) {
                let res = self.opts.rollup_resolution_ms;
                let made =
                    compact::rollup_of(&self.blocks_dir(), b, res, &self.faults, &self.interner)?;
                self.replace_blocks(&[], made.into_iter().collect())?;
            }
        }
        Ok(())
    }

    fn compact(&self, rep: &mut MaintainReport) -> Result<(), TsdbError> {
        let base = self.opts.block_range_ms;
        loop {
            let list = self.snapshot();
            let until = self.head.min_valid();
            let plan = compact::plan(&list, BlockKind::Raw, base, until)
                .or_else(|| compact::plan(&list, BlockKind::Rollup, base, until));
            let Some(plan) = plan else { return Ok(()) };
            let spec = MergeSpec {
                kind: plan.kind,
                range: plan.range,
                level: plan.level,
                rollup_res: (plan.kind == BlockKind::Rollup)
                    .then_some(self.opts.rollup_resolution_ms),
                keep: &|_| true,
            };
            let made = compact::merge(
                &self.blocks_dir(),
                &plan.sources,
                &spec,
                &self.faults,
                &self.interner,
            )?;
            self.replace_blocks(&plan.sources, made.into_iter().collect())?;
            rep.compactions += 1;
        }
    }

    fn apply_retention(&self, now: i64, rep: &mut MaintainReport) -> Result<(), TsdbError> {
        let r = self.retention.read().expect("retention lock").clone();
        self.retention_now
            .fetch_max(now, std::sync::atomic::Ordering::Relaxed);
        for b in self.snapshot() {
            match retention::verdict(&r, &b, now) {
                Verdict::Keep => {}
                Verdict::Delete => {
                    self.replace_blocks(std::slice::from_ref(&b), Vec::new())?;
                    rep.blocks_deleted += 1;
                }
                Verdict::Rewrite => {
                    let (kind, maxt) = (b.meta.kind, b.meta.maxt);
                    let keep = |l: &Labels| !retention::expired(&r, kind, l, maxt, now);
                    let spec = MergeSpec {
                        kind,
                        range: (b.meta.range_start, b.meta.range_end),
                        level: b.meta.level,
                        rollup_res: None,
                        keep: &keep,
                    };
                    let sources = std::slice::from_ref(&b);
                    let made = compact::merge(
                        &self.blocks_dir(),
                        sources,
                        &spec,
                        &self.faults,
                        &self.interner,
                    )?;
                    self.replace_blocks(sources, made.into_iter().collect())?;
                    rep.blocks_rewritten += 1;
                }
            }
        }
        Ok(())
    }

    fn truncate_wal(&self, rep: &mut MaintainReport) -> Result<(), TsdbError> {
        let floor = self.head.min_valid();
        let point = self.wal.lock().expect("wal lock").truncation_point(floor)?;
        let Some(n) = point else { return Ok(()) };
        let series = self.head.all_series();
        let next_id = self.head.next_id();
        let wal_dir = self.dir.join("wal");
        rep.wal_segments_removed =
            wal::write_checkpoint(&wal_dir, n, &series, next_id, floor, &self.faults)?;
        self.wal.lock().expect("wal lock").forget_through(n);
        Ok(())
    }
}
