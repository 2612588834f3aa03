//! The compressed chunk: Gorilla-style, with two changes that suit scraped data.
//!
//! Layout: 2 bytes big-endian sample count, then a bit stream:
//! - `t0` (64 bits), the decimal scale `k` (3 bits, 7 = none), `v0`;
//! - from the second sample on, a base interval `D` (signed, [`DECIMAL_CLASSES`]) once, then
//!   per sample `t_i - t_{i-1} - D` ([`TIME_CLASSES`]) and the value code.
//!
//! Timestamps: Gorilla stores delta-of-delta. A scrape's jitter `j` makes that
//! `j_i - 2j_{i-1} + j_{i-2}` (variance 6σ²) where the deviation from a fixed interval,
//! `j_i - j_{i-1}`, has 2σ²; so the chunk keeps one base interval `D` (the first delta,
//! rounded to a whole second when within 50 ms, or the median when a block is written).
//!
//! Values:
//! - `0`: bit-identical to the previous value;
//! - with a scale, `10` and the change in units of `10^-k` when both values are exact
//!   decimals with `k` digits (counters and most gauges are integers or short decimals,
//!   whose XOR has many noisy mantissa bits), else `11` and Gorilla XOR (window reuse `0`,
//!   or `1`, 5 bits of leading zeros, 6 bits of length, the bits);
//! - without a scale, `1` and XOR.
//!
//! Every path compares and restores bit patterns, so NaN payloads, `-0.0` and the
//! staleness marker come back bit-exact.
use super::bits::{BitReader, BitWriter, BitsExhausted, DECIMAL_CLASSES, TIME_CLASSES};

/// Samples per chunk while appending in the head (as Prometheus).
pub const HEAD_CHUNK_SAMPLES: u16 = 120;
/// Samples per chunk when a block is written (fewer headers on disk).
pub const BLOCK_CHUNK_SAMPLES: usize = 480;

const NO_SCALE: u8 = 7;
const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

/// `v` as an integer count of `10^-scale`, when that reproduces `v`'s bits exactly.
fn decimal(bits: u64, scale: u8) -> Option<i64> {
    let v = f64::from_bits(bits);
    if !v.is_finite() {
        return None;
    }
    let s = POW10[scale as usize];
    let m = (v * s).round();
    if m.abs() > MAX_EXACT {
        return None;
    }
    let m = m as i64;
    (from_decimal(m, scale).to_bits() == bits).then_some(m)
}

fn from_decimal(m: i64, scale: u8) -> f64 {
    m as f64 / POW10[scale as usize]
}

/// The smallest scale at which `v` is an exact decimal.
fn scale_of(v: f64) -> u8 {
    (0..NO_SCALE)
        .find(|&k| decimal(v.to_bits(), k).is_some())
        .unwrap_or(NO_SCALE)
}

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

/// An open chunk being appended to. Holds no uncompressed samples.
#[derive(Clone, Debug)]
pub struct ChunkAppender {
    w: BitWriter,
    count: u16,
    scale: u8,
    /// Gorilla XOR window; `leading == 0xff` means none yet.
    leading: u8,
    trailing: u8,
    first_t: i64,
    last_t: i64,
    base: i64,
    /// A base chosen ahead (block writing); otherwise taken from the first delta.
    fixed_base: Option<i64>,
    last_v: u64,
}

impl ChunkAppender {
    /// A chunk starting with this sample; the scale is the first value's.
    pub fn new(t: i64, v: f64) -> ChunkAppender {
        ChunkAppender::with_params(t, v, scale_of(v), None)
    }

