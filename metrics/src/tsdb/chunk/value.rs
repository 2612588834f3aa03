//! Values: unchanged (1 bit), a change in decimal units (or its change from the previous
//! change, for counters with a steady rate), or Gorilla XOR; per sample the cheaper of the
//! last two. Bit patterns are compared and restored exactly.
use super::super::bits::{BitReader, BitWriter, BitsExhausted, DECIMAL_CLASSES};

pub const NO_SCALE: u8 = 7;
const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

/// `v` as an integer count of `10^-scale`, when that reproduces `v`'s bits exactly.
pub fn decimal(bits: u64, scale: u8) -> Option<i64> {
    let v = f64::from_bits(bits);
    if scale == 0 {
        // Integers (counters, the common case) without `round`, a libm call here: a
        // truncating cast gives back `v`'s bits only for an integer (NaN casts to 0, huge
        // values saturate, -0.0 comes back as 0.0: none of them match).
        let m = v as i64;
        return (m.unsigned_abs() <= MAX_EXACT as u64 && (m as f64).to_bits() == bits).then_some(m);
    }
    if !v.is_finite() || scale >= NO_SCALE {
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

#[inline(always)]
fn from_decimal(m: i64, scale: u8) -> f64 {
    // Integers (counters) skip the division, the decoder's slowest step; `x / 1.0 == x`.
    if scale == 0 {
        m as f64
    } else {
        m as f64 / POW10[scale as usize]
    }
}

/// The smallest scale at which `v` is an exact decimal.
pub fn scale_of(v: f64) -> u8 {
    (0..NO_SCALE)
        .find(|&k| decimal(v.to_bits(), k).is_some())
        .unwrap_or(NO_SCALE)
}

/// The smallest scale under which the most values are exact decimals; none when fewer
/// than half are.
pub fn best_scale(values: &[f64]) -> u8 {
    let mut best = (0usize, NO_SCALE);
    for k in 0..NO_SCALE {
        let n = values
            .iter()
            .filter(|v| decimal(v.to_bits(), k).is_some())
            .count();
        if n > best.0 {
            best = (n, k);
        }
        if n == values.len() {
            break;
        }
    }
    if best.0 * 2 < values.len() {
        NO_SCALE
    } else {
        best.1
    }
}

#[derive(Clone, Debug)]
pub struct ValueEncoder {
    scale: u8,
    /// Decimal codes hold the change of the change (counters at a steady rate).
    dod: bool,
    /// Gorilla XOR window; `leading == 0xff` means none yet.
    leading: u8,
    trailing: u8,
    last: u64,
    /// `decimal(last, scale)`, kept so that each append computes it once, for the new value.
    last_dec: Option<i64>,
    prev_delta: i64,
}

impl ValueEncoder {
    /// Writes the header (scale, mode) and the first value.
    pub fn first(w: &mut BitWriter, v: f64, scale: u8, dod: bool) -> ValueEncoder {
        w.write_bits(scale as u64, 3);
        w.write_bit(dod);
        ValueEncoder::fresh(w, v, scale, dod)
    }

    /// Writes `v` on its own, as the first value is (a restart point: decoding can begin
    /// here knowing only the header).
    pub fn restart(&mut self, w: &mut BitWriter, v: f64) {
        *self = ValueEncoder::fresh(w, v, self.scale, self.dod);
    }

    fn fresh(w: &mut BitWriter, v: f64, scale: u8, dod: bool) -> ValueEncoder {
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
        ValueEncoder {
            scale,
            dod,
            leading: 0xff,
            trailing: 0,
            last: bits,
            last_dec: decimal(bits, scale),
            prev_delta: 0,
        }
    }

    pub fn last(&self) -> f64 {
        f64::from_bits(self.last)
    }

    pub fn append(&mut self, w: &mut BitWriter, v: f64) {
        let bits = v.to_bits();
        if bits == self.last {
            w.write_bit(false);
            self.prev_delta = 0;
            return;
        }
        let xor = bits ^ self.last;
        let (lz, tz) = (
            (xor.leading_zeros().min(31)) as u8,
            xor.trailing_zeros() as u8,
        );
        let reuse = self.leading != 0xff && lz >= self.leading && tz >= self.trailing;
        let cur = decimal(bits, self.scale);
        if self.scale == NO_SCALE {
            w.write_bit(true);
        } else {
            if let (Some(p), Some(c)) = (self.last_dec, cur) {
                let delta = c - p;
                let code = if self.dod {
                    delta - self.prev_delta
                } else {
                    delta
                };
                let xor_cost = if reuse {
                    1 + 64 - self.leading as u32 - self.trailing as u32
                } else {
                    12 + 64 - lz as u32 - tz as u32
                };
                if DECIMAL_CLASSES.cost(code) <= xor_cost {
                    w.write_bits(0b10, 2);
                    w.write_signed(code, &DECIMAL_CLASSES);
                    self.last = bits;
                    self.last_dec = cur;
                    self.prev_delta = delta;
                    return;
                }
            }
            w.write_bits(0b11, 2);
        }
        if reuse {
            w.write_bit(false);
            let sig = 64 - self.leading as u32 - self.trailing as u32;
            w.write_bits(xor >> self.trailing, sig);
        } else {
            self.leading = lz;
            self.trailing = tz;
            let sig = 64 - lz as u32 - tz as u32;
            w.write_bit(true);
            w.write_bits(lz as u64, 5);
            w.write_bits((sig & 63) as u64, 6);
            w.write_bits(xor >> tz, sig);
        }
        self.last = bits;
        self.last_dec = cur;
        self.prev_delta = 0;
    }
}

pub struct ValueDecoder {
    scale: u8,
    dod: bool,
    leading: u32,
    trailing: u32,
    last: u64,
    /// The decimal form of `last`, when known without recomputing.
    last_dec: Option<i64>,
    prev_delta: i64,
}

impl ValueDecoder {
    pub fn first(r: &mut BitReader<'_>) -> Result<(ValueDecoder, f64), BitsExhausted> {
        let (scale, dod) = ValueDecoder::header(r)?;
        ValueDecoder::fresh(r, scale, dod)
    }

    /// The stream's scale and mode.
    pub fn header(r: &mut BitReader<'_>) -> Result<(u8, bool), BitsExhausted> {
        Ok((r.read_bits(3)? as u8, r.read_bit()?))
    }

    /// Reads a value written on its own ([`ValueEncoder::restart`]), in place of [`next`].
    ///
    /// [`next`]: ValueDecoder::next
    pub fn restart(&mut self, r: &mut BitReader<'_>) -> Result<f64, BitsExhausted> {
        let (d, v) = ValueDecoder::fresh(r, self.scale, self.dod)?;
        *self = d;
        Ok(v)
    }

    /// A decoder at a value written on its own, under a header read before.
    pub fn fresh(
        r: &mut BitReader<'_>,
        scale: u8,
        dod: bool,
    ) -> Result<(ValueDecoder, f64), BitsExhausted> {
        let (last, last_dec) = if scale == NO_SCALE || !r.read_bit()? {
            (r.read_bits(64)?, None)
        } else {
            let m = r.read_signed(&DECIMAL_CLASSES)?;
            (from_decimal(m, scale).to_bits(), Some(m))
        };
        let d = ValueDecoder {
            scale,
            dod,
            leading: 0,
            trailing: 0,
            last,
            last_dec,
            prev_delta: 0,
        };
        Ok((d, f64::from_bits(last)))
    }

    /// The next value (see [`ValueDecoder::run`]).
    #[inline(always)]
    pub fn next(&mut self, r: &mut BitReader<'_>) -> Result<f64, BitsExhausted> {
        let mut v = 0.0;
        self.run(r, 0, 1, |_, x| v = x)?;
        Ok(v)
    }

    /// Decodes values `from..to` (calling `f` with each index and value) with no restart
    /// point among them. The common decimal codes are decoded with the state and the reader
    /// in locals (registers, not memory a store must reach before the next sample's load).
    #[inline(always)]
    pub fn run(
        &mut self,
        r: &mut BitReader<'_>,
        from: usize,
        to: usize,
        mut f: impl FnMut(usize, f64),
    ) -> Result<(), BitsExhausted> {
        let mut i = from;
        while i < to {
            if let Some(mut m) = self.last_dec {
                let mut rr = *r;
                let mut prev_delta = self.prev_delta;
                let dod = -(self.dod as i64);
                let scale = self.scale;
                while i < to {
                    let Some(x) = rr.peek12() else { break };
                    let e = FAST[x as usize];
                    if e.len == 0 {
                        break;
                    }
                    rr.skip_peeked(e.len as u32);
                    let changed = -(e.changed as i64);
                    let code = e.code as i64 & changed;
                    let delta = code
                        .checked_add(prev_delta & dod & changed)
                        .ok_or(BitsExhausted)?;
                    m = m.checked_add(delta).ok_or(BitsExhausted)?;
                    prev_delta = delta;
                    f(i, from_decimal(m, scale));
                    i += 1;
                }
                *r = rr;
                self.last_dec = Some(m);
                self.last = from_decimal(m, scale).to_bits();
                self.prev_delta = prev_delta;
                if i == to {
                    break;
                }
            }
            let v = self.next_slow(r)?;
            f(i, v);
            i += 1;
        }
        Ok(())
    }

    #[inline(never)]
    fn next_slow(&mut self, r: &mut BitReader<'_>) -> Result<f64, BitsExhausted> {
        if !r.read_bit()? {
            self.prev_delta = 0;
            return Ok(f64::from_bits(self.last));
        }
        if self.scale != NO_SCALE && !r.read_bit()? {
            let prev = match self.last_dec {
                Some(p) => p,
                None => decimal(self.last, self.scale).ok_or(BitsExhausted)?,
            };
            let code = r.read_signed(&DECIMAL_CLASSES)?;
            let delta = if self.dod {
                code.checked_add(self.prev_delta).ok_or(BitsExhausted)?
            } else {
                code
            };
            let m = prev.checked_add(delta).ok_or(BitsExhausted)?;
            self.last = from_decimal(m, self.scale).to_bits();
            self.last_dec = Some(m);
            self.prev_delta = delta;
            return Ok(f64::from_bits(self.last));
        }
        if r.read_bit()? {
            let window = r.read_bits(11)? as u32;
            self.leading = window >> 6;
            let mut sig = window & 63;
            if sig == 0 {
                sig = 64;
            }
            if self.leading + sig > 64 {
                return Err(BitsExhausted);
            }
            self.trailing = 64 - self.leading - sig;
        }
        let sig = 64 - self.leading - self.trailing;
        self.last ^= r.read_bits(sig)? << self.trailing;
        self.last_dec = None;
        self.prev_delta = 0;
        Ok(f64::from_bits(self.last))
    }
}

/// A value code read from 12 bits: `len` 0 when the code needs the slow path.
#[derive(Clone, Copy)]
struct FastCode {
    len: u8,
    /// 0 for "unchanged" (`0`), 1 for a decimal change (`10`, class 0 or 1, the bits).
    changed: u8,
    code: i16,
}

const SLOW: FastCode = FastCode {
    len: 0,
    changed: 0,
    code: 0,
};

/// Every 12-bit prefix's code, for decoders whose last value is a decimal (a scale is set:
/// `0` is unchanged, `10` a decimal change; class 0 is `0` and 4 bits, class 1 `10` and 8
/// bits, see `DECIMAL_CLASSES`).
static FAST: [FastCode; 4096] = {
    let mut t = [SLOW; 4096];
    let mut x = 0;
    while x < 4096 {
        t[x] = if x >> 11 == 0 {
            FastCode {
                len: 1,
                changed: 0,
                code: 0,
            }
        } else if x >> 10 == 0b11 {
            SLOW
        } else if (x >> 9) & 1 == 0 {
            FastCode {
                len: 7,
                changed: 1,
                code: (((x >> 5) as i16 & 0xF) << 12) >> 12,
            }
        } else if (x >> 8) & 1 == 0 {
            FastCode {
                len: 12,
                changed: 1,
                code: ((x as i16 & 0xFF) << 8) >> 8,
            }
        } else {
            SLOW
        };
        x += 1;
    }
    t
};
