//! Byte-level encoding for the WAL and the block index: LEB128 varints (signed ones
//! zigzagged), length-prefixed strings, and a cursor that reports truncation instead of
//! panicking.

pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The input ended early or held an impossible value; the text says which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated(pub &'static str);

/// Reads what the `put_*` functions wrote.
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Cursor<'a> {
        Cursor { buf, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn uvarint(&mut self, what: &'static str) -> Result<u64, Truncated> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = *self.buf.get(self.pos).ok_or(Truncated(what))?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(Truncated(what));
            }
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(Truncated(what));
            }
        }
    }

    pub fn varint(&mut self, what: &'static str) -> Result<i64, Truncated> {
        let u = self.uvarint(what)?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A uvarint that must fit in `usize` and be at most `max` (guards allocations).
    pub fn len(&mut self, what: &'static str, max: usize) -> Result<usize, Truncated> {
        let v = self.uvarint(what)?;
        if v > max as u64 {
            return Err(Truncated(what));
        }
        Ok(v as usize)
    }

    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Truncated> {
        let end = self.pos.checked_add(n).ok_or(Truncated(what))?;
        let s = self.buf.get(self.pos..end).ok_or(Truncated(what))?;
        self.pos = end;
        Ok(s)
    }

    pub fn str(&mut self, what: &'static str) -> Result<&'a str, Truncated> {
        let n = self.len(what, self.buf.len())?;
        let b = self.bytes(n, what)?;
        std::str::from_utf8(b).map_err(|_| Truncated(what))
    }

    pub fn u64_le(&mut self, what: &'static str) -> Result<u64, Truncated> {
        let b = self.bytes(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
}
