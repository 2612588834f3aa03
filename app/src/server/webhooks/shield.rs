//! In-memory protection of the public webhook endpoint, before the database: a token bucket of
//! refusals per source address, and a cap on how many large bodies are buffered at once.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Refusals an address may earn per minute (and at once) before it is answered 429.
pub const REFUSALS_PER_MINUTE: f64 = 30.0;
/// A body over this size needs one of [`LARGE_BODIES_AT_ONCE`] permits to be buffered.
pub const LARGE_BODY: usize = 1024 * 1024;
/// Large bodies buffered at the same time (at most 25 MB each).
pub const LARGE_BODIES_AT_ONCE: usize = 4;
/// Addresses remembered; past this, those whose bucket is full again are forgotten.
const ADDRESSES: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let per_sec = REFUSALS_PER_MINUTE / 60.0;
        let t = self.tokens + now.duration_since(self.at).as_secs_f64() * per_sec;
        self.tokens = t.min(REFUSALS_PER_MINUTE);
        self.at = now;
    }
}

/// One per server, shared by every delivery.
pub struct Shield {
    buckets: Mutex<HashMap<String, Bucket>>,
    large: Arc<Semaphore>,
}

impl Default for Shield {
    fn default() -> Self {
        Shield {
            buckets: Mutex::new(HashMap::new()),
            large: Arc::new(Semaphore::new(LARGE_BODIES_AT_ONCE)),
        }
    }
}

impl Shield {
    /// Whether `addr` has used up its refusals: its next refusal is answered 429 unrecorded.
    pub fn limited(&self, addr: &str) -> bool {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(addr) {
            Some(b) => {
                b.refill(Instant::now());
                b.tokens < 1.0
            }
            None => false,
        }
    }

    /// Counts a refusal against `addr`: false (and nothing counted) when it has none left.
    pub fn take(&self, addr: &str) -> bool {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= ADDRESSES && !map.contains_key(addr) {
            map.retain(|_, b| {
                b.refill(now);
                b.tokens < REFUSALS_PER_MINUTE
            });
        }
        let b = map.entry(addr.to_string()).or_insert(Bucket {
            tokens: REFUSALS_PER_MINUTE,
            at: now,
        });
        b.refill(now);
        if b.tokens < 1.0 {
            return false;
        }
        b.tokens -= 1.0;
        true
    }

    /// A permit to buffer a large body, or `None` when [`LARGE_BODIES_AT_ONCE`] are buffering.
    pub fn large_body(&self) -> Option<OwnedSemaphorePermit> {
        self.large.clone().try_acquire_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_limited_after_its_refusals_and_others_are_not() {
        let s = Shield::default();
        for _ in 0..REFUSALS_PER_MINUTE as usize {
            assert!(!s.limited("10.0.0.1"));
            assert!(s.take("10.0.0.1"));
        }
        assert!(s.limited("10.0.0.1"));
        assert!(!s.take("10.0.0.1"));
        assert!(!s.limited("10.0.0.2"));
    }

    #[test]
    fn large_bodies_are_capped() {
        let s = Shield::default();
        let held: Vec<_> = (0..LARGE_BODIES_AT_ONCE)
            .map(|_| s.large_body().expect("permit"))
            .collect();
        assert!(s.large_body().is_none());
        drop(held);
        assert!(s.large_body().is_some());
    }
}