    fn with_params(t: i64, v: f64, scale: u8, fixed_base: Option<i64>) -> ChunkAppender {
        let mut w = BitWriter::with_header(2, 16);
        w.write_bits(t as u64, 64);
        w.write_bits(scale as u64, 3);
        let bits = v.to_bits();
        if scale == NO_SCALE {
            w.write_bits(bits, 64);
        } else if let Some(m) = decimal(bits, scale) {
            w.write_bit(true);
            w.write_signed(m, &DECIMAL_CLASSES);
        } else {
            w.write_bit(false);
            w.write_bits(bits, 64);
        }
        let mut c = ChunkAppender {
            w,
            count: 1,
            scale,
            leading: 0xff,
            trailing: 0,
            first_t: t,
            last_t: t,
            base: 0,
            fixed_base,
            last_v: bits,
        };
        c.store_count();
        c
    }

    pub fn count(&self) -> u16 {
        self.count
    }

    pub fn first_t(&self) -> i64 {
        self.first_t
    }

    pub fn last_t(&self) -> i64 {
        self.last_t
    }

    pub fn last_v(&self) -> f64 {
        f64::from_bits(self.last_v)
    }

    pub fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    /// The finished chunk (shrunk to fit).
    pub fn finish(self) -> Box<[u8]> {
        self.w.into_bytes().into_boxed_slice()
    }

    /// Appends a sample; the caller guarantees `t > last_t` and `count < u16::MAX`.
    pub fn append(&mut self, t: i64, v: f64) {
        debug_assert!(t > self.last_t);
        let delta = t.wrapping_sub(self.last_t);
        if self.count == 1 {
            self.base = self.fixed_base.unwrap_or_else(|| base_for(delta));
            self.w.write_signed(self.base, &DECIMAL_CLASSES);
        }
        self.w
            .write_signed(delta.wrapping_sub(self.base), &TIME_CLASSES);
        self.append_value(v.to_bits());
        self.last_t = t;
        self.count += 1;
        self.store_count();
    }

    fn append_value(&mut self, bits: u64) {
        if bits == self.last_v {
            self.w.write_bit(false);
            return;
        }
        if self.scale == NO_SCALE {
            self.w.write_bit(true);
        } else {
            let prev = decimal(self.last_v, self.scale);
            let cur = decimal(bits, self.scale);
            if let (Some(p), Some(c)) = (prev, cur) {
                self.w.write_bits(0b10, 2);
                self.w.write_signed(c - p, &DECIMAL_CLASSES);
                self.last_v = bits;
                return;
            }
            self.w.write_bits(0b11, 2);
        }
        self.write_xor(bits ^ self.last_v);
        self.last_v = bits;
    }

    fn write_xor(&mut self, xor: u64) {
        let lz = xor.leading_zeros().min(31) as u8;
        let tz = xor.trailing_zeros() as u8;
        if self.leading != 0xff && lz >= self.leading && tz >= self.trailing {
            self.w.write_bit(false);
            let sig = 64 - self.leading as u32 - self.trailing as u32;
            self.w.write_bits(xor >> self.trailing, sig);
        } else {
            self.leading = lz;
            self.trailing = tz;
            let sig = 64 - lz as u32 - tz as u32;
            self.w.write_bit(true);
            self.w.write_bits(lz as u64, 5);
            self.w.write_bits((sig & 63) as u64, 6);
            self.w.write_bits(xor >> tz, sig);
        }
    }

    fn store_count(&mut self) {
        let c = self.count.to_be_bytes();
        self.w.bytes_mut()[..2].copy_from_slice(&c);
    }
}

/// Encodes samples (ascending, unique times, at most `u16::MAX`) as one chunk, choosing the
/// scale and base interval that suit all of them.
pub fn encode(samples: &[(i64, f64)]) -> Box<[u8]> {
    debug_assert!(!samples.is_empty() && samples.len() <= u16::MAX as usize);
    let (t0, v0) = samples[0];
    let mut c = ChunkAppender::with_params(t0, v0, best_scale(samples), median_delta(samples));
    for &(t, v) in &samples[1..] {
        c.append(t, v);
    }
    c.finish()
}

