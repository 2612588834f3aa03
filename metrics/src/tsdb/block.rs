//! A persisted, immutable block: a directory with `meta` ([`super::block_meta`]), `index`
//! and `chunks`, written once through a temporary directory and a rename
//! ([`super::block_writer`]).
//!
//! Chunks are stored split ([`chunk::split`]): `times`: magic `BTT1`, then the distinct
//! timestamp streams (series scraped together share one); `chunks`: magic `BTC2` (`BTC1`
//! before restart points, still read; see [`split::Layout`]), then every series' value
//! streams back to back in index order.
//! `index`: magic `BTI1`; the sorted symbol table (count, then length-prefixed strings); the
//! timestamp streams' lengths (count, then each); the series sorted by labels (label count,
//! name and value symbol numbers; chunk count, and per chunk its first time as a delta from
//! the previous chunk's last, its time span, its value bytes and its timestamp stream);
//! then a CRC32 of all before it. The index is loaded whole (with postings built from it);
//! chunk bytes are read per query with positioned reads, timestamp streams through a
//! [`TimesCache`].
use std::collections::HashMap;
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::block_meta::BlockMeta;
use super::chunk::split;
use super::error::TsdbError;
use super::postings::{Postings, SymbolLookup};
use super::symbols::Interner;
use super::varint::{Cursor, Truncated};
use super::Windows;
use crate::model::{Label, Labels, Matcher};

pub const INDEX_MAGIC: &[u8; 4] = b"BTI1";
/// Chunks files with restart points in their value streams ([`split::Layout::Restarts`]).
pub const CHUNKS_MAGIC: &[u8; 4] = b"BTC2";
/// Chunks files written before restart points, still read.
pub const CHUNKS_MAGIC_PLAIN: &[u8; 4] = b"BTC1";
pub const TIMES_MAGIC: &[u8; 4] = b"BTT1";
/// Decoded timestamp streams a cache keeps before starting over (~2 MB at 480 samples).
const TIMES_CACHE_CAP: usize = 512;

#[derive(Clone, Copy, Debug)]
pub struct ChunkMeta {
    pub mint: i64,
    pub maxt: i64,
    /// Bytes of the value stream.
    pub len: u32,
    /// The timestamp stream.
    pub times: u32,
}

/// Decoded timestamp streams of one block, kept across the series of one read.
#[derive(Default)]
pub struct TimesCache {
    map: HashMap<u32, Vec<i64>>,
}

struct BlockSeries {
    /// (name, value) symbol pairs.
    labels: Box<[u32]>,
    offset: u64,
    chunks: Box<[ChunkMeta]>,
}

/// Sorted symbols, looked up by binary search.
struct BlockSymbols(Vec<Arc<str>>);

impl SymbolLookup for BlockSymbols {
    fn id_of(&self, s: &str) -> Option<u32> {
        self.0
            .binary_search_by(|x| (**x).cmp(s))
            .ok()
            .map(|i| i as u32)
    }

    fn str_of(&self, id: u32) -> &str {
        &self.0[id as usize]
    }
}

pub struct Block {
    pub name: String,
    pub dir: PathBuf,
    pub meta: BlockMeta,
    /// Bytes of the block's files.
    pub bytes: u64,
    chunks: File,
    /// How `chunks` lays out value streams (by its magic).
    layout: split::Layout,
    times: File,
    /// Offset and length of each timestamp stream in `times`.
    times_at: Vec<(u64, u32)>,
    symbols: BlockSymbols,
    series: Vec<BlockSeries>,
    postings: Postings,
    all: Vec<u32>,
}

fn corrupt(path: &Path, what: impl std::fmt::Display) -> TsdbError {
    TsdbError::Corrupt(format!("{}: {what}", path.display()))
}

