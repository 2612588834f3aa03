//! Prometheus remote read (samples, the protocol's first response type): a snappy-compressed
//! protobuf `ReadRequest{queries: [Query{start_timestamp_ms, end_timestamp_ms, matchers}],
//! accepted_response_types: [SAMPLES]}` posted to e.g. Prometheus's `/api/v1/read`, answered
//! by a snappy-compressed `ReadResponse{results: [QueryResult{timeseries}]}`, one result per
//! query, in order. A `TimeSeries` is the same message as in remote write.
use super::{bytes, decode, key, text, varint, DecodeError, Field, Reader};
use crate::model::{MatchOp, Matcher, Series};
use std::sync::Arc;

/// The header a remote read request carries (content type and encoding as remote write's).
pub const VERSION_HEADER: (&str, &str) = ("X-Prometheus-Remote-Read-Version", "0.1.0");

/// One query of a read request: the series matching all `matchers`, samples in
/// `start_ms..=end_ms`.
#[derive(Clone, Debug)]
pub struct ReadQuery {
    pub start_ms: i64,
    pub end_ms: i64,
    pub matchers: Vec<Matcher>,
    pub hints: Option<ReadHints>,
}

/// What the query will do with the answer (`ReadHints`): a store may use it to read less.
/// `func: "series"` asks for label sets only (Prometheus then reads no chunk).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadHints {
    pub step_ms: i64,
    pub func: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub range_ms: i64,
}

fn encode_hints(h: &ReadHints) -> Vec<u8> {
    let mut m = Vec::new();
    for (field, v) in [
        (1, h.step_ms),
        (3, h.start_ms),
        (4, h.end_ms),
        (7, h.range_ms),
    ] {
        if v != 0 {
            key(&mut m, field, 0);
            varint(&mut m, v as u64);
        }
    }
    if !h.func.is_empty() {
        bytes(&mut m, 2, h.func.as_bytes());
    }
    m
}

fn decode_hints(b: &[u8]) -> Result<ReadHints, DecodeError> {
    let mut h = ReadHints::default();
    let mut r = Reader { b };
    while let Some((n, f)) = r.field()? {
        match (n, f) {
            (1, Field::Varint(v)) => h.step_ms = v as i64,
            (2, Field::Bytes(s)) => h.func = text(s)?.to_string(),
            (3, Field::Varint(v)) => h.start_ms = v as i64,
            (4, Field::Varint(v)) => h.end_ms = v as i64,
            (7, Field::Varint(v)) => h.range_ms = v as i64,
            _ => {}
        }
    }
    Ok(h)
}

/// `LabelMatcher.Type`: EQ, NEQ, RE, NRE.
fn matcher_type(op: &MatchOp) -> u64 {
    match op {
        MatchOp::Equal => 0,
        MatchOp::NotEqual => 1,
        MatchOp::Re(_) => 2,
        MatchOp::NotRe(_) => 3,
    }
}

/// The protobuf `ReadRequest` for `queries` (uncompressed), asking for samples.
pub fn encode_request(queries: &[ReadQuery]) -> Vec<u8> {
    let mut out = Vec::new();
    for q in queries {
        let mut m = Vec::new();
        key(&mut m, 1, 0);
        varint(&mut m, q.start_ms as u64);
        key(&mut m, 2, 0);
        varint(&mut m, q.end_ms as u64);
        for matcher in &q.matchers {
            let mut lm = Vec::new();
            let t = matcher_type(&matcher.op);
            if t != 0 {
                key(&mut lm, 1, 0);
                varint(&mut lm, t);
            }
            bytes(&mut lm, 2, matcher.name.as_bytes());
            bytes(&mut lm, 3, matcher.value.as_bytes());
            bytes(&mut m, 3, &lm);
        }
        if let Some(h) = &q.hints {
            bytes(&mut m, 4, &encode_hints(h));
        }
        bytes(&mut out, 1, &m);
    }
    // accepted_response_types, packed: [SAMPLES (0)].
    bytes(&mut out, 2, &[0]);
    out
}

/// [`encode_request`], snappy-compressed: the body of a remote read request.
pub fn request_body(queries: &[ReadQuery]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&encode_request(queries))
        .unwrap_or_default()
}

/// Reads a protobuf `ReadResponse` (uncompressed): each query's series, in query order.
pub fn decode_response(b: &[u8]) -> Result<Vec<Vec<Series>>, DecodeError> {
    let mut out = Vec::new();
    let mut r = Reader { b };
    while let Some((field, f)) = r.field()? {
        if let (1, Field::Bytes(result)) = (field, f) {
            // QueryResult's field 1 is TimeSeries, as WriteRequest's is.
            let mut series = decode(result)?;
            series.sort_by(|a, b| a.labels.cmp(&b.labels));
            out.push(series);
        }
    }
    Ok(out)
}

