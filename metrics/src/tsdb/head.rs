//! The head: recent samples in memory, compressed. A series index (labels as symbol
//! numbers, a hash for lookups, postings for matchers) under one lock, and the series'
//! chunks spread over striped locks so queries and maintenance rarely wait on appends.
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use super::error::TsdbError;
use super::memseries::{Appended, HeadChunk, MemSeries};
use super::options::AppendOutcome;
use super::series_index::{hash_labels, HeadIndex};
use super::symbols::Interner;
use crate::model::{Labels, Matcher};

const STRIPES: usize = 16;

/// Consecutive ids (one target's series, created together) share a stripe, so a batch
/// takes few locks.
fn stripe_of(id: u32) -> usize {
    (id as usize >> 6) % STRIPES
}

/// Hashes a series id for the stripes' maps: ids are handed out by the storage itself (never
/// chosen by a scrape target), so a multiplicative hash is enough, at a fraction of
/// SipHash's cost (that was a tenth of an append's time).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Stripe = HashMap<u32, MemSeries, BuildHasherDefault<IdHasher>>;

/// Chunks of one head series, as read by a query or the block writer.
pub struct HeadRead {
    pub labels: Labels,
    pub chunks: Vec<Arc<[u8]>>,
}

pub struct Head {
    index: RwLock<HeadIndex>,
    stripes: Vec<Mutex<Stripe>>,
    range: i64,
    max_series: usize,
    /// Samples older than this are refused: they would belong to a persisted block.
    min_valid: AtomicI64,
    max_t: AtomicI64,
}

impl Head {
    pub fn new(range: i64, max_series: usize, min_valid: i64) -> Head {
        Head {
            index: RwLock::new(HeadIndex::default()),
            stripes: (0..STRIPES)
                .map(|_| Mutex::new(Stripe::default()))
                .collect(),
            range,
            max_series,
            min_valid: AtomicI64::new(min_valid),
            max_t: AtomicI64::new(i64::MIN),
        }
    }

    fn stripe(&self, id: u32) -> MutexGuard<'_, Stripe> {
        self.stripes[stripe_of(id)]
            .lock()
            .expect("head stripe lock")
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, HeadIndex> {
        self.index.read().expect("head index lock")
    }

    pub fn min_valid(&self) -> i64 {
        self.min_valid.load(Ordering::Acquire)
    }

    /// Raises the floor below which samples are refused. The caller holds the WAL lock, so
    /// no append is between its checks and its writes.
    pub fn raise_min_valid(&self, t: i64) {
        self.min_valid.fetch_max(t, Ordering::AcqRel);
    }

    pub fn max_t(&self) -> Option<i64> {
        let t = self.max_t.load(Ordering::Acquire);
        (t != i64::MIN).then_some(t)
    }

    pub fn lookup(&self, labels: &Labels) -> Option<u32> {
        self.read_index().find(hash_labels(labels), labels)
    }

    /// The id for `labels`, creating the series (with `want` as id on WAL replay). Returns
    /// whether it was created.
    pub fn get_or_create(
        &self,
        labels: &Labels,
        want: Option<u32>,
        interner: &Interner,
    ) -> Result<(u32, bool), TsdbError> {
        let hash = hash_labels(labels);
        let mut ix = self.index.write().expect("head index lock");
        if let Some(id) = ix.find(hash, labels) {
            return Ok((id, false));
        }
        if want.is_none() && ix.labels.len() >= self.max_series {
            return Err(TsdbError::TooManySeries(self.max_series));
        }
        let id = match want {
            Some(id) => id,
            None => {
                let id = ix.next_id;
                if id == u32::MAX {
                    return Err(TsdbError::TooManySeries(u32::MAX as usize));
                }
                id
            }
        };
        if ix.labels.contains_key(&id) {
            return Err(TsdbError::Corrupt(format!("series id {id} reused")));
        }
        ix.insert(id, hash, labels, interner);
        self.stripe(id).insert(id, MemSeries::default());
        Ok((id, true))
    }

    /// Never hands out ids below `next` (ids seen on replay).
    pub fn reserve_below(&self, next: u32) {
        let mut ix = self.index.write().expect("head index lock");
        ix.next_id = ix.next_id.max(next);
    }

    pub fn next_id(&self) -> u32 {
        self.read_index().next_id
    }

