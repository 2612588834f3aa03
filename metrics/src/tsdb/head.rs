//! The head: recent samples in memory, compressed. A series index (labels as symbol
//! numbers, a hash for lookups, postings for matchers) under one lock, and the series'
//! chunks spread over striped locks so queries and maintenance rarely wait on appends.
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};

use super::error::TsdbError;
use super::memseries::{Appended, HeadChunk, MemSeries};
use super::options::AppendOutcome;
use super::series_index::{hash_labels, HeadIndex};
use super::symbols::Interner;
use crate::model::{Labels, Matcher};

const STRIPES: usize = 64;

/// Runs of 64 consecutive ids (one target's series are created together) share a stripe,
/// so a target's batch takes few stripes, and two targets' batches share at most the one
/// holding both ends of their runs.
fn stripe_of(id: u32) -> usize {
    (id as usize >> 6) % STRIPES
}

/// A batch's place in line on each stripe it touches, taken while the storage holds the WAL
/// lock (so in WAL order), and the floor read then. Applying waits for each stripe's earlier
/// batches; dropping passes through the turns not used, so a line never stalls.
pub struct Tickets<'a> {
    head: &'a Head,
    turns: [Option<u64>; STRIPES],
    min_valid: i64,
}

impl Drop for Tickets<'_> {
    fn drop(&mut self) {
        for s in 0..STRIPES {
            if let Some(t) = self.turns[s].take() {
                self.head.wait_turn(s, t);
                self.head.end_turn(s);
            }
        }
    }
}

/// One stripe's line: the ticket being served, and where waiters sleep.
#[derive(Default)]
struct Line {
    serving: AtomicU64,
    sleep: Mutex<()>,
    wake: Condvar,
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
    /// Per stripe: the next ticket to hand out (taken under the WAL lock)...
    next_ticket: Vec<AtomicU64>,
    /// ...and the ticket being served.
    lines: Vec<Line>,
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
            next_ticket: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            lines: (0..STRIPES).map(|_| Line::default()).collect(),
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

    /// Raises the floor below which samples are refused. The caller holds the WAL lock and
    /// then waits out a [`Head::barrier`], so every batch has either read the new floor or
    /// is in the head when it goes on.
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

    /// Places in line for `samples`' stripes. The storage takes them while it holds the WAL
    /// lock, so each stripe applies batches in the order the WAL has them (replay then
    /// decides every sample as the live head did), and reads the floor then, so a floor
    /// raised later (see [`Head::barrier`]) waits for this batch.
    pub fn take_tickets(&self, samples: &[(u32, i64, f64)]) -> Tickets<'_> {
        let mut want = [false; STRIPES];
        for &(id, ..) in samples {
            want[stripe_of(id)] = true;
        }
        self.tickets(want)
    }

    /// Places in line on every stripe: dropped once the batches before it are applied.
    /// Taken with the WAL lock held after raising the floor, it waits out the batches that
    /// read the old floor.
    pub fn barrier(&self) -> Tickets<'_> {
        self.tickets([true; STRIPES])
    }

    fn tickets(&self, want: [bool; STRIPES]) -> Tickets<'_> {
        let turns = std::array::from_fn(|s| {
            want[s].then(|| self.next_ticket[s].fetch_add(1, Ordering::Relaxed))
        });
        Tickets {
            head: self,
            turns,
            min_valid: self.min_valid(),
        }
    }

    fn is_turn(&self, s: usize, ticket: u64) -> bool {
        self.lines[s].serving.load(Ordering::Acquire) == ticket
    }

    fn wait_turn(&self, s: usize, ticket: u64) {
        for _ in 0..64 {
            if self.is_turn(s, ticket) {
                return;
            }
            std::hint::spin_loop();
        }
        let line = &self.lines[s];
        let mut g = line.sleep.lock().unwrap_or_else(PoisonError::into_inner);
        while !self.is_turn(s, ticket) {
            g = line.wake.wait(g).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn end_turn(&self, s: usize) {
        let line = &self.lines[s];
        line.serving.fetch_add(1, Ordering::Release);
        // Taken between the change and the wake-up, so a waiter that saw the old value is
        // asleep by now and is woken.
        drop(line.sleep.lock().unwrap_or_else(PoisonError::into_inner));
        line.wake.notify_all();
    }

    /// Applies samples in order, counting what was refused: stripe by stripe, each when its
    /// turn comes (those whose turn has come first).
    pub fn append(
        &self,
        mut tickets: Tickets<'_>,
        samples: &[(u32, i64, f64)],
        out: &mut AppendOutcome,
    ) {
        let min_valid = tickets.min_valid;
        let mut max_t = i64::MIN;
        // The batch's positions grouped by stripe, in batch order within each.
        let mut start = [0u32; STRIPES + 1];
        for &(id, ..) in samples {
            start[stripe_of(id) + 1] += 1;
        }
        for s in 0..STRIPES {
            start[s + 1] += start[s];
        }
        let mut fill = start;
        let mut order = vec![0u32; samples.len()];
        for (i, &(id, ..)) in samples.iter().enumerate() {
            let s = stripe_of(id);
            order[fill[s] as usize] = i as u32;
            fill[s] += 1;
        }
        loop {
            let mut pending = (0..STRIPES).filter_map(|s| Some((s, tickets.turns[s]?)));
            let Some(first) = pending.next() else {
                break;
            };
            let (s, ticket) = std::iter::once(first)
                .chain(pending)
                .find(|&(s, t)| self.is_turn(s, t))
                .unwrap_or(first);
            self.wait_turn(s, ticket);
            {
                let mut stripe = self.stripes[s].lock().expect("head stripe lock");
                let mine = &order[start[s] as usize..start[s + 1] as usize];
                for &(id, t, v) in mine.iter().map(|&i| &samples[i as usize]) {
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
            }
            tickets.turns[s] = None;
            self.end_turn(s);
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
