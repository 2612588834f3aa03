//! Writing a block: chunks streamed to a temporary directory (`tmp-<name>`), then the index
//! and meta, every file fsynced, then one rename to the final name and an fsync of the
//! parent. A crash leaves either the whole block or a `tmp-` directory, which open removes.
use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::block::{Block, ChunkMeta, CHUNKS_MAGIC, CHUNKS_MAGIC_PLAIN, INDEX_MAGIC, TIMES_MAGIC};
use super::block_meta::{self, BlockKind, BlockMeta};
use super::chunk::{split, BLOCK_CHUNK_SAMPLES};
use super::disk::{self, CheckedFile, Faults};
use super::error::TsdbError;
use super::symbols::Interner;
use super::varint::{put_str, put_uvarint, put_varint};
use crate::model::Labels;

/// A name no other block has: kind, window, and a nonce from the clock and a counter.
fn block_name(kind: BlockKind, start: i64, end: i64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{start}-{end}-{nanos:x}{n:04x}", kind.as_str())
}

#[cfg(test)]
thread_local! {
    /// Tests of reading old blocks write them as before restart points.
    pub static WRITE_PLAIN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn layout_to_write() -> split::Layout {
    #[cfg(test)]
    if WRITE_PLAIN.with(|p| p.get()) {
        return split::Layout::Plain;
    }
    split::Layout::Restarts
}

pub struct BlockWriter {
    blocks_dir: PathBuf,
    tmp: PathBuf,
    name: String,
    chunks: BufWriter<CheckedFile>,
    layout: split::Layout,
    times: BufWriter<CheckedFile>,
    /// Each distinct timestamp stream once: its number.
    times_seen: HashMap<Box<[u8]>, u32>,
    times_lens: Vec<u32>,
    faults: Arc<Faults>,
    series: Vec<(Labels, Vec<ChunkMeta>)>,
    meta: BlockMeta,
    done: bool,
}

impl BlockWriter {
    pub fn new(
        blocks_dir: &Path,
        kind: BlockKind,
        range: (i64, i64),
        level: u32,
        sources: Vec<String>,
        faults: Arc<Faults>,
    ) -> Result<BlockWriter, TsdbError> {
        let name = block_name(kind, range.0, range.1);
        let tmp = blocks_dir.join(format!("tmp-{name}"));
        fs::create_dir_all(&tmp).map_err(|e| TsdbError::at("creating", &tmp, e))?;
        let open = |name: &str, magic: &[u8]| -> std::io::Result<BufWriter<CheckedFile>> {
            let file = File::create(tmp.join(name))?;
            let mut w = BufWriter::with_capacity(1 << 20, CheckedFile::new(file, faults.clone()));
            w.write_all(magic)?;
            Ok(w)
        };
        let layout = layout_to_write();
        let chunks_magic = match layout {
            split::Layout::Restarts => CHUNKS_MAGIC,
            split::Layout::Plain => CHUNKS_MAGIC_PLAIN,
        };
        let files = open("chunks", chunks_magic).and_then(|c| Ok((c, open("times", TIMES_MAGIC)?)));
        let (chunks, times) = match files {
            Ok(c) => c,
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                return Err(TsdbError::at("creating", &tmp, e));
            }
        };
        Ok(BlockWriter {
            blocks_dir: blocks_dir.to_path_buf(),
            tmp,
            name,
            chunks,
            layout,
            times,
            times_seen: HashMap::new(),
            times_lens: Vec::new(),
            faults,
            series: Vec::new(),
            meta: BlockMeta {
                kind,
                range_start: range.0,
                range_end: range.1,
                mint: i64::MAX,
                maxt: i64::MIN,
                series: 0,
                samples: 0,
                chunks: 0,
                level,
                sources,
            },
            done: false,
        })
    }

    fn err(&self, what: &str, e: std::io::Error) -> TsdbError {
        TsdbError::at(what, &self.tmp, e)
    }

    /// Adds a series; series must come in label order, samples ascending with unique times.
    pub fn add(&mut self, labels: &Labels, samples: &[(i64, f64)]) -> Result<(), TsdbError> {
        if samples.is_empty() {
            return Ok(());
        }
        debug_assert!(self.series.last().is_none_or(|(l, _)| l < labels));
        let mut metas = Vec::with_capacity(samples.len() / BLOCK_CHUNK_SAMPLES + 1);
        let mut ts = Vec::with_capacity(BLOCK_CHUNK_SAMPLES);
        let mut vs = Vec::with_capacity(BLOCK_CHUNK_SAMPLES);
        for part in samples.chunks(BLOCK_CHUNK_SAMPLES) {
            ts.clear();
            vs.clear();
            ts.extend(part.iter().map(|s| s.0));
            vs.extend(part.iter().map(|s| s.1));
            let times = self.times_ref(split::encode_times(&ts))?;
            let data = split::encode_values(&vs, self.layout);
            self.chunks
                .write_all(&data)
                .map_err(|e| TsdbError::at("writing", &self.tmp, e))?;
            metas.push(ChunkMeta {
                mint: part[0].0,
                maxt: part[part.len() - 1].0,
                len: data.len() as u32,
                times,
            });
        }
        self.meta.mint = self.meta.mint.min(samples[0].0);
        self.meta.maxt = self.meta.maxt.max(samples[samples.len() - 1].0);
        self.meta.samples += samples.len() as u64;
        self.meta.chunks += metas.len() as u64;
        self.series.push((labels.clone(), metas));
        Ok(())
    }

    /// The number of a timestamp stream, written the first time it is seen.
    fn times_ref(&mut self, encoded: Box<[u8]>) -> Result<u32, TsdbError> {
        if let Some(&r) = self.times_seen.get(&encoded) {
            return Ok(r);
        }
        self.times
            .write_all(&encoded)
            .map_err(|e| TsdbError::at("writing", &self.tmp, e))?;
        let r = self.times_lens.len() as u32;
        self.times_lens.push(encoded.len() as u32);
        self.times_seen.insert(encoded, r);
        Ok(r)
    }

    /// Finishes and publishes the block; `None` when no series was added.
    pub fn finish(mut self, interner: &Interner) -> Result<Option<Block>, TsdbError> {
        if self.series.is_empty() {
            return Ok(None);
        }
        self.meta.series = self.series.len() as u64;
        for f in [&mut self.chunks, &mut self.times] {
            f.flush()
                .and_then(|()| f.get_ref().file.sync_all())
                .map_err(|e| TsdbError::at("writing", &self.tmp, e))?;
        }
        let index = self.encode_index();
        let mut f = CheckedFile::new(
            File::create(self.tmp.join("index")).map_err(|e| self.err("creating index in", e))?,
            self.faults.clone(),
        );
        f.write_all(&index)
            .and_then(|()| f.file.sync_all())
            .map_err(|e| self.err("writing index in", e))?;
        let mut f = CheckedFile::new(
            File::create(self.tmp.join("meta")).map_err(|e| self.err("creating meta in", e))?,
            self.faults.clone(),
        );
        let mut meta = self.meta.encode();
        if self.layout == split::Layout::Plain {
            meta = meta.replacen(block_meta::MAGIC, block_meta::MAGIC_V1, 1);
        }
        f.write_all(meta.as_bytes())
            .and_then(|()| f.file.sync_all())
            .map_err(|e| self.err("writing meta in", e))?;
        let _ = disk::sync_dir(&self.tmp);
        let dest = self.blocks_dir.join(&self.name);
        fs::rename(&self.tmp, &dest).map_err(|e| self.err("renaming", e))?;
        self.done = true;
        disk::sync_dir(&self.blocks_dir)
            .map_err(|e| TsdbError::at("syncing", &self.blocks_dir, e))?;
        Block::open(&dest, interner).map(Some)
    }

    fn encode_index(&self) -> Vec<u8> {
        let symbols: BTreeSet<&str> = self
            .series
            .iter()
            .flat_map(|(l, _)| l.iter().flat_map(|l| [&*l.name, &*l.value]))
            .collect();
        let ids: HashMap<&str, u64> = symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i as u64))
            .collect();
        let mut out = Vec::with_capacity(64 * self.series.len() + 1024);
        out.extend_from_slice(INDEX_MAGIC);
        put_uvarint(&mut out, symbols.len() as u64);
        for s in &symbols {
            put_str(&mut out, s);
        }
        put_uvarint(&mut out, self.times_lens.len() as u64);
        for &len in &self.times_lens {
            put_uvarint(&mut out, len as u64);
        }
        put_uvarint(&mut out, self.series.len() as u64);
        for (labels, metas) in &self.series {
            put_uvarint(&mut out, labels.len() as u64);
            for l in labels.iter() {
                put_uvarint(&mut out, ids[&*l.name]);
                put_uvarint(&mut out, ids[&*l.value]);
            }
            put_uvarint(&mut out, metas.len() as u64);
            let mut prev = self.meta.range_start;
            for m in metas {
                put_varint(&mut out, m.mint.wrapping_sub(prev));
                put_uvarint(&mut out, m.maxt.wrapping_sub(m.mint) as u64);
                put_uvarint(&mut out, m.len as u64);
                put_uvarint(&mut out, m.times as u64);
                prev = m.maxt;
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }
}

impl Drop for BlockWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}
