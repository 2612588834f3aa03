//! Reading: matchers resolved against the head and every overlapping block, chunks decoded
//! outside every lock, a series' parts merged by time. With a large step the rollups are
//! read instead of raw samples (the head is rolled up on the fly); without, raw samples,
//! plus rollups for the stretch before a series' oldest raw sample when raw data there has
//! already been removed by retention.
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::block::{Block, TimesCache};
use super::block_meta::BlockKind;
use super::chunk;
use super::rollup;
use super::{Tsdb, Windows};
use crate::model::{Labels, Matcher, QueryError, Queryable, Series};

enum Part {
    Head(Vec<Arc<[u8]>>),
    /// A series of the `block`-th block of the snapshot.
    Block {
        block: usize,
        series: u32,
    },
}

#[derive(Default)]
struct Parts {
    raw: Vec<Part>,
    rollup: Vec<Part>,
}

fn storage(e: impl std::fmt::Display) -> QueryError {
    QueryError::Storage(e.to_string())
}

/// Selections with at least this many series are decoded on two threads...
const PARALLEL_SERIES: usize = 64;
/// ...and so are those of at least `PARALLEL_LONG_SERIES` series over at least this long (a
/// dashboard's 30 days of 40 series decode ~7 M samples: a thread's start is nothing then).
const PARALLEL_LONG_MS: i64 = 6 * 3_600_000;
const PARALLEL_LONG_SERIES: usize = 8;

impl Tsdb {
    pub(super) fn select_impl(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        step_ms: i64,
        windows: Option<Windows>,
    ) -> Result<Vec<Series>, QueryError> {
        let use_rollups = step_ms >= self.opts.rollup_min_step_ms;
        // Rollups stand for buckets of raw samples: read whole.
        let windows = windows.filter(|_| !use_rollups);
        // The head is read before the block list: a chunk moving from the head into a new
        // block is then seen at least once (twice is merged away), never missed.
        let head = self.head.read(matchers, mint, maxt);
        let blocks = self.blocks.read().expect("blocks lock").clone();
        let fallback_end = self.raw_fallback_end(&blocks);
        let mut parts: HashMap<Labels, Parts> = HashMap::new();
        for (bi, b) in blocks.iter().enumerate() {
            let rollup = b.meta.kind == BlockKind::Rollup;
            let wanted = if use_rollups {
                rollup
            } else {
                !rollup || (mint < fallback_end && b.meta.mint < fallback_end)
            };
            if !wanted || b.meta.maxt < mint || b.meta.mint > maxt {
                continue;
            }
            for i in b.matching(matchers) {
                if b.overlaps(i, mint, maxt) {
                    let e = parts.entry(b.labels(i)).or_default();
                    let part = Part::Block {
                        block: bi,
                        series: i,
                    };
                    if rollup {
                        e.rollup.push(part);
                    } else {
                        e.raw.push(part);
                    }
                }
            }
            self.check_series(parts.len())?;
        }
        for h in head {
            parts
                .entry(h.labels)
                .or_default()
                .raw
                .push(Part::Head(h.chunks));
            self.check_series(parts.len())?;
        }
        let mut parts: Vec<(Labels, Parts)> = parts.into_iter().collect();
        parts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let budget = AtomicUsize::new(self.opts.max_query_samples);
        let ctx = Assemble {
            blocks: &blocks,
            mint,
            maxt,
            budget: &budget,
            use_rollups,
            res: self.opts.rollup_resolution_ms,
            windows,
        };
        let long =
            parts.len() >= PARALLEL_LONG_SERIES && maxt.saturating_sub(mint) >= PARALLEL_LONG_MS;
        if parts.len() < PARALLEL_SERIES && !long {
            return ctx.run(parts);
        }
        let second = parts.split_off(parts.len() / 2);
        let (a, b) = std::thread::scope(|s| {
            let other = s.spawn(|| ctx.run(second));
            let mine = ctx.run(parts);
            (mine, other.join())
        });
        let mut out = a?;
        out.extend(b.map_err(|_| storage("a decoding thread panicked"))??);
        Ok(out)
    }

    pub(super) fn check_series(&self, n: usize) -> Result<(), QueryError> {
        if n > self.opts.max_query_series {
            return Err(QueryError::TooMuchData(format!(
                "the selection matches more than {} series",
                self.opts.max_query_series
            )));
        }
        Ok(())
    }

    /// Before this time a series' raw samples may have been removed by retention: before the
    /// oldest raw block (or, without one, the head's floor), and within the shortest raw
    /// retention of the newest sample or the last retention run (a policy may have removed
    /// some series' samples).
    fn raw_fallback_end(&self, blocks: &[Arc<Block>]) -> i64 {
        let shortest = {
            let r = self.retention.read().expect("retention lock");
            r.policies
                .iter()
                .map(|p| p.raw)
                .chain([r.default.raw])
                .min()
                .unwrap_or_default()
        };
        // Retention cut relative to the `now` of the last maintenance, which may be past
        // the newest sample.
        let newest = self.head.max_t().unwrap_or(self.head.min_valid()).max(
            self.retention_now
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        let by_policy = newest.saturating_sub(shortest.as_millis().min(i64::MAX as u128) as i64);
        let oldest_raw = blocks
            .iter()
            .filter(|b| b.meta.kind == BlockKind::Raw)
            .map(|b| b.meta.mint)
            .min()
            .unwrap_or(self.head.min_valid());
        by_policy.max(oldest_raw)
    }

    /// Calls `f` with every label of every matching series that has samples in the range.
    fn for_each_label(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        mut f: impl FnMut(&str, &str),
    ) {
        for (id, labels) in self.head.matching(matchers) {
            if self.head.overlaps(id, mint, maxt) {
                labels.iter().for_each(|l| f(&l.name, &l.value));
            }
        }
        let blocks = self.blocks.read().expect("blocks lock").clone();
        for b in blocks
            .iter()
            .filter(|b| b.meta.maxt >= mint && b.meta.mint <= maxt)
        {
            for i in b.matching(matchers) {
                if b.overlaps(i, mint, maxt) {
                    b.label_pairs(i).for_each(|(n, v)| f(n, v));
                }
            }
        }
    }
}

/// Turns gathered parts into series: decoding within a time range and a shared sample
/// budget, then merging raw samples and rollups.
struct Assemble<'a> {
    blocks: &'a [Arc<Block>],
    mint: i64,
    maxt: i64,
    budget: &'a AtomicUsize,
    use_rollups: bool,
    res: i64,
    windows: Option<Windows>,
}

