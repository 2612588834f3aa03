//! Who a session cookie belongs to, remembered across requests for a moment.
//!
//! Every signed-in request reads its session row and its user row before doing its own work;
//! a dashboard polling its charts or a team's browsers reloading pages ask those two questions
//! many times a second with the same answers. This process answers them from memory when it
//! can, and never with an answer it knows to be old:
//!
//! - Every write to `users` or `sessions` that this process makes and that can change or end
//!   a remembered answer (sign-in, sign-out, a session's data changing, disabling a user, a
//!   password change, expiry sweeps) calls [`AuthCache::changed`] after it commits, which
//!   forgets everything at once. Creating a user needs no call: only rows that were found are
//!   remembered. A future write to a user's instance role must call it too.
//! - A reader notes the [`generation`](AuthCache::generation) *before* it asks the database
//!   and the answer is kept only if no write happened meanwhile, so a read that raced a write
//!   is never remembered.
//! - Nothing is trusted for longer than [`MAX_AGE`]: a change made to the database by another
//!   process (Berth's CLI does not end sessions or disable users, but a second server or a
//!   hand-edited row might) shows within that time.
//! - The number of remembered sessions is bounded ([`MAX_ENTRIES`]); when full, everything is
//!   forgotten rather than anything evicted selectively.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a remembered session or user is trusted.
pub const MAX_AGE: Duration = Duration::from_secs(2);
/// At most this many sessions and as many users are remembered.
pub const MAX_ENTRIES: usize = 4096;

struct Entry<T> {
    generation: u64,
    at: Instant,
    value: T,
}

struct Entries<S, U> {
    sessions: HashMap<String, Entry<S>>,
    users: HashMap<i64, Entry<U>>,
}

/// The cache; `S` is a session's stored record, `U` a user row.
pub struct AuthCache<S, U> {
    generation: AtomicU64,
    entries: Mutex<Entries<S, U>>,
}

impl<S, U> Default for AuthCache<S, U> {
    fn default() -> Self {
        AuthCache {
            generation: AtomicU64::new(0),
            entries: Mutex::new(Entries {
                sessions: HashMap::new(),
                users: HashMap::new(),
            }),
        }
    }
}

impl<S, U> std::fmt::Debug for AuthCache<S, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AuthCache(generation {})",
            self.generation.load(Ordering::Relaxed)
        )
    }
}

fn fresh<T>(e: &Entry<T>, generation: u64) -> bool {
    e.generation == generation && e.at.elapsed() <= MAX_AGE
}

impl<S: Clone, U: Clone> AuthCache<S, U> {
    /// Note this before asking the database; hand it back to `put_*`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A write to users or sessions committed: forget everything.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut e = self.lock();
        e.sessions.clear();
        e.users.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<S, U>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn session(&self, id: &str) -> Option<S> {
        let generation = self.generation();
        let e = self.lock();
        e.sessions
            .get(id)
            .filter(|s| fresh(s, generation))
            .map(|s| s.value.clone())
    }

    /// Remembers session `id` as read when the generation was `generation`.
    pub fn put_session(&self, generation: u64, id: &str, value: S) {
        let mut e = self.lock();
        if generation != self.generation() {
            return;
        }
        if e.sessions.len() >= MAX_ENTRIES && !e.sessions.contains_key(id) {
            e.sessions.clear();
        }
        e.sessions.insert(
            id.to_string(),
            Entry {
                generation,
                at: Instant::now(),
                value,
            },
        );
    }

    pub fn user(&self, id: i64) -> Option<U> {
        let generation = self.generation();
        let e = self.lock();
        e.users
            .get(&id)
            .filter(|u| fresh(u, generation))
            .map(|u| u.value.clone())
    }

    /// Remembers user `id` as read when the generation was `generation`.
    pub fn put_user(&self, generation: u64, id: i64, value: U) {
        let mut e = self.lock();
        if generation != self.generation() {
            return;
        }
        if e.users.len() >= MAX_ENTRIES && !e.users.contains_key(&id) {
            e.users.clear();
        }
        e.users.insert(
            id,
            Entry {
                generation,
                at: Instant::now(),
                value,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Cache = AuthCache<String, String>;

    #[test]
    fn remembers_what_was_read_until_a_write() {
        let c = Cache::default();
        let g = c.generation();
        c.put_session(g, "s1", "alice".into());
        c.put_user(g, 1, "alice".into());
        assert_eq!(c.session("s1").as_deref(), Some("alice"));
        assert_eq!(c.user(1).as_deref(), Some("alice"));
        assert_eq!(c.session("s2"), None);
        c.changed();
        assert_eq!(c.session("s1"), None);
        assert_eq!(c.user(1), None);
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let c = Cache::default();
        let before = c.generation();
        // The database answered, then a write committed before the answer was stored.
        c.changed();
        c.put_session(before, "s1", "stale".into());
        c.put_user(before, 1, "stale".into());
        assert_eq!(c.session("s1"), None);
        assert_eq!(c.user(1), None);
    }

    #[test]
    fn the_number_of_entries_is_bounded() {
        let c = Cache::default();
        let g = c.generation();
        for i in 0..(MAX_ENTRIES + 10) {
            c.put_session(g, &format!("s{i}"), String::new());
            c.put_user(g, i as i64, String::new());
        }
        let e = c.lock();
        assert!(e.sessions.len() <= MAX_ENTRIES);
        assert!(e.users.len() <= MAX_ENTRIES);
    }

    #[test]
    fn nothing_is_trusted_past_max_age() {
        let c = Cache::default();
        let g = c.generation();
        c.put_session(g, "s1", "alice".into());
        c.lock().sessions.get_mut("s1").unwrap().at -= MAX_AGE + Duration::from_millis(1);
        assert_eq!(c.session("s1"), None);
    }
}
