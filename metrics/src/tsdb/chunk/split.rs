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

fn encode_values_as(vs: &[f64], scale: u8, dod: bool) -> Vec<u8> {
    let mut w = BitWriter::with_header(0, vs.len() + 16);
    let mut e = ValueEncoder::first(&mut w, vs[0], scale, dod);
    for &v in &vs[1..] {
        e.append(&mut w, v);
    }
    w.into_bytes()
}

pub fn encode_values(vs: &[f64]) -> Box<[u8]> {
    debug_assert!(!vs.is_empty());
    let scale = best_scale(vs);
    let plain = encode_values_as(vs, scale, false);
    let steady = encode_values_as(vs, scale, true);
    if steady.len() < plain.len() {
        steady.into_boxed_slice()
    } else {
        plain.into_boxed_slice()
    }
}

/// Decodes `n` values, calling `f` with each (in order).
pub fn decode_values(
    data: &[u8],
    n: usize,
    mut f: impl FnMut(usize, f64),
) -> Result<(), CorruptChunk> {
    if n == 0 {
        return Ok(());
    }
    let mut r = BitReader::new(data, 0);
    let (mut d, v) = ValueDecoder::first(&mut r)?;
    f(0, v);
    for i in 1..n {
        f(i, d.next(&mut r)?);
    }
    Ok(())
}