impl Assemble<'_> {
    fn run(&self, parts: Vec<(Labels, Parts)>) -> Result<Vec<Series>, QueryError> {
        let mut caches: Vec<TimesCache> =
            self.blocks.iter().map(|_| TimesCache::default()).collect();
        let mut out = Vec::with_capacity(parts.len());
        for (labels, p) in parts {
            // Where rollups fill in before the oldest raw sample, that sample is needed.
            let windows = self.windows.filter(|_| p.rollup.is_empty());
            let mut raw = self.decode(&p.raw, windows, &mut caches)?;
            let mut roll = self.decode(&p.rollup, None, &mut caches)?;
            rollup::normalize(&mut raw);
            let samples = if self.use_rollups {
                if !raw.is_empty() {
                    roll.extend(rollup::last_per_bucket(&raw, self.res));
                }
                rollup::normalize(&mut roll);
                roll
            } else if roll.is_empty() {
                raw
            } else {
                rollup::normalize(&mut roll);
                let first_raw = raw.first().map_or(i64::MAX, |s| s.0);
                roll.retain(|s| s.0 < first_raw);
                roll.extend(raw);
                roll
            };
            if !samples.is_empty() {
                out.push(Series { labels, samples });
            }
        }
        Ok(out)
    }

    fn decode(
        &self,
        parts: &[Part],
        windows: Option<Windows>,
        caches: &mut [TimesCache],
    ) -> Result<Vec<(i64, f64)>, QueryError> {
        let mut out = Vec::new();
        let mut sized = false;
        for p in parts {
            match p {
                Part::Head(chunks) => {
                    for c in chunks {
                        if windows.is_none() {
                            out.reserve(chunk::count(c));
                        }
                        chunk::decode_into(c, self.mint, self.maxt, windows.as_ref(), &mut out)
                            .map_err(|_| storage("corrupt head chunk"))?;
                    }
                }
                Part::Block { block, series } => {
                    let range = (self.mint, self.maxt);
                    self.blocks[*block]
                        .read(
                            *series,
                            range,
                            windows.as_ref(),
                            &mut out,
                            &mut caches[*block],
                        )
                        .map_err(storage)?;
                }
            }
            if let (Some(w), false) = (windows, sized) {
                // Room for the rest at the rate seen so far, once: 30 days of windows grow
                // the vector by doubling (copies, fresh pages) a dozen times otherwise.
                // Never past the samples the query may still take.
                if let Some(&(t, _)) = out.last() {
                    let (seen, all) = (w.count_until(t).max(1), w.count());
                    let rest = out.len() / seen * all.saturating_sub(seen);
                    let left = self.budget.load(Ordering::Relaxed);
                    out.reserve(rest.min(left.saturating_sub(out.len())));
                    sized = true;
                }
            }
        }
        self.budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                b.checked_sub(out.len())
            })
            .map_err(|_| {
                QueryError::TooMuchData(
                    "the selection holds more samples than the configured limit".to_string(),
                )
            })?;
        Ok(out)
    }
}

impl Queryable for Tsdb {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, QueryError> {
        self.select_impl(matchers, mint, maxt, 0, None)
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, QueryError> {
        let mut names = BTreeSet::new();
        self.for_each_label(matchers, mint, maxt, |n, _| {
            if !names.contains(n) {
                names.insert(n.to_string());
            }
        });
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, QueryError> {
        let mut values = BTreeSet::new();
        self.for_each_label(matchers, mint, maxt, |n, v| {
            if n == name && !values.contains(v) {
                values.insert(v.to_string());
            }
        });
        Ok(values.into_iter().collect())
    }
}

/// The PromQL evaluator's hints: rollups serve selections at a step of at least
/// `rollup_min_step_ms` whose range window (if any) spans several rollup points; a
/// `rate(x[5m])` at a 30-minute step still reads raw samples, a Grafana
/// `$__rate_interval` at that step (about the step) reads rollups.
impl crate::promql::HintedQueryable for Tsdb {
    fn select_hinted(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        hints: &crate::promql::SelectHints,
    ) -> Result<Vec<Series>, QueryError> {
        let wide = hints.range_ms == 0 || hints.range_ms >= 4 * self.opts.rollup_resolution_ms;
        let step = if wide { hints.step_ms } else { 0 };
        let windows = Windows::from_hints(mint, maxt, hints);
        self.select_impl(matchers, mint, maxt, step, windows)
    }
}
