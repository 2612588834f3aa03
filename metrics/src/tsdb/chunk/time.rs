//! Timestamps: deviations from one base interval per chunk.
use super::super::bits::{BitReader, BitWriter, BitsExhausted, DECIMAL_CLASSES, TIME_CLASSES};

/// The base interval for a first delta: whole seconds when the delta is within 50 ms of
/// them (scrape intervals are), else the delta itself.
fn base_for(delta: i64) -> i64 {
    let rounded = (delta + 500).div_euclid(1000) * 1000;
    if rounded > 0 && (delta - rounded).abs() <= 50 {
        rounded
    } else {
        delta
    }
}

/// The median interval of ascending timestamps (for chunks encoded whole).
pub fn median_delta(ts: &[i64]) -> Option<i64> {
    if ts.len() < 2 {
        return None;
    }
    let mut d: Vec<i64> = ts.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let mid = d.len() / 2;
    Some(*d.select_nth_unstable(mid).1)
}

const UNSET: i64 = i64::MIN;

#[derive(Clone, Debug)]
pub struct TimeEncoder {
    count: u32,
    first: i64,
    last: i64,
    /// `UNSET` until the second sample (unless chosen ahead).
    base: i64,
}

impl TimeEncoder {
    pub fn first(w: &mut BitWriter, t: i64, base: Option<i64>) -> TimeEncoder {
        w.write_bits(t as u64, 64);
        TimeEncoder {
            count: 1,
            first: t,
            last: t,
            base: base.unwrap_or(UNSET),
        }
    }

    pub fn append(&mut self, w: &mut BitWriter, t: i64) {
        let delta = t.wrapping_sub(self.last);
        if self.count == 1 {
            if self.base == UNSET {
                self.base = base_for(delta);
            }
            w.write_signed(self.base, &DECIMAL_CLASSES);
        }
        w.write_signed(delta.wrapping_sub(self.base), &TIME_CLASSES);
        self.last = t;
        self.count += 1;
    }

    pub fn first_t(&self) -> i64 {
        self.first
    }

    pub fn last_t(&self) -> i64 {
        self.last
    }
}

pub struct TimeDecoder {
    count: u32,
    last: i64,
    base: i64,
}

impl TimeDecoder {
    pub fn first(r: &mut BitReader<'_>) -> Result<(TimeDecoder, i64), BitsExhausted> {
        let t = r.read_bits(64)? as i64;
        Ok((
            TimeDecoder {
                count: 1,
                last: t,
                base: 0,
            },
            t,
        ))
    }

    #[inline(always)]
    pub fn next(&mut self, r: &mut BitReader<'_>) -> Result<i64, BitsExhausted> {
        if self.count == 1 {
            self.base = r.read_signed(&DECIMAL_CLASSES)?;
        }
        self.count += 1;
        self.last = self
            .last
            .wrapping_add(self.base)
            .wrapping_add(r.read_signed(&TIME_CLASSES)?);
        Ok(self.last)
    }
}
