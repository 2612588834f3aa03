//! Retention: which blocks go, which are rewritten without some series. A series' cutoff
//! is `now - ` its policy's raw (or rollup) duration; data goes a block at a time, once the
//! block's newest sample is older than the cutoff.
use std::time::Duration;

use super::block::Block;
use super::block_meta::BlockKind;
use super::options::{Retention, RetentionPolicy};
use crate::model::Labels;

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    Delete,
    /// Rewrite keeping only series that have not expired.
    Rewrite,
}

fn millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

fn duration_for(p: &RetentionPolicy, kind: BlockKind) -> i64 {
    millis(match kind {
        BlockKind::Raw => p.raw,
        BlockKind::Rollup => p.rollup,
    })
}

/// Whether a series with `labels` has expired in a block of `kind` whose newest sample is
/// at `maxt`.
pub fn expired(r: &Retention, kind: BlockKind, labels: &Labels, maxt: i64, now: i64) -> bool {
    maxt < now.saturating_sub(duration_for(r.for_series(labels), kind))
}

pub fn verdict(r: &Retention, block: &Block, now: i64) -> Verdict {
    let kind = block.meta.kind;
    let all = r.policies.iter().chain([&r.default]);
    let shortest = all
        .clone()
        .map(|p| duration_for(p, kind))
        .min()
        .unwrap_or(0);
    let longest = all.map(|p| duration_for(p, kind)).max().unwrap_or(0);
    let maxt = block.meta.maxt;
    if maxt >= now.saturating_sub(shortest) {
        return Verdict::Keep;
    }
    if maxt < now.saturating_sub(longest) {
        return Verdict::Delete;
    }
    let n = block.series_count() as u32;
    let gone = (0..n)
        .filter(|&i| expired(r, kind, &block.labels(i), maxt, now))
        .count() as u32;
    match gone {
        0 => Verdict::Keep,
        g if g == n => Verdict::Delete,
        _ => Verdict::Rewrite,
    }
}
