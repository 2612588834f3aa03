//! Prometheus remote write (protocol 1.0): a `WriteRequest` as protobuf, snappy-compressed
//! (block format), as Prometheus, VictoriaMetrics and Mimir receive it. Encoded by hand (the
//! message has four small types); the decoder reads it back for tests and for receivers.
//! Remote read ([`read`]) shares the protobuf and snappy helpers.
use crate::model::{Label, Labels, Series};
use std::sync::Arc;

pub mod read;

/// The headers a remote write request carries.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
pub const CONTENT_ENCODING: &str = "snappy";
pub const VERSION_HEADER: (&str, &str) = ("X-Prometheus-Remote-Write-Version", "0.1.0");

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    key(out, field, 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn label(l: &Label) -> Vec<u8> {
    let mut m = Vec::with_capacity(l.name.len() + l.value.len() + 4);
    bytes(&mut m, 1, l.name.as_bytes());
    bytes(&mut m, 2, l.value.as_bytes());
    m
}

fn sample(t: i64, v: f64) -> Vec<u8> {
    let mut m = Vec::with_capacity(20);
    key(&mut m, 1, 1);
    m.extend_from_slice(&v.to_bits().to_le_bytes());
    key(&mut m, 2, 0);
    varint(&mut m, t as u64);
    m
}

/// The protobuf `WriteRequest` for `series` (uncompressed).
pub fn encode(series: &[Series]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ts = Vec::new();
    for s in series.iter().filter(|s| !s.samples.is_empty()) {
        ts.clear();
        for l in s.labels.iter() {
            bytes(&mut ts, 1, &label(l));
        }
        for (t, v) in &s.samples {
            bytes(&mut ts, 2, &sample(*t, *v));
        }
        bytes(&mut out, 1, &ts);
    }
    out
}

/// [`encode`], snappy-compressed: the body of a remote write request.
pub fn body(series: &[Series]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&encode(series))
        .unwrap_or_default()
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("snappy: {0}")]
    Snappy(String),
    #[error("protobuf: {0}")]
    Protobuf(&'static str),
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let (&byte, rest) = self
                .b
                .split_first()
                .ok_or(DecodeError::Protobuf("truncated varint"))?;
            self.b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::Protobuf("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.b.len() < n {
            return Err(DecodeError::Protobuf("truncated field"));
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }

    /// The next `(field, wire type, payload)`: varints as their value, fixed64 as 8 bytes.
    fn field(&mut self) -> Result<Option<(u64, Field<'a>)>, DecodeError> {
        if self.b.is_empty() {
            return Ok(None);
        }
        let k = self.varint()?;
        let f = match k & 7 {
            0 => Field::Varint(self.varint()?),
            1 => Field::Fixed64(u64::from_le_bytes(
                self.take(8)?
                    .try_into()
                    .map_err(|_| DecodeError::Protobuf("fixed64"))?,
            )),
            2 => {
                let n = self.varint()? as usize;
                Field::Bytes(self.take(n)?)
            }
            5 => {
                self.take(4)?;
                Field::Fixed32
            }
            _ => return Err(DecodeError::Protobuf("unknown wire type")),
        };
        Ok(Some((k >> 3, f)))
    }
}

enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32,
    Bytes(&'a [u8]),
}

fn text(b: &[u8]) -> Result<Arc<str>, DecodeError> {
    std::str::from_utf8(b)
        .map(Arc::from)
        .map_err(|_| DecodeError::Protobuf("label is not UTF-8"))
}

/// The most labels one series of a remote answer may have, and the longest name or value:
/// far above what real series carry, low enough that a hostile store cannot make decoding
/// costly.
pub const MAX_LABELS: usize = 256;
pub const MAX_LABEL_BYTES: usize = 16 << 10;

/// Reads a protobuf `WriteRequest` (uncompressed); unknown fields are skipped.
pub fn decode(b: &[u8]) -> Result<Vec<Series>, DecodeError> {
    let mut out = Vec::new();
    let mut r = Reader { b };
    while let Some((field, f)) = r.field()? {
        let (1, Field::Bytes(ts)) = (field, f) else {
            continue;
        };
        let mut labels = Vec::new();
        let mut samples = Vec::new();
        let mut t = Reader { b: ts };
        while let Some((field, f)) = t.field()? {
            match (field, f) {
                (1, Field::Bytes(l)) => {
                    let (mut name, mut value) = (Arc::from(""), Arc::from(""));
                    let mut lr = Reader { b: l };
                    while let Some((n, f)) = lr.field()? {
                        match (n, f) {
                            (1, Field::Bytes(s)) => name = text(s)?,
                            (2, Field::Bytes(s)) => value = text(s)?,
                            _ => {}
                        }
                    }
                    if labels.len() >= MAX_LABELS
                        || name.len() > MAX_LABEL_BYTES
                        || value.len() > MAX_LABEL_BYTES
                    {
                        return Err(DecodeError::Protobuf(
                            "a series with more than 256 labels, or a label over 16 KiB",
                        ));
                    }
                    labels.push(Label { name, value });
                }
                (2, Field::Bytes(s)) => {
                    let (mut v, mut ts) = (0.0, 0i64);
                    let mut sr = Reader { b: s };
                    while let Some((n, f)) = sr.field()? {
                        match (n, f) {
                            (1, Field::Fixed64(bits)) => v = f64::from_bits(bits),
                            (2, Field::Varint(x)) => ts = x as i64,
                            _ => {}
                        }
                    }
                    samples.push((ts, v));
                }
                _ => {}
            }
        }
        labels.sort();
        out.push(Series {
            labels: Labels::new(
                labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string())),
            ),
            samples,
        });
    }
    Ok(out)
}