/// The smallest scale under which the most changed values are exact decimals; none when
/// fewer than half are.
fn best_scale(samples: &[(i64, f64)]) -> u8 {
    let mut best = (0usize, NO_SCALE);
    for k in 0..NO_SCALE {
        let n = samples
            .iter()
            .filter(|(_, v)| decimal(v.to_bits(), k).is_some())
            .count();
        if n > best.0 {
            best = (n, k);
        }
        if n == samples.len() {
            break;
        }
    }
    if best.0 * 2 < samples.len() {
        NO_SCALE
    } else {
        best.1
    }
}

fn median_delta(samples: &[(i64, f64)]) -> Option<i64> {
    if samples.len() < 2 {
        return None;
    }
    let mut d: Vec<i64> = samples
        .windows(2)
        .map(|w| w[1].0.wrapping_sub(w[0].0))
        .collect();
    let mid = d.len() / 2;
    Some(*d.select_nth_unstable(mid).1)
}

/// The sample count a chunk declares.
pub fn count(data: &[u8]) -> usize {
    data.get(..2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
        .unwrap_or(0)
}

/// A chunk that does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorruptChunk;

impl From<BitsExhausted> for CorruptChunk {
    fn from(_: BitsExhausted) -> CorruptChunk {
        CorruptChunk
    }
}

/// Decodes a chunk, pushing the samples with `mint <= t <= maxt` onto `out`.
pub fn decode_into(
    data: &[u8],
    mint: i64,
    maxt: i64,
    out: &mut Vec<(i64, f64)>,
) -> Result<(), CorruptChunk> {
    let n = count(data);
    if n == 0 {
        return Err(CorruptChunk);
    }
    let mut r = BitReader::new(data, 2);
    let mut t = r.read_bits(64)? as i64;
    let scale = r.read_bits(3)? as u8;
    let mut v = if scale == NO_SCALE || !r.read_bit()? {
        r.read_bits(64)?
    } else {
        from_decimal(r.read_signed(&DECIMAL_CLASSES)?, scale).to_bits()
    };
    // The decimal form of `v`, when known without recomputing.
    let mut v_dec: Option<i64> = None;
    let (mut leading, mut trailing) = (0u32, 0u32);
    let push = |out: &mut Vec<(i64, f64)>, t: i64, v: u64| {
        if t >= mint && t <= maxt {
            out.push((t, f64::from_bits(v)));
        }
    };
    push(out, t, v);
    let mut base = 0;
    for i in 1..n {
        if i == 1 {
            base = r.read_signed(&DECIMAL_CLASSES)?;
        }
        t = t
            .wrapping_add(base)
            .wrapping_add(r.read_signed(&TIME_CLASSES)?);
        if r.read_bit()? {
            let decimal_code = scale != NO_SCALE && !r.read_bit()?;
            if decimal_code {
                let prev = match v_dec {
                    Some(p) => p,
                    None => decimal(v, scale).ok_or(CorruptChunk)?,
                };
                let m = prev
                    .checked_add(r.read_signed(&DECIMAL_CLASSES)?)
                    .ok_or(CorruptChunk)?;
                v = from_decimal(m, scale).to_bits();
                v_dec = Some(m);
            } else {
                if r.read_bit()? {
                    leading = r.read_bits(5)? as u32;
                    let mut sig = r.read_bits(6)? as u32;
                    if sig == 0 {
                        sig = 64;
                    }
                    if leading + sig > 64 {
                        return Err(CorruptChunk);
                    }
                    trailing = 64 - leading - sig;
                }
                let sig = 64 - leading - trailing;
                v ^= r.read_bits(sig)? << trailing;
                v_dec = None;
            }
        }
        if t > maxt {
            break;
        }
        push(out, t, v);
    }
    Ok(())
}

/// Decodes a whole chunk.
#[cfg(test)]
pub fn decode(data: &[u8]) -> Result<Vec<(i64, f64)>, CorruptChunk> {
    let mut out = Vec::with_capacity(count(data));
    decode_into(data, i64::MIN, i64::MAX, &mut out)?;
    Ok(out)
}
