//! Storage tests, one file per area; each opens its own temporary directory.
use std::path::Path;

use super::{Options, Tsdb};
use crate::model::{Labels, Matcher, Queryable, Series};

mod append;
mod chunk_codec;
mod crash;
mod faults;
mod kill9;
mod kill9_compaction;
mod retention;
mod select;
mod wal;
mod windows;

/// 2023-11-14T00:00:00Z: midnight, so block windows of every level start here.
pub const T0: i64 = 1_699_920_000_000;
pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;

/// Deterministic pseudo-random numbers (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub fn series(name: &str, pairs: &[(&str, &str)]) -> Labels {
    Labels::new(
        [("__name__", name)]
            .iter()
            .chain(pairs)
            .map(|(a, b)| (a.to_string(), b.to_string())),
    )
}

pub fn open(dir: &Path) -> Tsdb {
    Tsdb::open(dir, Options::default()).expect("open")
}

/// Appends `n` samples every 15 s from `from` to each of `labels`, value = f(series, i).
pub fn fill(db: &Tsdb, labels: &[Labels], from: i64, n: usize, f: impl Fn(usize, usize) -> f64) {
    let refs: Vec<_> = labels.iter().map(|l| db.series_ref(l).unwrap()).collect();
    for i in 0..n {
        let t = from + i as i64 * 15_000;
        let batch: Vec<_> = refs
            .iter()
            .enumerate()
            .map(|(s, r)| (*r, t, f(s, i)))
            .collect();
        let out = db.append(&batch).unwrap();
        assert_eq!(out.accepted, batch.len(), "{out:?}");
    }
}

/// Everything stored, raw.
pub fn everything(db: &Tsdb) -> Vec<Series> {
    db.select(
        &[Matcher::regex("__name__", ".+").unwrap()],
        i64::MIN,
        i64::MAX,
    )
    .unwrap()
}

pub fn sample_count(s: &[Series]) -> usize {
    s.iter().map(|s| s.samples.len()).sum()
}

/// Samples compared bit for bit (NaN == NaN when the bits agree).
pub fn same_bits(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
}
