//! The write-ahead log: numbered segment files of framed records, appended before the head
//! changes, replayed on open ([`super::wal_replay`]).
//!
//! Frame: `len: u32 LE`, `crc32(payload): u32 LE`, payload; the payload's first byte is the
//! type. Series records (`id`, labels) precede any sample naming the id; a sample record is
//! one batch (`count`, base time, then per sample the id delta, time − base, value bits),
//! so a batch is in the log whole or not at all. A write that fails is cut off again, so the
//! next batch never follows a torn one. Once head data is in blocks, segments holding only
//! older samples are replaced by a checkpoint (every live series, the next id, the head's
//! floor) and removed.
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::disk::{self, CheckedFile, Faults};
use super::error::TsdbError;
use super::varint::{put_str, put_uvarint, put_varint, Cursor, Truncated};
use crate::model::Labels;

pub const REC_SERIES: u8 = 1;
pub const REC_SAMPLES: u8 = 2;
pub const REC_CHECKPOINT_END: u8 = 3;
/// Samples with integer values packed ([`encode_batch`]); `REC_SAMPLES` is still read.
pub const REC_SAMPLES_PACKED: u8 = 4;
/// Series records are written out at the latest when this many bytes wait.
const PENDING_FLUSH: usize = 1 << 20;

pub fn segment_name(n: u64) -> String {
    format!("{n:08}")
}

pub fn checkpoint_name(n: u64) -> String {
    format!("checkpoint.{n:08}")
}