impl Block {
    pub fn open(dir: &Path, interner: &Interner) -> Result<Block, TsdbError> {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let meta_path = dir.join("meta");
        let meta_text =
            fs::read_to_string(&meta_path).map_err(|e| TsdbError::at("reading", &meta_path, e))?;
        let meta = BlockMeta::decode(&meta_text).map_err(|e| corrupt(&meta_path, e))?;
        let index_path = dir.join("index");
        let index = fs::read(&index_path).map_err(|e| TsdbError::at("reading", &index_path, e))?;
        let chunks_path = dir.join("chunks");
        let chunks =
            File::open(&chunks_path).map_err(|e| TsdbError::at("opening", &chunks_path, e))?;
        let chunks_len = chunks
            .metadata()
            .map_err(|e| TsdbError::at("reading", &chunks_path, e))?
            .len();
        let mut magic = [0u8; 4];
        chunks
            .read_exact_at(&mut magic, 0)
            .map_err(|e| TsdbError::at("reading", &chunks_path, e))?;
        let layout = match &magic {
            m if m == CHUNKS_MAGIC => split::Layout::Restarts,
            m if m == CHUNKS_MAGIC_PLAIN => split::Layout::Plain,
            _ => return Err(corrupt(&chunks_path, "not a chunks file")),
        };
        let times_path = dir.join("times");
        let times =
            File::open(&times_path).map_err(|e| TsdbError::at("opening", &times_path, e))?;
        let times_len = times
            .metadata()
            .map_err(|e| TsdbError::at("reading", &times_path, e))?
            .len();
        let ParsedIndex {
            symbols,
            times_at,
            series,
        } = parse_index(&index, &meta, interner)
            .map_err(|Truncated(what)| corrupt(&index_path, format!("bad {what}")))?;
        if times_at.last().map_or(4, |(o, l)| o + *l as u64) > times_len {
            return Err(corrupt(&times_path, "shorter than its index says"));
        }
        let end = series
            .last()
            .map(|s| s.offset + s.chunks.iter().map(|c| c.len as u64).sum::<u64>())
            .unwrap_or(4);
        if end > chunks_len {
            return Err(corrupt(&chunks_path, "shorter than its index says"));
        }
        let mut postings = Postings::default();
        for (i, s) in series.iter().enumerate() {
            for p in s.labels.chunks(2) {
                postings.add(p[0], p[1], i as u32);
            }
        }
        Ok(Block {
            name,
            dir: dir.to_path_buf(),
            bytes: meta_text.len() as u64 + index.len() as u64 + chunks_len + times_len,
            meta,
            chunks,
            layout,
            times,
            times_at,
            all: (0..series.len() as u32).collect(),
            symbols,
            series,
            postings,
        })
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    pub fn matching(&self, matchers: &[Matcher]) -> Vec<u32> {
        self.postings.select(matchers, &self.symbols, &self.all)
    }

    pub fn labels(&self, i: u32) -> Labels {
        let s = &self.series[i as usize];
        Labels::from_sorted(
            s.labels
                .chunks(2)
                .map(|p| Label {
                    name: self.symbols.0[p[0] as usize].clone(),
                    value: self.symbols.0[p[1] as usize].clone(),
                })
                .collect(),
        )
    }

    pub fn overlaps(&self, i: u32, mint: i64, maxt: i64) -> bool {
        self.series[i as usize]
            .chunks
            .iter()
            .any(|c| c.maxt >= mint && c.mint <= maxt)
    }

    /// Pushes series `i`'s samples in `range` (inclusive; and in `windows`) onto `out`.
    pub fn read(
        &self,
        i: u32,
        (mint, maxt): (i64, i64),
        windows: Option<&Windows>,
        out: &mut Vec<(i64, f64)>,
        cache: &mut TimesCache,
    ) -> Result<(), TsdbError> {
        let s = &self.series[i as usize];
        let first = s.chunks.iter().position(|c| c.maxt >= mint);
        let Some(first) = first else { return Ok(()) };
        let last = s.chunks.iter().rposition(|c| c.mint <= maxt);
        let Some(last) = last.filter(|&l| l >= first) else {
            return Ok(());
        };
        let start = s.offset + s.chunks[..first].iter().map(|c| c.len as u64).sum::<u64>();
        let len: u64 = s.chunks[first..=last].iter().map(|c| c.len as u64).sum();
        let mut buf = vec![0u8; len as usize];
        self.chunks
            .read_exact_at(&mut buf, start)
            .map_err(|e| TsdbError::at("reading chunks of", &self.dir, e))?;
        let mut pos = 0usize;
        let mut ranges = Vec::new();
        for c in &s.chunks[first..=last] {
            let data = &buf[pos..pos + c.len as usize];
            pos += c.len as usize;
            let bad = || corrupt(&self.dir, format!("chunk at {}", start + pos as u64));
            if let Some(w) = windows {
                if !w.overlaps(c.mint.max(mint), c.maxt.min(maxt)) {
                    continue;
                }
                let ts = self.times(c.times, cache)?;
                w.ranges(ts, &mut ranges);
                split::decode_ranges(data, ts.len(), self.layout, &ranges, |k, v| {
                    out.push((ts[k], v))
                })
                .map_err(|_| bad())?;
                continue;
            }
            let ts = self.times(c.times, cache)?;
            let whole = c.mint >= mint && c.maxt <= maxt;
            out.reserve(ts.len());
            split::decode_values(data, ts.len(), self.layout, |k, v| {
                if whole || (ts[k] >= mint && ts[k] <= maxt) {
                    out.push((ts[k], v));
                }
            })
            .map_err(|_| bad())?;
        }
        Ok(())
    }

    fn times<'c>(&self, r: u32, cache: &'c mut TimesCache) -> Result<&'c [i64], TsdbError> {
        if !cache.map.contains_key(&r) {
            if cache.map.len() >= TIMES_CACHE_CAP {
                cache.map.clear();
            }
            let &(at, len) = self
                .times_at
                .get(r as usize)
                .ok_or_else(|| corrupt(&self.dir, format!("no timestamp stream {r}")))?;
            let mut buf = vec![0u8; len as usize];
            self.times
                .read_exact_at(&mut buf, at)
                .map_err(|e| TsdbError::at("reading times of", &self.dir, e))?;
            let mut ts = Vec::new();
            split::decode_times(&buf, &mut ts)
                .map_err(|_| corrupt(&self.dir, format!("timestamp stream {r}")))?;
            cache.map.insert(r, ts);
        }
        Ok(&cache.map[&r])
    }

    /// Every label name and value symbol in the block, for label listings.
    pub fn label_pairs(&self, i: u32) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.series[i as usize].labels.chunks(2).map(|p| {
            (
                &*self.symbols.0[p[0] as usize],
                &*self.symbols.0[p[1] as usize],
            )
        })
    }
}