    /// Applies samples in order, counting what was refused.
    pub fn append(&self, samples: &[(u32, i64, f64)], out: &mut AppendOutcome) {
        let min_valid = self.min_valid();
        let mut max_t = i64::MIN;
        let mut guard: Option<(usize, MutexGuard<'_, Stripe>)> = None;
        for &(id, t, v) in samples {
            let s = stripe_of(id);
            if guard.as_ref().map(|g| g.0) != Some(s) {
                drop(guard.take());
                guard = Some((s, self.stripe(id)));
            }
            let stripe = &mut guard.as_mut().expect("guard set").1;
            let Some(series) = stripe.get_mut(&id) else {
                out.unknown_series += 1;
                continue;
            };
            if t < min_valid {
                out.out_of_bounds += 1;
                continue;
            }
            match series.append(t, v, self.range) {
                Appended::Accepted => {
                    out.accepted += 1;
                    max_t = max_t.max(t);
                }
                Appended::OutOfOrder => out.out_of_order += 1,
                Appended::Duplicate => out.duplicate += 1,
                Appended::Identical => out.identical += 1,
            }
        }
        if max_t != i64::MIN {
            self.max_t.fetch_max(max_t, Ordering::AcqRel);
        }
    }

    /// Ids and labels of the series matching `matchers`.
    pub fn matching(&self, matchers: &[Matcher]) -> Vec<(u32, Labels)> {
        let ix = self.read_index();
        let ids = ix.postings.select(matchers, &ix.syms, &ix.all);
        ids.into_iter()
            .filter_map(|id| Some((id, ix.labels_of(id)?)))
            .collect()
    }

    /// The matching series' chunks overlapping `mint..=maxt`.
    pub fn read(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<HeadRead> {
        let mut out = Vec::new();
        for (id, labels) in self.matching(matchers) {
            let mut chunks = Vec::new();
            if let Some(s) = self.stripe(id).get(&id) {
                s.read(mint, maxt, &mut chunks);
            }
            if !chunks.is_empty() {
                out.push(HeadRead { labels, chunks });
            }
        }
        out
    }

    /// Whether series `id` has samples overlapping `mint..=maxt`.
    pub fn overlaps(&self, id: u32, mint: i64, maxt: i64) -> bool {
        self.stripe(id)
            .get(&id)
            .is_some_and(|s| s.overlaps(mint, maxt))
    }

    /// Every series' chunks wholly before `t` (closing open chunks that lie before it),
    /// with labels, for persisting. The caller raised `min_valid` to `t` first.
    pub fn chunks_before(&self, t: i64) -> Vec<(Labels, Vec<HeadChunk>)> {
        let mut by_id: Vec<(u32, Vec<HeadChunk>)> = Vec::new();
        for stripe in &self.stripes {
            let mut stripe = stripe.lock().expect("head stripe lock");
            for (&id, s) in stripe.iter_mut() {
                let chunks = s.chunks_before(t);
                if !chunks.is_empty() {
                    by_id.push((id, chunks));
                }
            }
        }
        let ix = self.read_index();
        by_id
            .into_iter()
            .filter_map(|(id, c)| Some((ix.labels_of(id)?, c)))
            .collect()
    }

    pub fn drop_before(&self, t: i64) {
        for stripe in &self.stripes {
            for s in stripe.lock().expect("head stripe lock").values_mut() {
                s.drop_before(t);
            }
        }
    }

    /// Drops series found empty by two passes in a row; returns how many.
    pub fn gc(&self) -> usize {
        let mut ix = self.index.write().expect("head index lock");
        let mut dead = Vec::new();
        for stripe in &self.stripes {
            let mut stripe = stripe.lock().expect("head stripe lock");
            stripe.retain(|&id, s| {
                let drop = s.mark_idle();
                if drop {
                    dead.push(id);
                }
                !drop
            });
            stripe.shrink_to_fit();
        }
        ix.remove(&dead);
        dead.len()
    }

    /// Every live series, for a WAL checkpoint.
    pub fn all_series(&self) -> Vec<(u32, Labels)> {
        let ix = self.read_index();
        ix.all
            .iter()
            .filter_map(|&id| Some((id, ix.labels_of(id)?)))
            .collect()
    }

    pub fn series_count(&self) -> usize {
        self.read_index().labels.len()
    }

    pub fn chunk_count(&self) -> usize {
        self.stripes
            .iter()
            .map(|s| {
                s.lock()
                    .expect("head stripe lock")
                    .values()
                    .map(MemSeries::chunk_count)
                    .sum::<usize>()
            })
            .sum()
    }

    pub fn min_time(&self) -> Option<i64> {
        self.stripes
            .iter()
            .filter_map(|s| {
                s.lock()
                    .expect("head stripe lock")
                    .values()
                    .filter_map(|m| m.time_range().map(|r| r.0))
                    .min()
            })
            .min()
    }
}
