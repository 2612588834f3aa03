//! Reading the WAL back on open: the newest checkpoint, then every later segment in order.
//! A record that is cut short or fails its CRC ends its segment; in the last segment (a
//! crash mid-write) the file is truncated there so appends continue after whole records.
//! Nothing in the log makes opening fail: what cannot be read is reported and skipped.
use std::fs::{self, OpenOptions};
use std::path::Path;

use super::error::TsdbError;
use super::varint::{Cursor, Truncated};
use super::wal::{read_value, REC_CHECKPOINT_END, REC_SAMPLES, REC_SAMPLES_PACKED, REC_SERIES};
use crate::model::Labels;

/// Receives what replay reads, in log order.
pub trait ReplaySink {
    fn series(&mut self, id: u32, labels: Labels);
    fn samples(&mut self, samples: &[(u32, i64, f64)]);
    /// The head's floor from a checkpoint (read before any segment).
    fn floor(&mut self, t: i64);
}

#[derive(Debug, Default)]
pub struct Replayed {
    /// The segment to continue and its length in whole records.
    pub last: Option<(u64, u64)>,
    /// The number for a new segment when there is none to continue.
    pub next_segment: u64,
    pub seg_max_t: Vec<(u64, i64)>,
    /// From the checkpoint: the next series id and the head's floor.
    pub next_id: u32,
    pub floor: i64,
    /// Highest id named by any record.
    pub max_id: Option<u32>,
    /// What could not be read (torn tails, bad records).
    pub problems: Vec<String>,
}

pub fn replay(dir: &Path, sink: &mut dyn ReplaySink) -> Result<Replayed, TsdbError> {
    let mut segments = Vec::new();
    let mut checkpoints = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| TsdbError::at("listing", dir, e))? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(n) = name.parse::<u64>() {
            segments.push(n);
        } else if let Some(n) = name
            .strip_prefix("checkpoint.")
            .and_then(|s| s.parse::<u64>().ok())
        {
            checkpoints.push(n);
        } else if name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
    segments.sort_unstable();
    checkpoints.sort_unstable();
    let mut out = Replayed {
        floor: i64::MIN,
        ..Replayed::default()
    };
    let mut after = None;
    if let Some(&n) = checkpoints.last() {
        after = Some(n);
        let path = dir.join(super::wal::checkpoint_name(n));
        let data = fs::read(&path).map_err(|e| TsdbError::at("reading", &path, e))?;
        let (_, ended) = read_records(&data, sink, &mut out, None);
        if !ended {
            out.problems.push(format!(
                "{} is incomplete; series may be missing",
                path.display()
            ));
        }
    }
    let live: Vec<u64> = segments
        .into_iter()
        .filter(|&s| after.is_none_or(|a| s > a))
        .collect();
    for (i, &seg) in live.iter().enumerate() {
        let path = dir.join(super::wal::segment_name(seg));
        let data = fs::read(&path).map_err(|e| TsdbError::at("reading", &path, e))?;
        let mut max_t = i64::MIN;
        let (good, _) = read_records(&data, sink, &mut out, Some(&mut max_t));
        out.seg_max_t.push((seg, max_t));
        if good < data.len() {
            out.problems.push(format!(
                "{}: {} bytes after offset {good} unreadable (torn write), dropped",
                path.display(),
                data.len() - good
            ));
        }
        if i + 1 == live.len() {
            if good < data.len() {
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| {
                        f.set_len(good as u64)?;
                        f.sync_all()
                    })
                    .map_err(|e| TsdbError::at("truncating torn WAL segment", &path, e))?;
            }
            out.last = Some((seg, good as u64));
        }
    }
    out.next_segment = live.last().or(after.as_ref()).map_or(1, |n| n + 1);
    Ok(out)
}

/// Reads frames until the data ends or one is bad; returns the length of whole records
/// and whether a checkpoint end record was seen.
fn read_records(
    data: &[u8],
    sink: &mut dyn ReplaySink,
    out: &mut Replayed,
    mut max_t: Option<&mut i64>,
) -> (usize, bool) {
    let mut pos = 0;
    let mut ended = false;
    let mut batch = Vec::new();
    while pos + 8 <= data.len() {
        let len = u32::from_le_bytes(data[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().expect("4 bytes"));
        let Some(payload) = data.get(pos + 8..pos + 8 + len) else {
            break;
        };
        if len == 0 || crc32fast::hash(payload) != crc {
            break;
        }
        let res = match payload[0] {
            REC_SERIES => read_series(&payload[1..], sink, out),
            kind @ (REC_SAMPLES | REC_SAMPLES_PACKED) => {
                let packed = kind == REC_SAMPLES_PACKED;
                read_samples(&payload[1..], packed, &mut batch, out).map(|()| {
                    if let Some(m) = max_t.as_deref_mut() {
                        *m = batch.iter().map(|s| s.1).fold(*m, i64::max);
                    }
                    sink.samples(&batch);
                })
            }
            REC_CHECKPOINT_END => read_end(&payload[1..], out).map(|()| {
                sink.floor(out.floor);
                ended = true;
            }),
            k => Err(Truncated(if k == 0 { "zero type" } else { "unknown type" })),
        };
        if let Err(Truncated(what)) = res {
            // The CRC matched, so the writer wrote this; skip it and go on.
            out.problems.push(format!("WAL record unreadable ({what})"));
        }
        pos += 8 + len;
    }
    (pos, ended)
}

fn read_series(p: &[u8], sink: &mut dyn ReplaySink, out: &mut Replayed) -> Result<(), Truncated> {
    let mut c = Cursor::new(p);
    while !c.is_empty() {
        let id = c.uvarint("series id")?;
        let id = u32::try_from(id).map_err(|_| Truncated("series id"))?;
        let n = c.len("label count", p.len())?;
        let mut pairs = Vec::with_capacity(n);
        for _ in 0..n {
            pairs.push((c.str("label name")?, c.str("label value")?));
        }
        out.max_id = out.max_id.max(Some(id));
        sink.series(id, Labels::new(pairs));
    }
    Ok(())
}

fn read_samples(
    p: &[u8],
    packed: bool,
    batch: &mut Vec<(u32, i64, f64)>,
    out: &mut Replayed,
) -> Result<(), Truncated> {
    batch.clear();
    let mut c = Cursor::new(p);
    let n = c.len("sample count", p.len())?;
    let base = c.varint("base time")?;
    let mut id = 0i64;
    for _ in 0..n {
        id = id.wrapping_add(c.varint("sample id")?);
        let id32 = u32::try_from(id).map_err(|_| Truncated("sample id"))?;
        let t = base.wrapping_add(c.varint("sample time")?);
        let v = if packed {
            read_value(&mut c)?
        } else {
            f64::from_bits(c.u64_le("sample value")?)
        };
        batch.push((id32, t, v));
    }
    if let Some(&(id, _, _)) = batch.iter().max_by_key(|s| s.0) {
        out.max_id = out.max_id.max(Some(id));
    }
    Ok(())
}

fn read_end(p: &[u8], out: &mut Replayed) -> Result<(), Truncated> {
    let mut c = Cursor::new(p);
    let next = c.uvarint("next id")?;
    out.next_id = u32::try_from(next).map_err(|_| Truncated("next id"))?;
    out.floor = c.varint("floor")?;
    Ok(())
}