struct ParsedIndex {
    symbols: BlockSymbols,
    times_at: Vec<(u64, u32)>,
    series: Vec<BlockSeries>,
}

fn parse_index(
    data: &[u8],
    meta: &BlockMeta,
    interner: &Interner,
) -> Result<ParsedIndex, Truncated> {
    if data.len() < 8 || &data[..4] != INDEX_MAGIC {
        return Err(Truncated("magic"));
    }
    let (body, crc) = data.split_at(data.len() - 4);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return Err(Truncated("checksum"));
    }
    let mut c = Cursor::new(&body[4..]);
    let nsyms = c.len("symbol count", body.len())?;
    let mut syms = Vec::with_capacity(nsyms);
    for _ in 0..nsyms {
        syms.push(interner.intern(c.str("symbol")?));
    }
    let ntimes = c.len("timestamp stream count", body.len())?;
    let mut times_at = Vec::with_capacity(ntimes);
    let mut at = 4u64;
    for _ in 0..ntimes {
        let len = c.len("timestamp stream length", u32::MAX as usize)? as u32;
        times_at.push((at, len));
        at += len as u64;
    }
    let nseries = c.len("series count", body.len())?;
    let mut series = Vec::with_capacity(nseries);
    let mut offset = 4u64;
    for _ in 0..nseries {
        let nlabels = c.len("label count", body.len())?;
        let mut labels = Vec::with_capacity(nlabels * 2);
        for _ in 0..nlabels * 2 {
            labels.push(c.len("symbol ref", nsyms.saturating_sub(1))? as u32);
        }
        let nchunks = c.len("chunk count", body.len())?;
        let mut chunks = Vec::with_capacity(nchunks);
        let mut prev = meta.range_start;
        let mut total = 0u64;
        for _ in 0..nchunks {
            let mint = prev.wrapping_add(c.varint("chunk mint")?);
            let maxt = mint.wrapping_add(c.uvarint("chunk span")? as i64);
            let len = c.len("chunk length", u32::MAX as usize)? as u32;
            let times = c.len("chunk times", ntimes.saturating_sub(1))? as u32;
            chunks.push(ChunkMeta {
                mint,
                maxt,
                len,
                times,
            });
            total += len as u64;
            prev = maxt;
        }
        series.push(BlockSeries {
            labels: labels.into_boxed_slice(),
            offset,
            chunks: chunks.into_boxed_slice(),
        });
        offset += total;
    }
    Ok(ParsedIndex {
        symbols: BlockSymbols(syms),
        times_at,
        series,
    })
}
