//! Compressed chunks: Gorilla-style, with two changes that suit scraped data.
//!
//! Timestamps ([`time`]): Gorilla stores delta-of-delta. A scrape's jitter `j` makes that
//! `j_i - 2j_{i-1} + j_{i-2}` (variance 6σ²) where the deviation from a fixed interval,
//! `j_i - j_{i-1}`, has 2σ²; so a chunk keeps one base interval `D` (the first delta rounded
//! to a whole second when within 50 ms, or the median when a block is written) and stores
//! `t_i - t_{i-1} - D`: 1 bit on time, 5 bits for a few ms of jitter.
//!
//! Values ([`value`]):
//! - `0`: bit-identical to the previous value;
//! - with a decimal scale `k`, `10` and the change in units of `10^-k` (or the change of the
//!   change) when both values are exact decimals with `k` digits (counters and most gauges
//!   are integers or short decimals, whose XOR has many noisy mantissa bits), else `11`
//!   and Gorilla XOR (window reuse `0`, or `1`, 5 bits of leading zeros, 6 bits of length,
//!   the bits); whichever is shorter;
//! - without a scale, `1` and XOR.
//!
//! Every path compares and restores bit patterns, so NaN payloads, `-0.0` and the
//! staleness marker come back bit-exact.
//!
//! The head appends to an interleaved chunk (below): 2 bytes big-endian count, `t0`, scale
//! (3 bits), mode (1 bit), `v0`, then per sample the base interval (second sample only),
//! the time deviation and the value code. Blocks store [`split`] chunks.
use super::bits::{BitReader, BitWriter, BitsExhausted};
use super::Windows;

pub mod split;
mod time;
mod value;

use time::{TimeDecoder, TimeEncoder};
use value::{scale_of, ValueDecoder, ValueEncoder};

/// Samples per chunk while appending in the head (as Prometheus).
pub const HEAD_CHUNK_SAMPLES: u16 = 120;
/// Samples per chunk when a block is written (fewer headers on disk).
pub const BLOCK_CHUNK_SAMPLES: usize = 480;

/// An open chunk being appended to. Holds no uncompressed samples.
#[derive(Clone, Debug)]
pub struct ChunkAppender {
    w: BitWriter,
    count: u16,
    time: TimeEncoder,
    value: ValueEncoder,
}

impl ChunkAppender {
    /// A chunk starting with this sample; the scale is the first value's.
    pub fn new(t: i64, v: f64) -> ChunkAppender {
        let mut w = BitWriter::with_header(2, 16);
        let time = TimeEncoder::first(&mut w, t, None);
        let value = ValueEncoder::first(&mut w, v, scale_of(v), false);
        let mut c = ChunkAppender {
            w,
            count: 1,
            time,
            value,
        };
        c.store_count();
        c
    }

    pub fn count(&self) -> u16 {
        self.count
    }

    pub fn first_t(&self) -> i64 {
        self.time.first_t()
    }

    pub fn last_t(&self) -> i64 {
        self.time.last_t()
    }

    pub fn last_v(&self) -> f64 {
        self.value.last()
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
        debug_assert!(t > self.last_t());
        self.time.append(&mut self.w, t);
        self.value.append(&mut self.w, v);
        self.count += 1;
        self.store_count();
    }

    fn store_count(&mut self) {
        let c = self.count.to_be_bytes();
        self.w.bytes_mut()[..2].copy_from_slice(&c);
    }
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

/// Decodes a head chunk, pushing the samples with `mint <= t <= maxt` (and in `windows`)
/// onto `out`.
pub fn decode_into(
    data: &[u8],
    mint: i64,
    maxt: i64,
    windows: Option<&Windows>,
    out: &mut Vec<(i64, f64)>,
) -> Result<(), CorruptChunk> {
    match windows {
        None => decode_each(data, mint, maxt, |t, v| out.push((t, v))),
        Some(w) => decode_each(data, mint, maxt, |t, v| {
            if w.contains(t) {
                out.push((t, v))
            }
        }),
    }
}

fn decode_each(
    data: &[u8],
    mint: i64,
    maxt: i64,
    mut f: impl FnMut(i64, f64),
) -> Result<(), CorruptChunk> {
    let n = count(data);
    if n == 0 {
        return Err(CorruptChunk);
    }
    let mut r = BitReader::new(data, 2);
    let (mut td, t) = TimeDecoder::first(&mut r)?;
    let (mut vd, v) = ValueDecoder::first(&mut r)?;
    if t >= mint && t <= maxt {
        f(t, v);
    }
    for _ in 1..n {
        let t = td.next(&mut r)?;
        let v = vd.next(&mut r)?;
        if t > maxt {
            break;
        }
        if t >= mint {
            f(t, v);
        }
    }
    Ok(())
}

/// Decodes a whole head chunk.
#[cfg(test)]
pub fn decode(data: &[u8]) -> Result<Vec<(i64, f64)>, CorruptChunk> {
    let mut out = Vec::with_capacity(count(data));
    decode_into(data, i64::MIN, i64::MAX, None, &mut out)?;
    Ok(out)
}

/// Encodes samples as the two block streams and decodes them back (tests).
#[cfg(test)]
pub fn split_round_trip(samples: &[(i64, f64)]) -> Result<Vec<(i64, f64)>, CorruptChunk> {
    let ts: Vec<i64> = samples.iter().map(|s| s.0).collect();
    let vs: Vec<f64> = samples.iter().map(|s| s.1).collect();
    let (t_data, v_data) = (
        split::encode_times(&ts),
        split::encode_values(&vs, split::Layout::Restarts),
    );
    let mut times = Vec::new();
    split::decode_times(&t_data, &mut times)?;
    let mut out = Vec::new();
    split::decode_values(&v_data, times.len(), split::Layout::Restarts, |i, v| {
        out.push((times[i], v))
    })?;
    Ok(out)
}
