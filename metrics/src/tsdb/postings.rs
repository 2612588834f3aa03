//! Postings (label name and value → sorted series numbers) and the resolution of PromQL
//! matchers against them, shared by the head and the blocks.
//!
//! Every matcher becomes "the series whose value of `name` is in the matching values": when
//! the matcher also matches `""`, series lacking the label match too, so the result is all
//! series minus those with a non-matching value (`{a=""}`, `{a!="x"}`, `{a!~"x"}`,
//! `{a=~"x|"}`); otherwise it is the union over matching values.
use std::collections::HashMap;

use crate::model::{MatchOp, Matcher};

/// Symbol number → postings, for one label name.
pub type ValuePostings = HashMap<u32, Vec<u32>>;

#[derive(Default, Debug)]
pub struct Postings {
    by_name: HashMap<u32, ValuePostings>,
}

/// How a postings owner names its symbols.
pub trait SymbolLookup {
    fn id_of(&self, s: &str) -> Option<u32>;
    fn str_of(&self, id: u32) -> &str;
}

impl Postings {
    /// Adds a series number (cheapest in ascending order).
    pub fn add(&mut self, name: u32, value: u32, series: u32) {
        let list = self
            .by_name
            .entry(name)
            .or_default()
            .entry(value)
            .or_default();
        if list.last().is_none_or(|&l| l < series) {
            list.push(series);
        } else if let Err(at) = list.binary_search(&series) {
            list.insert(at, series);
        }
    }

    /// Removes many series numbers (sorted) from every list they are in.
    pub fn remove_all(&mut self, dead: &[u32]) {
        if dead.is_empty() {
            return;
        }
        for values in self.by_name.values_mut() {
            for list in values.values_mut() {
                list.retain(|s| dead.binary_search(s).is_err());
            }
            values.retain(|_, l| !l.is_empty());
        }
        self.by_name.retain(|_, v| !v.is_empty());
    }

    /// The series numbers (sorted) matching every matcher; `all` is every series number.
    pub fn select(&self, matchers: &[Matcher], syms: &dyn SymbolLookup, all: &[u32]) -> Vec<u32> {
        let mut include: Vec<Vec<u32>> = Vec::new();
        let mut exclude: Vec<Vec<u32>> = Vec::new();
        for m in matchers {
            let values = syms.id_of(&m.name).and_then(|n| self.by_name.get(&n));
            if m.matches_empty() {
                // All series minus those whose value does not match.
                let lists = values.into_iter().flat_map(|vals| {
                    vals.iter()
                        .filter(|(v, _)| !m.matches(syms.str_of(**v)))
                        .map(|(_, l)| l.as_slice())
                });
                exclude.push(union(lists));
            } else {
                let list = match (&m.op, values) {
                    (_, None) => Vec::new(),
                    (MatchOp::Equal, Some(vals)) => syms
                        .id_of(&m.value)
                        .and_then(|v| vals.get(&v))
                        .cloned()
                        .unwrap_or_default(),
                    (_, Some(vals)) => union(
                        vals.iter()
                            .filter(|(v, _)| m.matches(syms.str_of(**v)))
                            .map(|(_, l)| l.as_slice()),
                    ),
                };
                if list.is_empty() {
                    return Vec::new();
                }
                include.push(list);
            }
        }
        include.sort_by_key(Vec::len);
        let mut result = match include.split_first() {
            Some((first, rest)) => rest.iter().fold(first.clone(), |acc, l| intersect(&acc, l)),
            None => all.to_vec(),
        };
        for ex in &exclude {
            result = subtract(&result, ex);
        }
        result
    }
}

/// The sorted, deduplicated union of sorted lists.
pub fn union<'a>(lists: impl Iterator<Item = &'a [u32]>) -> Vec<u32> {
    let lists: Vec<&[u32]> = lists.collect();
    match lists.len() {
        0 => Vec::new(),
        1 => lists[0].to_vec(),
        _ => {
            let mut out: Vec<u32> = lists.concat();
            out.sort_unstable();
            out.dedup();
            out
        }
    }
}

pub fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

pub fn subtract(a: &[u32], b: &[u32]) -> Vec<u32> {
    if b.is_empty() {
        return a.to_vec();
    }
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}
