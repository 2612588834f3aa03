//! Bit-level writing and reading for chunks, and the variable-width signed integer codes
//! (a unary class prefix, then a fixed number of two's-complement bits) the chunks use.

/// Appends bits, most significant first, to a byte vector.
#[derive(Clone, Debug, Default)]
pub struct BitWriter {
    buf: Vec<u8>,
    /// Bits written, counting from the first byte.
    bits: usize,
}

impl BitWriter {
    /// A writer whose first `prefix` bytes are left as zeros for a header.
    pub fn with_header(prefix: usize, capacity: usize) -> BitWriter {
        let mut buf = Vec::with_capacity(capacity.max(prefix));
        buf.resize(prefix, 0);
        BitWriter {
            buf,
            bits: prefix * 8,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Bits written, counting the header.
    pub fn bit_len(&self) -> usize {
        self.bits
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub fn write_bit(&mut self, bit: bool) {
        self.write_bits(bit as u64, 1);
    }

    /// Writes the low `n` bits of `v` (`n <= 64`): into the current byte's free bits when
    /// they suffice (most codes), else the free bits, then the rest as whole bytes (this is
    /// on every append's path; bit by bit it was a fifth of an append's time).
    #[inline]
    pub fn write_bits(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 64);
        let used = (self.bits % 8) as u32;
        if used != 0 && n <= 8 - used {
            if let Some(last) = self.buf.last_mut() {
                *last |= ((v & mask(n)) as u8) << (8 - used - n);
            }
            self.bits += n as usize;
            return;
        }
        self.write_bits_across(v, n, used);
    }

    fn write_bits_across(&mut self, v: u64, mut n: u32, used: u32) {
        if used != 0 {
            let free = 8 - used;
            if let Some(last) = self.buf.last_mut() {
                *last |= ((v >> (n - free)) & mask(free)) as u8;
            }
            n -= free;
            self.bits += free as usize;
        }
        if n == 0 {
            return;
        }
        // The remaining `n` bits, top-aligned, as whole bytes (the last one zero-padded).
        let top = (v & mask(n)) << (64 - n);
        self.buf
            .extend_from_slice(&top.to_be_bytes()[..n.div_ceil(8) as usize]);
        self.bits += n as usize;
    }

    /// Writes `v` with the smallest class of `classes` that holds it (see [`Classes`]).
    pub fn write_signed(&mut self, v: i64, classes: &Classes) {
        let (class, w) = classes.class_of(v);
        let last = classes.widths.len() - 1;
        if class < last {
            self.write_bits(mask(class as u32 + 1) - 1, class as u32 + 1);
        } else {
            self.write_bits(mask(class as u32), class as u32);
        }
        if w > 0 {
            self.write_bits(v as u64 & mask(w), w);
        }
    }
}

/// Reads what a [`BitWriter`] wrote, through a 64-bit buffer.
#[derive(Clone, Copy)]
pub struct BitReader<'a> {
    buf: &'a [u8],
    /// Next byte to load.
    pos: usize,
    /// Loaded bits, left-aligned; bits past the data are zeros.
    acc: u64,
    /// How many of `acc`'s bits are data.
    n: u32,
}

/// The data ended early or held an impossible code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitsExhausted;

impl<'a> BitReader<'a> {
    pub fn new(buf: &'a [u8], start_byte: usize) -> BitReader<'a> {
        BitReader {
            buf,
            pos: start_byte.min(buf.len()),
            acc: 0,
            n: 0,
        }
    }

    #[inline(always)]
    fn refill(&mut self) {
        if self.pos + 8 <= self.buf.len() {
            let word = u64::from_be_bytes(self.buf[self.pos..self.pos + 8].try_into().expect("8"));
            let take = (63 - self.n) / 8;
            // `take` whole bytes fit below the `n` bits already held.
            self.acc |= (word >> self.n) & !(u64::MAX >> (self.n + take * 8));
            self.pos += take as usize;
            self.n += take * 8;
        } else {
            while self.n <= 56 && self.pos < self.buf.len() {
                self.acc |= (self.buf[self.pos] as u64) << (56 - self.n);
                self.pos += 1;
                self.n += 8;
            }
        }
    }

    #[inline(always)]
    fn consume(&mut self, k: u32) -> Result<(), BitsExhausted> {
        if k > self.n {
            return Err(BitsExhausted);
        }
        self.acc = if k == 64 { 0 } else { self.acc << k };
        self.n -= k;
        Ok(())
    }

    /// A reader at bit `bit` after byte `start_byte`.
    pub fn at_bit(
        buf: &'a [u8],
        start_byte: usize,
        bit: usize,
    ) -> Result<BitReader<'a>, BitsExhausted> {
        let mut r = BitReader::new(buf, start_byte.saturating_add(bit / 8));
        if start_byte.saturating_add(bit / 8) > buf.len() {
            return Err(BitsExhausted);
        }
        r.read_bits((bit % 8) as u32)?;
        Ok(r)
    }

