//! One series' samples in the head: the open chunk being appended to and the closed chunks
//! not yet persisted into a block. No uncompressed samples are kept.
use std::sync::Arc;

use super::chunk::{ChunkAppender, HEAD_CHUNK_SAMPLES};

/// A closed, immutable chunk (shared with queries and the block writer without copying).
#[derive(Clone, Debug)]
pub struct HeadChunk {
    pub data: Arc<[u8]>,
    pub mint: i64,
    pub maxt: i64,
}

#[derive(Debug, Default)]
pub struct MemSeries {
    open: Option<ChunkAppender>,
    closed: Vec<HeadChunk>,
    /// Set by one garbage collection pass that found the series empty; the next drops it.
    gc_mark: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    Accepted,
    OutOfOrder,
    Duplicate,
    Identical,
}

/// The end of the block window holding `t`: chunks never cross it, so a block takes whole
/// chunks.
pub fn window_end(t: i64, range: i64) -> i64 {
    t.div_euclid(range).saturating_add(1).saturating_mul(range)
}

impl MemSeries {
    pub fn append(&mut self, t: i64, v: f64, range: i64) -> Appended {
        self.gc_mark = false;
        let Some(open) = &mut self.open else {
            self.open = Some(ChunkAppender::new(t, v));
            return Appended::Accepted;
        };
        let last = open.last_t();
        if t < last {
            return Appended::OutOfOrder;
        }
        if t == last {
            return if open.last_v().to_bits() == v.to_bits() {
                Appended::Identical
            } else {
                Appended::Duplicate
            };
        }
        if open.count() >= HEAD_CHUNK_SAMPLES || t >= window_end(open.first_t(), range) {
            self.cut();
            self.open = Some(ChunkAppender::new(t, v));
        } else {
            open.append(t, v);
        }
        Appended::Accepted
    }

    /// Closes the open chunk.
    fn cut(&mut self) {
        if let Some(open) = self.open.take() {
            let (mint, maxt) = (open.first_t(), open.last_t());
            self.closed.push(HeadChunk {
                data: Arc::from(open.finish()),
                mint,
                maxt,
            });
        }
    }

    /// Closes the open chunk when it lies before `t` (no sample may join it any more) and
    /// returns the closed chunks wholly before `t`.
    pub fn chunks_before(&mut self, t: i64) -> Vec<HeadChunk> {
        if self.open.as_ref().is_some_and(|o| o.first_t() < t) {
            self.cut();
        }
        self.closed
            .iter()
            .take_while(|c| c.maxt < t)
            .cloned()
            .collect()
    }

    /// Forgets chunks wholly before `t` (they are in a block now).
    pub fn drop_before(&mut self, t: i64) {
        let n = self.closed.iter().take_while(|c| c.maxt < t).count();
        self.closed.drain(..n);
        if self.closed.is_empty() {
            self.closed = Vec::new();
        }
    }

    /// Chunks overlapping `mint..=maxt`, the open one copied.
    pub fn read(&self, mint: i64, maxt: i64, out: &mut Vec<Arc<[u8]>>) {
        for c in &self.closed {
            if c.maxt >= mint && c.mint <= maxt {
                out.push(c.data.clone());
            }
        }
        if let Some(o) = &self.open {
            if o.last_t() >= mint && o.first_t() <= maxt {
                out.push(Arc::from(o.bytes()));
            }
        }
    }

    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.closed.iter().any(|c| c.maxt >= mint && c.mint <= maxt)
            || self
                .open
                .as_ref()
                .is_some_and(|o| o.last_t() >= mint && o.first_t() <= maxt)
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_none() && self.closed.is_empty()
    }

    /// For garbage collection: true when the series was already empty at the previous pass.
    pub fn mark_idle(&mut self) -> bool {
        if !self.is_empty() {
            self.gc_mark = false;
            return false;
        }
        let was = self.gc_mark;
        self.gc_mark = true;
        was
    }

    pub fn chunk_count(&self) -> usize {
        self.closed.len() + self.open.is_some() as usize
    }

    pub fn time_range(&self) -> Option<(i64, i64)> {
        let min = self
            .closed
            .first()
            .map(|c| c.mint)
            .or(self.open.as_ref().map(|o| o.first_t()))?;
        let max = self
            .open
            .as_ref()
            .map(|o| o.last_t())
            .or(self.closed.last().map(|c| c.maxt))?;
        Some((min, max))
    }
}