/// Reads a remote write body (snappy, then protobuf).
pub fn decode_body(b: &[u8]) -> Result<Vec<Series>, DecodeError> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(b)
        .map_err(|e| DecodeError::Snappy(e.to_string()))?;
    decode(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{is_stale, stale_nan};

    #[test]
    fn a_series_with_too_many_or_too_long_labels_is_refused() {
        let many = Series {
            labels: Labels::new((0..300).map(|i| (format!("l{i}"), "v".to_string()))),
            samples: vec![(1, 1.0)],
        };
        assert!(decode(&encode(&[many])).is_err());
        let long = Series {
            labels: Labels::new([("a", "x".repeat(20 << 10))]),
            samples: vec![(1, 1.0)],
        };
        assert!(decode(&encode(&[long])).is_err());
        let fine = Series {
            labels: Labels::new((0..200).map(|i| (format!("l{i}"), "v".to_string()))),
            samples: vec![(1, 1.0)],
        };
        assert_eq!(
            decode(&encode(std::slice::from_ref(&fine))).unwrap(),
            vec![fine]
        );
    }

    #[test]
    fn labels_keep_the_last_of_duplicate_names_and_drop_empty_values() {
        let l = Labels::new([("b", "1"), ("a", "x"), ("b", "2"), ("c", "3"), ("c", "")]);
        assert_eq!(l, Labels::new([("a", "x"), ("b", "2")]));
        assert_eq!(l.get("b"), Some("2"));
        assert_eq!(l.get("c"), None);
    }

    #[test]
    fn a_write_request_reads_back_bit_for_bit() {
        let series = vec![
            Series {
                labels: Labels::new([("__name__", "up"), ("job", "app"), ("instance", "a:1")]),
                samples: vec![
                    (1_700_000_000_123, 1.0),
                    (-5, f64::NEG_INFINITY),
                    (7, stale_nan()),
                ],
            },
            Series {
                labels: Labels::new([("__name__", "x"), ("emoji", "é✓")]),
                samples: vec![(0, f64::NAN), (i64::MAX, 1e-300)],
            },
        ];
        let back = decode_body(&body(&series)).expect("decodes");
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].labels, series[0].labels);
        assert_eq!(back[0].samples[0], (1_700_000_000_123, 1.0));
        assert_eq!(back[0].samples[1], (-5, f64::NEG_INFINITY));
        assert!(
            is_stale(back[0].samples[2].1),
            "the staleness marker keeps its bits"
        );
        assert!(back[1].samples[0].1.is_nan() && !is_stale(back[1].samples[0].1));
        assert_eq!(back[1].samples[1], (i64::MAX, 1e-300));
        assert_eq!(back[1].labels.get("emoji"), Some("é✓"));
    }

    #[test]
    fn the_encoding_matches_protobufs_wire_format() {
        // Label{name:"a", value:"b"} in TimeSeries field 1, in WriteRequest field 1.
        let s = vec![Series {
            labels: Labels::new([("a", "b")]),
            samples: vec![(1, 0.0)],
        }];
        let enc = encode(&s);
        let label = [0x0a, 0x01, b'a', 0x12, 0x01, b'b'];
        let sample = [0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x01];
        let mut ts = vec![0x0a, label.len() as u8];
        ts.extend_from_slice(&label);
        ts.extend_from_slice(&[0x12, sample.len() as u8]);
        ts.extend_from_slice(&sample);
        let mut want = vec![0x0a, ts.len() as u8];
        want.extend_from_slice(&ts);
        assert_eq!(enc, want);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for b in [&b"\xff\xff\xff"[..], b"\x0a\x10abc", b"\x0b"] {
            assert!(decode(b).is_err(), "{b:?}");
        }
        assert!(decode_body(b"not snappy at all").is_err());
    }
}
