//! A block's `meta` file: what it holds and where it came from, as `key value` lines.
use super::error::TsdbError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// Samples as appended.
    Raw,
    /// The last sample of every rollup bucket.
    Rollup,
}

impl BlockKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockKind::Raw => "raw",
            BlockKind::Rollup => "rollup",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockMeta {
    pub kind: BlockKind,
    /// The aligned time window the block covers, `start..end`.
    pub range_start: i64,
    pub range_end: i64,
    /// The first and last sample times held.
    pub mint: i64,
    pub maxt: i64,
    pub series: u64,
    pub samples: u64,
    pub chunks: u64,
    /// 0 for a block written from the head; compaction adds one.
    pub level: u32,
    /// Blocks this one replaces; any still on disk at open are removed.
    pub sources: Vec<String>,
}

/// Blocks whose chunks have restart points (chunks magic `BTC2`). A Berth from before them
/// sets such a block aside as unknown instead of misreading its chunks.
pub const MAGIC: &str = "berth-tsdb-block 2";
/// Blocks written before restart points; still read.
pub const MAGIC_V1: &str = "berth-tsdb-block 1";

impl BlockMeta {
    pub fn encode(&self) -> String {
        format!(
            "{MAGIC}\nkind {}\nrange {} {}\ntime {} {}\nseries {}\nsamples {}\nchunks {}\nlevel {}\nsources {}\n",
            self.kind.as_str(),
            self.range_start,
            self.range_end,
            self.mint,
            self.maxt,
            self.series,
            self.samples,
            self.chunks,
            self.level,
            self.sources.join(" "),
        )
    }

    pub fn decode(text: &str) -> Result<BlockMeta, TsdbError> {
        let bad = |what: &str| TsdbError::Corrupt(format!("block meta: {what}"));
        let mut lines = text.lines();
        if !matches!(lines.next(), Some(MAGIC | MAGIC_V1)) {
            return Err(bad("unknown format"));
        }
        let mut m = BlockMeta {
            kind: BlockKind::Raw,
            range_start: 0,
            range_end: 0,
            mint: 0,
            maxt: 0,
            series: 0,
            samples: 0,
            chunks: 0,
            level: 0,
            sources: Vec::new(),
        };
        let mut seen = 0;
        for line in lines {
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            let nums = || -> Result<Vec<i64>, TsdbError> {
                rest.split_whitespace()
                    .map(|n| n.parse::<i64>().map_err(|_| bad(key)))
                    .collect()
            };
            let one = || -> Result<i64, TsdbError> { nums()?.first().copied().ok_or(bad(key)) };
            match key {
                "kind" => {
                    m.kind = match rest {
                        "raw" => BlockKind::Raw,
                        "rollup" => BlockKind::Rollup,
                        _ => return Err(bad("kind")),
                    }
                }
                "range" | "time" => {
                    let v = nums()?;
                    let [a, b] = v[..] else {
                        return Err(bad(key));
                    };
                    if key == "range" {
                        (m.range_start, m.range_end) = (a, b);
                    } else {
                        (m.mint, m.maxt) = (a, b);
                    }
                }
                "series" => m.series = one()? as u64,
                "samples" => m.samples = one()? as u64,
                "chunks" => m.chunks = one()? as u64,
                "level" => m.level = one()? as u32,
                "sources" => m.sources = rest.split_whitespace().map(str::to_string).collect(),
                _ => continue,
            }
            seen += 1;
        }
        if seen < 8 || m.range_start >= m.range_end {
            return Err(bad("missing fields"));
        }
        Ok(m)
    }
}
