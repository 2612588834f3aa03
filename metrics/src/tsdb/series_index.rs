//! The head's series index: labels as symbol numbers, a hash for lookups by label set, and
//! postings for matchers. Guarded by the head's index lock.
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::postings::Postings;
use super::symbols::{Interner, SymbolTable};
use crate::model::{Label, Labels};

#[derive(Default)]
pub struct HeadIndex {
    pub syms: SymbolTable,
    /// Series id → (name, value) symbol pairs, in label order.
    pub labels: HashMap<u32, Box<[u32]>>,
    pub by_hash: HashMap<u64, u32>,
    /// Ids whose hash collided with another series' (rare).
    pub collided: HashMap<u64, Vec<u32>>,
    pub postings: Postings,
    /// Every live id, ascending.
    pub all: Vec<u32>,
    pub next_id: u32,
}

pub fn hash_labels(labels: &Labels) -> u64 {
    let mut h = DefaultHasher::new();
    for l in labels.iter() {
        l.name.hash(&mut h);
        l.value.hash(&mut h);
    }
    h.finish()
}

impl HeadIndex {
    fn same(&self, id: u32, labels: &Labels) -> bool {
        let Some(pairs) = self.labels.get(&id) else {
            return false;
        };
        pairs.len() == labels.len() * 2
            && pairs
                .chunks(2)
                .zip(labels.iter())
                .all(|(p, l)| **self.syms.arc(p[0]) == *l.name && **self.syms.arc(p[1]) == *l.value)
    }

    pub fn find(&self, hash: u64, labels: &Labels) -> Option<u32> {
        if let Some(&id) = self.by_hash.get(&hash) {
            if self.same(id, labels) {
                return Some(id);
            }
        }
        self.collided
            .get(&hash)?
            .iter()
            .copied()
            .find(|&id| self.same(id, labels))
    }

    pub fn labels_of(&self, id: u32) -> Option<Labels> {
        let pairs = self.labels.get(&id)?;
        Some(Labels::from_sorted(
            pairs
                .chunks(2)
                .map(|p| Label {
                    name: self.syms.arc(p[0]).clone(),
                    value: self.syms.arc(p[1]).clone(),
                })
                .collect(),
        ))
    }

    pub fn insert(&mut self, id: u32, hash: u64, labels: &Labels, interner: &Interner) {
        let mut pairs = Vec::with_capacity(labels.len() * 2);
        for l in labels.iter() {
            pairs.push(self.syms.acquire(&l.name, interner));
            pairs.push(self.syms.acquire(&l.value, interner));
        }
        // Replay may revive ids out of order; keep `all` sorted.
        let at = self.all.partition_point(|&x| x < id);
        self.all.insert(at, id);
        for p in pairs.chunks(2) {
            self.postings.add(p[0], p[1], id);
        }
        self.labels.insert(id, pairs.into_boxed_slice());
        match self.by_hash.entry(hash) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collided.entry(hash).or_default().push(id)
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(id);
            }
        }
        self.next_id = self.next_id.max(id + 1);
    }

    pub fn remove(&mut self, ids: &[u32]) {
        for &id in ids {
            let Some(pairs) = self.labels.remove(&id) else {
                continue;
            };
            let labels: Vec<(Arc<str>, Arc<str>)> = pairs
                .chunks(2)
                .map(|p| (self.syms.arc(p[0]).clone(), self.syms.arc(p[1]).clone()))
                .collect();
            let mut h = DefaultHasher::new();
            for (n, v) in &labels {
                n.hash(&mut h);
                v.hash(&mut h);
            }
            let hash = h.finish();
            if self.by_hash.get(&hash) == Some(&id) {
                self.by_hash.remove(&hash);
                if let Some(mut rest) = self.collided.remove(&hash) {
                    let promoted = rest.remove(0);
                    self.by_hash.insert(hash, promoted);
                    if !rest.is_empty() {
                        self.collided.insert(hash, rest);
                    }
                }
            } else if let Some(rest) = self.collided.get_mut(&hash) {
                rest.retain(|&x| x != id);
                if rest.is_empty() {
                    self.collided.remove(&hash);
                }
            }
            for &s in pairs.iter() {
                self.syms.release(s);
            }
        }
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        self.postings.remove_all(&sorted);
        self.all.retain(|x| sorted.binary_search(x).is_err());
    }
}