    /// The next 12 bits (refilling first), when at least 12 remain.
    #[inline(always)]
    pub fn peek12(&mut self) -> Option<u32> {
        if self.n < 12 {
            self.refill();
            if self.n < 12 {
                return None;
            }
        }
        Some((self.acc >> 52) as u32)
    }

    /// Drops `k` bits that the last [`BitReader::peek12`] showed (`k <= 12`).
    #[inline(always)]
    pub fn skip_peeked(&mut self, k: u32) {
        debug_assert!(k <= 12 && k <= self.n);
        self.acc <<= k;
        self.n -= k;
    }

    #[inline(always)]
    pub fn read_bit(&mut self) -> Result<bool, BitsExhausted> {
        if self.n == 0 {
            self.refill();
        }
        let bit = self.acc >> 63 == 1;
        self.consume(1)?;
        Ok(bit)
    }

    /// Reads `n` bits (`n <= 64`) as the low bits of the result.
    #[inline(always)]
    pub fn read_bits(&mut self, n: u32) -> Result<u64, BitsExhausted> {
        if n > 56 {
            return self.read_wide(n);
        }
        self.read_short(n)
    }

    #[inline(never)]
    fn read_wide(&mut self, n: u32) -> Result<u64, BitsExhausted> {
        let hi = self.read_short(n - 32)?;
        let lo = self.read_short(32)?;
        Ok((hi << 32) | lo)
    }

    /// Reads `n <= 56` bits.
    #[inline(always)]
    fn read_short(&mut self, n: u32) -> Result<u64, BitsExhausted> {
        if n == 0 {
            return Ok(0);
        }
        if self.n < n {
            self.refill();
        }
        let v = self.acc >> (64 - n);
        self.consume(n)?;
        Ok(v)
    }

    #[inline(always)]
    pub fn read_signed(&mut self, classes: &Classes) -> Result<i64, BitsExhausted> {
        let last = classes.widths.len() - 1;
        if self.n < 8 {
            self.refill();
        }
        // Leading ones are the class; data bits past the end read as zeros and stop it.
        let class = ((!self.acc).leading_zeros() as usize).min(last);
        self.consume(class as u32 + (class < last) as u32)?;
        let w = classes.widths[class];
        if w == 0 {
            return Ok(0);
        }
        let raw = self.read_bits(w)?;
        Ok(sign_extend(raw, w))
    }
}

/// Widths of the classes of a signed code: class `i` is written as `i` one bits and a zero
/// (the last class omits the zero), then `widths[i]` bits of two's complement. A width of 0
/// holds only zero; the last width must be 64 so every value has a class.
#[derive(Debug)]
pub struct Classes {
    pub widths: &'static [u32],
}

impl Classes {
    /// The class holding `v`, and its width.
    pub fn class_of(&self, v: i64) -> (usize, u32) {
        let last = self.widths.len() - 1;
        for (i, &w) in self.widths.iter().enumerate() {
            if fits(v, w) || i == last {
                return (i, w);
            }
        }
        (last, 64)
    }

    /// Bits `v` takes.
    pub fn cost(&self, v: i64) -> u32 {
        let (class, w) = self.class_of(v);
        class as u32 + (class < self.widths.len() - 1) as u32 + w
    }
}

/// Timestamp deviations from the chunk's base interval: mostly 0 (1 bit) or a few ms of
/// scrape jitter (5 bits).
pub const TIME_CLASSES: Classes = Classes {
    widths: &[0, 3, 7, 13, 24, 64],
};

/// Changes of a value in decimal units (never 0: an unchanged value has its own 1-bit code).
pub const DECIMAL_CLASSES: Classes = Classes {
    widths: &[4, 8, 14, 24, 36, 64],
};

fn fits(v: i64, w: u32) -> bool {
    match w {
        0 => v == 0,
        64 => true,
        _ => {
            let lim = 1i64 << (w - 1);
            (-lim..lim).contains(&v)
        }
    }
}

fn sign_extend(raw: u64, w: u32) -> i64 {
    if w == 64 {
        raw as i64
    } else {
        let shift = 64 - w;
        ((raw << shift) as i64) >> shift
    }
}

pub fn mask(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-wise writer produces the same bytes as writing one bit at a time.
    #[test]
    fn write_bits_matches_bit_by_bit() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut fast = BitWriter::with_header(2, 0);
        let (mut slow, mut slow_bits) = (vec![0u8; 2], 16usize);
        for _ in 0..20_000 {
            let v = next();
            let n = (next() % 65) as u32;
            fast.write_bits(v, n);
            for i in (0..n).rev() {
                if slow_bits % 8 == 0 {
                    slow.push(0);
                }
                if (v >> i) & 1 == 1 {
                    let last = slow.len() - 1;
                    slow[last] |= 0x80 >> (slow_bits % 8);
                }
                slow_bits += 1;
            }
            assert_eq!(fast.bits, slow_bits);
        }
        assert_eq!(fast.bytes(), &slow[..]);
    }
}
