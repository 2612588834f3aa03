//! The block form of a chunk: timestamps and values in separate streams, so that series
//! scraped together (one target's, with identical timestamps) share one timestamp stream
//! in a block and pay for their values only.
//!
//! Times: 2 bytes big-endian count, `t0` (64 bits), the base interval (the median), then
//! each deviation. Values: scale, mode, `v0`, then each value code (see [`super::value`]);
//! the count comes from the times. The value stream is encoded twice, with plain changes and
//! with changes of changes, and the smaller kept.
use super::super::bits::{BitReader, BitWriter};
use super::time::{median_delta, TimeDecoder, TimeEncoder};
use super::value::{best_scale, ValueDecoder, ValueEncoder};
use super::CorruptChunk;

pub fn encode_times(ts: &[i64]) -> Box<[u8]> {
    debug_assert!(!ts.is_empty() && ts.len() <= u16::MAX as usize);
    let mut w = BitWriter::with_header(2, ts.len() / 2 + 16);
    let mut e = TimeEncoder::first(&mut w, ts[0], median_delta(ts));
    for &t in &ts[1..] {
        e.append(&mut w, t);
    }
    w.bytes_mut()[..2].copy_from_slice(&(ts.len() as u16).to_be_bytes());
    w.into_bytes().into_boxed_slice()
}

pub fn decode_times(data: &[u8], out: &mut Vec<i64>) -> Result<(), CorruptChunk> {
    let n = super::count(data);
    if n == 0 {
        return Err(CorruptChunk);
    }
    out.reserve(n);
    let mut r = BitReader::new(data, 2);
    let (mut d, t) = TimeDecoder::first(&mut r)?;
    out.push(t);
    for _ in 1..n {
        out.push(d.next(&mut r)?);
    }
    Ok(())
}

/// Values are written on their own every this many samples (restart points; ~6 bits a
/// sample's worth each at 96), so that reading a short window decodes from the restart
/// point before it instead of from the chunk's start.
pub const RESTART_EVERY: usize = 96;

/// How a block's value streams are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Blocks written before restart points (chunks file `BTC1`): the stream alone.
    Plain,
    /// `BTC2`: a byte with the restart interval ÷ 8 (0: none), each restart point's bit
    /// offset from the stream's start (u16 big-endian), then the stream.
    Restarts,
}

fn encode_values_as(vs: &[f64], scale: u8, dod: bool, layout: Layout, every: usize) -> Vec<u8> {
    let every = if layout == Layout::Plain { 0 } else { every };
    let count = (vs.len() - 1).checked_div(every).unwrap_or(0);
    let prefix = match layout {
        Layout::Plain => 0,
        Layout::Restarts => 1 + 2 * count,
    };
    let mut w = BitWriter::with_header(prefix, vs.len() + 16 + prefix);
    let mut e = ValueEncoder::first(&mut w, vs[0], scale, dod);
    let mut offsets = Vec::with_capacity(count);
    for (i, &v) in vs.iter().enumerate().skip(1) {
        if every > 0 && i % every == 0 {
            offsets.push(w.bit_len() - prefix * 8);
            e.restart(&mut w, v);
        } else {
            e.append(&mut w, v);
        }
    }
    if offsets.iter().any(|&o| o > u16::MAX as usize) {
        // Too long to point into (never at 480 samples): no restart points.
        return encode_values_as(vs, scale, dod, layout, 0);
    }
    if layout == Layout::Restarts {
        let b = w.bytes_mut();
        b[0] = (every / 8) as u8;
        for (k, o) in offsets.iter().enumerate() {
            b[1 + 2 * k..3 + 2 * k].copy_from_slice(&(*o as u16).to_be_bytes());
        }
    }
    w.into_bytes()
}

pub fn encode_values(vs: &[f64], layout: Layout) -> Box<[u8]> {
    debug_assert!(!vs.is_empty());
    let scale = best_scale(vs);
    let plain = encode_values_as(vs, scale, false, layout, RESTART_EVERY);
    let steady = encode_values_as(vs, scale, true, layout, RESTART_EVERY);
    if steady.len() < plain.len() {
        steady.into_boxed_slice()
    } else {
        plain.into_boxed_slice()
    }
}

/// Decodes all `n` values, calling `f` with each (in order).
pub fn decode_values(
    data: &[u8],
    n: usize,
    layout: Layout,
    f: impl FnMut(usize, f64),
) -> Result<(), CorruptChunk> {
    decode_ranges(data, n, layout, &[(0, n)], f)
}

/// Decodes the values whose index is in `ranges` (`lo..hi`, ascending, disjoint, within
/// `n`), calling `f` with each in order: from the restart point before a range when that
/// is past what was decoded, else on from there; never past the last range.
pub fn decode_ranges(
    data: &[u8],
    n: usize,
    layout: Layout,
    ranges: &[(usize, usize)],
    mut f: impl FnMut(usize, f64),
) -> Result<(), CorruptChunk> {
    if n == 0 || ranges.iter().all(|&(lo, hi)| lo >= hi) {
        return Ok(());
    }
    let (every, table, body) = match layout {
        Layout::Plain => (0, &[][..], 0),
        Layout::Restarts => {
            let every = *data.first().ok_or(CorruptChunk)? as usize * 8;
            let count = (n - 1).checked_div(every).unwrap_or(0);
            let table = data.get(1..1 + 2 * count).ok_or(CorruptChunk)?;
            (every, table, 1 + 2 * count)
        }
    };
    let mut r = BitReader::new(data, body);
    let (scale, dod) = ValueDecoder::header(&mut r)?;
    let (mut d, v) = ValueDecoder::fresh(&mut r, scale, dod)?;
    if ranges.iter().find(|r| r.0 < r.1).is_some_and(|r| r.0 == 0) {
        f(0, v);
    }
    // The index of the next value in the stream, and of the next restart point.
    let mut i = 1;
    let mut restart = if every == 0 { usize::MAX } else { every };
    for &(lo, hi) in ranges {
        if hi > n || lo > hi {
            return Err(CorruptChunk);
        }
        if lo == hi {
            continue;
        }
        let before = lo.checked_div(every).map_or(0, |k| k * every);
        if before > i {
            let k = before / every - 1;
            let off = u16::from_be_bytes([table[2 * k], table[2 * k + 1]]);
            r = BitReader::at_bit(data, body, off as usize)?;
            i = before;
            restart = before;
        }
        while i < hi {
            if i == restart {
                restart = restart.saturating_add(every);
                let v = d.restart(&mut r)?;
                if i >= lo {
                    f(i, v);
                }
                i += 1;
                continue;
            }
            // Up to the next restart point or the range's end, without a check per value.
            let to = hi.min(restart);
            d.run(&mut r, i, to, |k, v| {
                if k >= lo {
                    f(k, v)
                }
            })?;
            i = to;
        }
    }
    Ok(())
}