/// Reads a remote read answer (snappy, then protobuf), refusing one that would decompress
/// to more than `max_len` bytes before decompressing it.
pub fn decode_response_body(b: &[u8], max_len: usize) -> Result<Vec<Vec<Series>>, DecodeError> {
    let len = snap::raw::decompress_len(b).map_err(|e| DecodeError::Snappy(e.to_string()))?;
    if len > max_len {
        return Err(DecodeError::Protobuf("the answer is larger than allowed"));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(b)
        .map_err(|e| DecodeError::Snappy(e.to_string()))?;
    decode_response(&raw)
}

/// The protobuf `ReadResponse` for `results` (uncompressed), as a store answers: for
/// tests and for a store in front of Berth.
pub fn encode_response(results: &[Vec<Series>]) -> Vec<u8> {
    let mut out = Vec::new();
    for series in results {
        // A TimeSeries list inside field 1, exactly as a WriteRequest.
        bytes(&mut out, 1, &super::encode(series));
    }
    out
}

fn matcher(b: &[u8]) -> Result<Matcher, DecodeError> {
    let (mut t, mut name, mut value): (u64, Arc<str>, Arc<str>) = (0, "".into(), "".into());
    let mut r = Reader { b };
    while let Some((n, f)) = r.field()? {
        match (n, f) {
            (1, Field::Varint(v)) => t = v,
            (2, Field::Bytes(s)) => name = text(s)?,
            (3, Field::Bytes(s)) => value = text(s)?,
            _ => {}
        }
    }
    let bad = |_| DecodeError::Protobuf("invalid regex");
    Ok(match t {
        0 => Matcher::equal(&name, &value),
        1 => Matcher::not_equal(&name, &value),
        2 => Matcher::regex(&name, &value).map_err(bad)?,
        3 => Matcher::not_regex(&name, &value).map_err(bad)?,
        _ => return Err(DecodeError::Protobuf("unknown matcher type")),
    })
}

/// [`encode_response`], snappy-compressed: the body of a store's answer.
pub fn response_body(results: &[Vec<Series>]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&encode_response(results))
        .unwrap_or_default()
}

/// Reads a protobuf `ReadRequest` (uncompressed): its queries. For tests and receivers.
pub fn decode_request(b: &[u8]) -> Result<Vec<ReadQuery>, DecodeError> {
    let mut out = Vec::new();
    let mut r = Reader { b };
    while let Some((field, f)) = r.field()? {
        let (1, Field::Bytes(q)) = (field, f) else {
            continue;
        };
        let mut query = ReadQuery {
            start_ms: 0,
            end_ms: 0,
            matchers: Vec::new(),
            hints: None,
        };
        let mut qr = Reader { b: q };
        while let Some((n, f)) = qr.field()? {
            match (n, f) {
                (1, Field::Varint(v)) => query.start_ms = v as i64,
                (2, Field::Varint(v)) => query.end_ms = v as i64,
                (3, Field::Bytes(m)) => query.matchers.push(matcher(m)?),
                (4, Field::Bytes(h)) => query.hints = Some(decode_hints(h)?),
                _ => {}
            }
        }
        out.push(query);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;

    #[test]
    fn a_read_request_reads_back_with_every_matcher_type() {
        let q = ReadQuery {
            start_ms: -1_000,
            end_ms: 1_700_000_000_000,
            matchers: vec![
                Matcher::equal("__name__", "up"),
                Matcher::not_equal("job", "x"),
                Matcher::regex("project", "shop|blog").unwrap(),
                Matcher::not_regex("instance", "a.*").unwrap(),
            ],
            hints: None,
        };
        let hinted = ReadQuery {
            hints: Some(ReadHints {
                func: "series".into(),
                start_ms: 5,
                end_ms: 6,
                ..ReadHints::default()
            }),
            ..q.clone()
        };
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&request_body(&[q.clone(), hinted.clone()]))
            .unwrap();
        let back = decode_request(&raw).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].start_ms, -1_000);
        assert_eq!(back[0].end_ms, 1_700_000_000_000);
        assert_eq!(back[0].hints, None);
        assert_eq!(back[1].hints, hinted.hints);
        let shown: Vec<(String, u64, String)> = back[1]
            .matchers
            .iter()
            .map(|m| (m.name.clone(), matcher_type(&m.op), m.value.clone()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("__name__".into(), 0, "up".into()),
                ("job".into(), 1, "x".into()),
                ("project".into(), 2, "shop|blog".into()),
                ("instance".into(), 3, "a.*".into()),
            ]
        );
    }

    #[test]
    fn the_request_matches_protobufs_wire_format() {
        let q = ReadQuery {
            start_ms: 1,
            end_ms: 2,
            matchers: vec![Matcher::not_equal("a", "b")],
            hints: None,
        };
        // Query{1: 1, 2: 2, 3: LabelMatcher{1: NEQ, 2: "a", 3: "b"}}, then the packed
        // accepted_response_types [SAMPLES].
        let lm = [0x08, 0x01, 0x12, 0x01, b'a', 0x1a, 0x01, b'b'];
        let mut query = vec![0x08, 0x01, 0x10, 0x02, 0x1a, lm.len() as u8];
        query.extend_from_slice(&lm);
        let mut want = vec![0x0a, query.len() as u8];
        want.extend_from_slice(&query);
        want.extend_from_slice(&[0x12, 0x01, 0x00]);
        assert_eq!(encode_request(&[q]), want);
    }

    #[test]
    fn a_response_reads_back_per_query() {
        let a = vec![Series {
            labels: Labels::new([("__name__", "up"), ("project", "shop")]),
            samples: vec![(1, 1.0), (2, f64::INFINITY)],
        }];
        let body = snap::raw::Encoder::new()
            .compress_vec(&encode_response(&[a.clone(), Vec::new()]))
            .unwrap();
        let back = decode_response_body(&body, 1 << 20).unwrap();
        assert_eq!(back, vec![a, Vec::new()]);
    }

    #[test]
    fn an_answer_too_large_is_refused_before_decompressing() {
        let big = vec![Series {
            labels: Labels::new([("__name__", "x")]),
            samples: vec![(7, 1.0); 10_000],
        }];
        let body = snap::raw::Encoder::new()
            .compress_vec(&encode_response(&[big]))
            .unwrap();
        assert!(body.len() < 10_000, "compresses well: {}", body.len());
        assert!(decode_response_body(&body, 100_000).is_err());
        assert!(decode_response_body(&body, 1 << 20).is_ok());
        assert!(decode_response_body(b"\xff\xff\xff\xff\xff", 1 << 20).is_err());
    }
}
