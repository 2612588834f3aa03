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
/// Addresses remembered; past this, those whose bucket is full again are forgotten, and if
/// none is, every new address shares one bucket (a spray of addresses is limited as one).
const ADDRESSES: usize = 10_000;
/// The shared bucket of addresses that found the table full.
const OVERFLOW: &str = "overflow";

/// The bucket an address counts against: an IPv4 address by itself, an IPv6 address by its
/// /64 (one host is usually given a whole /64, and rotating within it is free).
fn key(addr: &str) -> String {
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(ip) => ip.to_string(),
        Err(_) => addr.to_string(),
    }
}

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

#[derive(Default)]
struct Table {
    map: HashMap<String, Bucket>,
    /// When full buckets were last swept out (at most once a second: a sweep walks them all).
    swept: Option<Instant>,
}

/// One per server, shared by every delivery.
pub struct Shield {
    buckets: Mutex<Table>,
    large: Arc<Semaphore>,
}

impl Default for Shield {
    fn default() -> Self {
        Shield {
            buckets: Mutex::new(Table::default()),
            large: Arc::new(Semaphore::new(LARGE_BODIES_AT_ONCE)),
        }
    }
}

impl Shield {
    /// Whether `addr` has used up its refusals: its next refusal is answered 429 unrecorded.
    pub fn limited(&self, addr: &str) -> bool {
        let mut table = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let map = &mut table.map;
        let k = key(addr);
        let k = if map.contains_key(&k) || map.len() < ADDRESSES {
            k
        } else {
            OVERFLOW.to_string()
        };
        match map.get_mut(&k) {
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
        let mut table = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let Table { map, swept } = &mut *table;
        let mut k = key(addr);
        if map.len() >= ADDRESSES && !map.contains_key(&k) {
            if swept.is_none_or(|t| now.duration_since(t).as_secs() >= 1) {
                *swept = Some(now);
                map.retain(|name, b| {
                    b.refill(now);
                    name == OVERFLOW || b.tokens < REFUSALS_PER_MINUTE
                });
            }
            if map.len() >= ADDRESSES {
                k = OVERFLOW.to_string();
            }
        }
        let b = map.entry(k).or_insert(Bucket {
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
    fn an_ipv6_host_cannot_rotate_within_its_64() {
        let s = Shield::default();
        for i in 0..REFUSALS_PER_MINUTE as usize {
            assert!(s.take(&format!("2001:db8:1:2::{:x}", i + 1)));
        }
        assert!(s.limited("2001:db8:1:2:ffff::9"));
        assert!(!s.take("2001:db8:1:2:ffff::9"));
        assert!(!s.limited("2001:db8:1:3::1"), "another /64 is another host");
        assert_eq!(key("::ffff:10.0.0.7"), "10.0.0.7");
    }

    #[test]
    fn a_spray_of_addresses_is_bounded_and_limited_as_one() {
        let s = Shield::default();
        for i in 0..ADDRESSES {
            assert!(s.take(&format!("10.{}.{}.1", i / 256, i % 256)));
        }
        let mut allowed = 0;
        for i in 0..1000 {
            if s.take(&format!("172.16.{}.{}", i / 256, i % 256)) {
                allowed += 1;
            }
        }
        assert_eq!(
            allowed, REFUSALS_PER_MINUTE as usize,
            "new addresses share one bucket"
        );
        assert!(s.buckets.lock().unwrap().map.len() <= ADDRESSES + 1);
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
