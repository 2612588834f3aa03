//! Label strings, stored once: an interner of `Arc<str>` shared by the head and every
//! loaded block (pruned of strings nothing uses), and the head's reference-counted symbol
//! table, whose numbers the head's series and postings use instead of strings.
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::postings::SymbolLookup;

/// One copy of each label string in memory.
#[derive(Default, Debug)]
pub struct Interner {
    set: Mutex<HashSet<Arc<str>>>,
}

impl Interner {
    pub fn intern(&self, s: &str) -> Arc<str> {
        let mut set = self.set.lock().expect("interner lock");
        if let Some(a) = set.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        set.insert(a.clone());
        a
    }

    /// Forgets strings only the interner holds.
    pub fn prune(&self) {
        let mut set = self.set.lock().expect("interner lock");
        set.retain(|a| Arc::strong_count(a) > 1);
        set.shrink_to_fit();
    }
}

/// Reference-counted symbol numbers; a number freed by its last user is reused.
#[derive(Default, Debug)]
pub struct SymbolTable {
    strs: Vec<Option<(Arc<str>, u32)>>,
    ids: HashMap<Arc<str>, u32>,
    free: Vec<u32>,
}

impl SymbolTable {
    /// The number for `s`, taking one reference.
    pub fn acquire(&mut self, s: &str, interner: &Interner) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            if let Some((_, refs)) = &mut self.strs[id as usize] {
                *refs += 1;
            }
            return id;
        }
        let a = interner.intern(s);
        let id = match self.free.pop() {
            Some(id) => {
                self.strs[id as usize] = Some((a.clone(), 1));
                id
            }
            None => {
                self.strs.push(Some((a.clone(), 1)));
                (self.strs.len() - 1) as u32
            }
        };
        self.ids.insert(a, id);
        id
    }

    /// Drops one reference; the last frees the number.
    pub fn release(&mut self, id: u32) {
        let slot = &mut self.strs[id as usize];
        let Some((s, refs)) = slot else {
            return;
        };
        *refs -= 1;
        if *refs == 0 {
            self.ids.remove(&**s);
            *slot = None;
            self.free.push(id);
        }
    }

    pub fn arc(&self, id: u32) -> &Arc<str> {
        &self.strs[id as usize].as_ref().expect("live symbol").0
    }
}

impl SymbolLookup for SymbolTable {
    fn id_of(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    fn str_of(&self, id: u32) -> &str {
        self.arc(id)
    }
}