/// Appends one framed record built by `body` (which writes the payload after the type).
pub fn frame(out: &mut Vec<u8>, kind: u8, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    out.push(kind);
    body(out);
    let payload = &out[start + 8..];
    let len = payload.len() as u32;
    let crc = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

pub fn encode_series(out: &mut Vec<u8>, id: u32, labels: &Labels) {
    frame(out, REC_SERIES, |b| {
        put_uvarint(b, id as u64);
        put_uvarint(b, labels.len() as u64);
        for l in labels.iter() {
            put_str(b, &l.name);
            put_str(b, &l.value);
        }
    });
}

/// A batch's record, built outside the WAL lock ([`Wal::log_encoded`] only writes it), and
/// its highest time. Values that are integers below 2^53 (counters, most gauges) take a
/// varint (`zigzag(v) << 1`), others the marker `1` and their 8 bytes: about half the
/// bytes of a scrape's batch, written while the lock is held.
pub fn encode_batch(samples: &[(u32, i64, f64)]) -> (Vec<u8>, i64) {
    let mut out = Vec::with_capacity(16 + samples.len() * 8);
    let max_t = samples.iter().map(|s| s.1).max().unwrap_or(i64::MIN);
    encode_samples(&mut out, REC_SAMPLES_PACKED, samples, put_value);
    (out, max_t)
}

/// A sample record: count, base time, then per sample the id delta, time − base, value.
fn encode_samples(
    out: &mut Vec<u8>,
    kind: u8,
    samples: &[(u32, i64, f64)],
    value: fn(&mut Vec<u8>, f64),
) {
    frame(out, kind, |b| {
        put_uvarint(b, samples.len() as u64);
        let base = samples.first().map(|s| s.1).unwrap_or(0);
        put_varint(b, base);
        let mut prev = 0i64;
        for &(id, t, v) in samples {
            put_varint(b, id as i64 - prev);
            prev = id as i64;
            put_varint(b, t.wrapping_sub(base));
            value(b, v);
        }
    });
}

const MAX_EXACT_INT: u64 = 1 << 53;

fn put_value(b: &mut Vec<u8>, v: f64) {
    let i = v as i64;
    if (i as f64).to_bits() == v.to_bits() && i.unsigned_abs() < MAX_EXACT_INT {
        put_uvarint(b, (((i << 1) ^ (i >> 63)) as u64) << 1);
    } else {
        b.push(1);
        b.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

/// Reads what [`put_value`] wrote.
pub fn read_value(c: &mut Cursor<'_>) -> Result<f64, Truncated> {
    match c.uvarint("sample value")? {
        1 => Ok(f64::from_bits(c.u64_le("sample value")?)),
        x if x & 1 == 0 => {
            let z = x >> 1;
            let i = ((z >> 1) as i64) ^ -((z & 1) as i64);
            Ok(i as f64)
        }
        _ => Err(Truncated("sample value")),
    }
}

/// A batch in the record of earlier versions (values as 8 bytes each); replay reads both.
#[cfg(test)]
pub fn encode_samples_plain(out: &mut Vec<u8>, samples: &[(u32, i64, f64)]) {
    encode_samples(out, REC_SAMPLES, samples, |b, v| {
        b.extend_from_slice(&v.to_bits().to_le_bytes())
    });
}

pub struct Wal {
    dir: PathBuf,
    seg: u64,
    file: CheckedFile,
    /// Bytes of the current segment known to be whole records.
    len: u64,
    pending: Vec<u8>,
    scratch: Vec<u8>,
    fsync: bool,
    segment_bytes: u64,
    /// A failed write could not be cut off; start a new segment before the next one.
    broken: bool,
    faults: Arc<Faults>,
    /// Highest sample time per segment still on disk, oldest first.
    seg_max_t: Vec<(u64, i64)>,
}

impl Wal {
    /// Opens for appending after replay: continues `last` (its whole-record length) or
    /// starts segment `next`.
    pub fn open(
        dir: &Path,
        last: Option<(u64, u64)>,
        next: u64,
        seg_max_t: Vec<(u64, i64)>,
        fsync: bool,
        segment_bytes: u64,
        faults: Arc<Faults>,
    ) -> Result<Wal, TsdbError> {
        let (seg, len) = last.unwrap_or((next, 0));
        let path = dir.join(segment_name(seg));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| TsdbError::at("opening WAL segment", &path, e))?;
        let mut seg_max_t = seg_max_t;
        if seg_max_t.last().map(|s| s.0) != Some(seg) {
            seg_max_t.push((seg, i64::MIN));
        }
        Ok(Wal {
            dir: dir.to_path_buf(),
            seg,
            file: CheckedFile::new(file, faults.clone()),
            len,
            pending: Vec::new(),
            scratch: Vec::new(),
            fsync,
            segment_bytes,
            broken: false,
            faults,
            seg_max_t,
        })
    }

    /// Queues a new series' record; it is written before the next sample batch.
    pub fn log_series(&mut self, id: u32, labels: &Labels) -> Result<(), TsdbError> {
        encode_series(&mut self.pending, id, labels);
        if self.pending.len() >= PENDING_FLUSH {
            self.write(false, i64::MIN)?;
        }
        Ok(())
    }

    /// Writes a batch's record from [`encode_batch`] (after any queued series records) and
    /// fsyncs if configured.
    pub fn log_encoded(&mut self, record: &[u8], max_t: i64) -> Result<(), TsdbError> {
        self.scratch.extend_from_slice(record);
        self.write(true, max_t)
    }

    /// Writes queued series records and fsyncs.
    pub fn flush(&mut self) -> Result<(), TsdbError> {
        self.write(false, i64::MIN)?;
        self.file
            .file
            .sync_data()
            .map_err(|e| TsdbError::io("syncing the WAL", e))
    }

    /// Writes `pending` then (when `with_scratch`) `scratch`, as one write.
    fn write(&mut self, with_scratch: bool, max_t: i64) -> Result<(), TsdbError> {
        if self.pending.is_empty() && (!with_scratch || self.scratch.is_empty()) {
            return Ok(());
        }
        let result = self.try_write(with_scratch, max_t);
        self.scratch.clear();
        result
    }

    fn try_write(&mut self, with_scratch: bool, max_t: i64) -> Result<(), TsdbError> {
        let total = self.pending.len() + if with_scratch { self.scratch.len() } else { 0 };
        if self.broken || (self.len > 0 && self.len + total as u64 > self.segment_bytes) {
            self.rotate()?;
        }
        let mut buf = std::mem::take(&mut self.pending);
        let series_len = buf.len();
        if with_scratch {
            buf.extend_from_slice(&self.scratch);
        }
        let mut res = self.file.write_all(&buf);
        if res.is_ok() && self.fsync && with_scratch {
            res = self.file.file.sync_data();
        }
        match res {
            Ok(()) => {
                self.len += buf.len() as u64;
                if let Some(last) = self.seg_max_t.last_mut() {
                    last.1 = last.1.max(max_t);
                }
                Ok(())
            }
            Err(e) => {
                // Cut the torn write off so the next record follows a whole one; keep the
                // series records for the next attempt.
                if self.file.file.set_len(self.len).is_err() {
                    self.broken = true;
                }
                buf.truncate(series_len);
                self.pending = buf;
                Err(TsdbError::io("writing the WAL", e))
            }
        }
    }

    /// Closes the current segment and starts the next.
    pub fn rotate(&mut self) -> Result<(), TsdbError> {
        let _ = self.file.file.sync_data();
        let next = self.seg + 1;
        let path = self.dir.join(segment_name(next));
        // Append mode, so writes after a cut-off land at the cut, never past a hole.
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|f| f.set_len(0).map(|_| f))
            .map_err(|e| TsdbError::at("creating WAL segment", &path, e))?;
        self.file = CheckedFile::new(file, self.faults.clone());
        self.seg = next;
        self.len = 0;
        self.broken = false;
        self.seg_max_t.push((next, i64::MIN));
        Ok(())
    }

    /// Starts truncation: closes the current segment when it could go, and returns the
    /// last segment whose samples are all older than `before` (with every one before it).
    pub fn truncation_point(&mut self, before: i64) -> Result<Option<u64>, TsdbError> {
        let all_old = self.seg_max_t.iter().all(|s| s.1 < before);
        if all_old && self.len > 0 {
            self.rotate()?;
        }
        let last = self
            .seg_max_t
            .iter()
            .take_while(|s| s.0 != self.seg && s.1 < before)
            .last()
            .map(|s| s.0);
        Ok(last)
    }

    /// Forgets segments up to `last` after their files were removed.
    pub fn forget_through(&mut self, last: u64) {
        self.seg_max_t.retain(|s| s.0 > last);
    }
}

/// Writes checkpoint `n` (series, next id, head floor), then removes segments `<= n` and
/// older checkpoints. Returns the segments removed.
pub fn write_checkpoint(
    dir: &Path,
    n: u64,
    series: &[(u32, Labels)],
    next_id: u32,
    floor: i64,
    faults: &Arc<Faults>,
) -> Result<usize, TsdbError> {
    let mut buf = Vec::new();
    for (id, labels) in series {
        encode_series(&mut buf, *id, labels);
    }
    frame(&mut buf, REC_CHECKPOINT_END, |b| {
        put_uvarint(b, next_id as u64);
        put_varint(b, floor);
    });
    let path = dir.join(checkpoint_name(n));
    disk::write_atomic(&path, &buf, faults)
        .map_err(|e| TsdbError::at("writing WAL checkpoint", &path, e))?;
    let mut removed = 0;
    for entry in fs::read_dir(dir).map_err(|e| TsdbError::at("listing", dir, e))? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        let old_segment = name.parse::<u64>().is_ok_and(|s| s <= n);
        let old_checkpoint = name
            .strip_prefix("checkpoint.")
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|c| c < n);
        if old_segment || old_checkpoint {
            fs::remove_file(entry.path())
                .map_err(|e| TsdbError::at("removing", &entry.path(), e))?;
            removed += old_segment as usize;
        }
    }
    let _ = disk::sync_dir(dir);
    Ok(removed)
}

/// Creates the WAL directory.
pub fn create_dir(dir: &Path) -> Result<(), TsdbError> {
    fs::create_dir_all(dir).map_err(|e| TsdbError::at("creating", dir, e))
}
