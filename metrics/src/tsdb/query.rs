//! Reading: matchers resolved against the head and every overlapping block, chunks decoded
//! outside every lock, a series' parts merged by time. With a large step the rollups are
//! read instead of raw samples (the head is rolled up on the fly); without, raw samples,
//! plus rollups for the stretch before a series' oldest raw sample when raw data there has
//! already been removed by retention.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::block::Block;
use super::block_meta::BlockKind;
use super::chunk;
use super::rollup;
use super::Tsdb;
use crate::model::{Labels, Matcher, QueryError, Queryable, Series};

enum Part {
    Head(Vec<Arc<[u8]>>),
    Block { block: Arc<Block>, series: u32 },
}

#[derive(Default)]
struct Parts {
    raw: Vec<Part>,
    rollup: Vec<Part>,
}

fn storage(e: impl std::fmt::Display) -> QueryError {
    QueryError::Storage(e.to_string())
}

impl Tsdb {
    pub(super) fn select_impl(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        step_ms: i64,
    ) -> Result<Vec<Series>, QueryError> {
        let use_rollups = step_ms >= self.opts.rollup_min_step_ms;
        // The head is read before the block list: a chunk moving from the head into a new
        // block is then seen at least once (twice is merged away), never missed.
        let head = self.head.read(matchers, mint, maxt);
        let blocks = self.blocks.read().expect("blocks lock").clone();
        let fallback_end = self.raw_fallback_end();
        let mut parts: BTreeMap<Labels, Parts> = BTreeMap::new();
        for b in &blocks {
            let rollup = b.meta.kind == BlockKind::Rollup;
            let wanted = if use_rollups {
                rollup
            } else {
                !rollup || mint < fallback_end
            };
            if !wanted || b.meta.maxt < mint || b.meta.mint > maxt {
                continue;
            }
            for i in b.matching(matchers) {
                if b.overlaps(i, mint, maxt) {
                    let e = parts.entry(b.labels(i)).or_default();
                    let part = Part::Block {
                        block: b.clone(),
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
        let mut budget = self.opts.max_query_samples;
        let mut out = Vec::with_capacity(parts.len());
        for (labels, p) in parts {
            let mut raw = decode_parts(&p.raw, mint, maxt, &mut budget)?;
            let mut roll = decode_parts(&p.rollup, mint, maxt, &mut budget)?;
            rollup::normalize(&mut raw);
            let samples = if use_rollups {
                roll.extend(rollup::last_per_bucket(
                    &raw,
                    self.opts.rollup_resolution_ms,
                ));
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

    fn check_series(&self, n: usize) -> Result<(), QueryError> {
        if n > self.opts.max_query_series {
            return Err(QueryError::TooMuchData(format!(
                "the selection matches more than {} series",
                self.opts.max_query_series
            )));
        }
        Ok(())
    }

    /// Before this time a series' raw samples may have been removed by retention.
    fn raw_fallback_end(&self) -> i64 {
        let shortest = {
            let r = self.retention.read().expect("retention lock");
            r.policies
                .iter()
                .map(|p| p.raw)
                .chain([r.default.raw])
                .min()
                .unwrap_or_default()
        };
        let newest = self.head.max_t().unwrap_or(self.head.min_valid());
        newest.saturating_sub(shortest.as_millis().min(i64::MAX as u128) as i64)
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

fn decode_parts(
    parts: &[Part],
    mint: i64,
    maxt: i64,
    budget: &mut usize,
) -> Result<Vec<(i64, f64)>, QueryError> {
    let mut out = Vec::new();
    for p in parts {
        match p {
            Part::Head(chunks) => {
                for c in chunks {
                    chunk::decode_into(c, mint, maxt, &mut out)
                        .map_err(|_| storage("corrupt head chunk"))?;
                }
            }
            Part::Block { block, series } => {
                block.read(*series, mint, maxt, &mut out).map_err(storage)?;
            }
        }
        if out.len() > *budget {
            return Err(QueryError::TooMuchData(
                "the selection holds more samples than the configured limit".to_string(),
            ));
        }
    }
    *budget -= out.len();
    Ok(out)
}

impl Queryable for Tsdb {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, QueryError> {
        self.select_impl(matchers, mint, maxt, 0)
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
