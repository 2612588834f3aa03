//! Login throttling. Three counters per attempt:
//! - the account alone only slows down (growing delays, never a lock), so nobody can lock a
//!   real user out from elsewhere;
//! - the account from one client address is refused (429) after a few failures, for a growing
//!   while capped at 15 minutes;
//! - one client address across all accounts is refused after many failures.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

const WINDOW_MS: i64 = 15 * 60_000;
const PAIR_FREE_FAILURES: u32 = 5;
const ADDR_FREE_FAILURES: u32 = 30;
const MAX_LOCK_MS: i64 = 15 * 60_000;

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    failures: u32,
    last_failure_ms: i64,
    locked_until_ms: i64,
}

#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

/// What to do with a login attempt before checking the password.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Proceed { delay: Duration },
    Refuse { retry_after_secs: u64 },
}

fn keys(account: &str, addr: &str) -> [String; 3] {
    [
        format!("a:{account}"),
        format!("p:{account}|{addr}"),
        format!("i:{addr}"),
    ]
}

impl Throttle {
    /// What to do with an attempt, without counting it.
    pub fn check(&self, account: &str, addr: &str, now_ms: i64) -> Verdict {
        verdict(
            &self.entries.lock().expect("throttle lock"),
            account,
            addr,
            now_ms,
        )
    }

    /// Decides on an attempt and, when it may proceed, counts it as a failure at once (under
    /// one lock): concurrent attempts see each other before any password is checked. A
    /// correct password takes the count back (`record_success`).
    pub fn attempt(&self, account: &str, addr: &str, now_ms: i64) -> Verdict {
        let mut map = self.entries.lock().expect("throttle lock");
        let verdict = verdict(&map, account, addr, now_ms);
        if matches!(verdict, Verdict::Proceed { .. }) {
            count_failure(&mut map, account, addr, now_ms);
        }
        verdict
    }

    pub fn record_failure(&self, account: &str, addr: &str, now_ms: i64) {
        count_failure(
            &mut self.entries.lock().expect("throttle lock"),
            account,
            addr,
            now_ms,
        );
    }

    /// A correct password clears the account's counters, and takes back the address's count
    /// of this attempt (`attempt` counted it) without lifting a lock already set.
    pub fn record_success(&self, account: &str, addr: &str) {
        let mut map = self.entries.lock().expect("throttle lock");
        let [acct, pair, ip] = keys(account, addr);
        map.remove(&acct);
        map.remove(&pair);
        if let Some(e) = map.get_mut(&ip) {
            e.failures = e.failures.saturating_sub(1);
        }
    }
}

fn verdict(map: &HashMap<String, Entry>, account: &str, addr: &str, now_ms: i64) -> Verdict {
    let [acct, pair, ip] = keys(account, addr);
    let get = |k: &String| {
        map.get(k)
            .copied()
            .filter(|e| now_ms - e.last_failure_ms < WINDOW_MS || e.locked_until_ms > now_ms)
            .unwrap_or_default()
    };
    let locked = [get(&pair), get(&ip)]
        .iter()
        .map(|e| e.locked_until_ms)
        .max()
        .unwrap_or(0);
    if locked > now_ms {
        let secs = ((locked - now_ms) as u64).div_ceil(1000);
        return Verdict::Refuse {
            retry_after_secs: secs.max(1),
        };
    }
    let n = get(&acct).failures.max(get(&pair).failures);
    let delay = if n < 3 {
        0
    } else {
        (250u64 << (n - 3).min(4)).min(3000)
    };
    Verdict::Proceed {
        delay: Duration::from_millis(delay),
    }
}

fn count_failure(map: &mut HashMap<String, Entry>, account: &str, addr: &str, now_ms: i64) {
    if map.len() > 100_000 {
        map.retain(|_, e| now_ms - e.last_failure_ms < WINDOW_MS || e.locked_until_ms > now_ms);
    }
    let [acct, pair, ip] = keys(account, addr);
    for (key, free) in [
        (acct, u32::MAX),
        (pair, PAIR_FREE_FAILURES),
        (ip, ADDR_FREE_FAILURES),
    ] {
        let e = map.entry(key).or_default();
        if now_ms - e.last_failure_ms >= WINDOW_MS && e.locked_until_ms <= now_ms {
            *e = Entry::default();
        }
        e.failures += 1;
        e.last_failure_ms = now_ms;
        if e.failures >= free {
            let over = (e.failures - free).min(10);
            let lock = (30_000i64 << over).min(MAX_LOCK_MS);
            e.locked_until_ms = now_ms + lock;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_the_pair_is_refused() {
        let t = Throttle::default();
        let now = 1_000_000;
        assert_eq!(
            t.check("bob", "1.2.3.4", now),
            Verdict::Proceed {
                delay: Duration::ZERO
            }
        );
        for _ in 0..3 {
            t.record_failure("bob", "1.2.3.4", now);
        }
        assert_eq!(
            t.check("bob", "1.2.3.4", now),
            Verdict::Proceed {
                delay: Duration::from_millis(250)
            }
        );
        for _ in 0..2 {
            t.record_failure("bob", "1.2.3.4", now);
        }
        assert!(matches!(
            t.check("bob", "1.2.3.4", now),
            Verdict::Refuse { .. }
        ));
    }

    #[test]
    fn an_attacker_elsewhere_cannot_lock_the_user_out() {
        let t = Throttle::default();
        let now = 1_000_000;
        for _ in 0..20 {
            t.record_failure("bob", "6.6.6.6", now);
        }
        assert!(matches!(
            t.check("bob", "6.6.6.6", now),
            Verdict::Refuse { .. }
        ));
        match t.check("bob", "10.0.0.1", now) {
            Verdict::Proceed { delay } => assert!(delay <= Duration::from_secs(3)),
            v => panic!("real user refused: {v:?}"),
        }
    }

    #[test]
    fn locks_expire() {
        let t = Throttle::default();
        for _ in 0..6 {
            t.record_failure("bob", "1.1.1.1", 0);
        }
        assert!(matches!(
            t.check("bob", "1.1.1.1", 1000),
            Verdict::Refuse { .. }
        ));
        assert!(matches!(
            t.check("bob", "1.1.1.1", MAX_LOCK_MS + WINDOW_MS + 1),
            Verdict::Proceed { .. }
        ));
    }

    #[test]
    fn success_clears_the_account() {
        let t = Throttle::default();
        for _ in 0..4 {
            t.record_failure("bob", "1.1.1.1", 0);
        }
        t.record_success("bob", "1.1.1.1");
        assert_eq!(
            t.check("bob", "1.1.1.1", 0),
            Verdict::Proceed {
                delay: Duration::ZERO
            }
        );
    }

    #[test]
    fn attempts_count_before_the_password_is_checked() {
        let t = Throttle::default();
        for _ in 0..PAIR_FREE_FAILURES {
            assert!(matches!(
                t.attempt("bob", "1.1.1.1", 0),
                Verdict::Proceed { .. }
            ));
        }
        assert!(matches!(
            t.attempt("bob", "1.1.1.1", 0),
            Verdict::Refuse { .. }
        ));
    }

    #[test]
    fn successful_attempts_do_not_use_up_the_address() {
        let t = Throttle::default();
        for i in 0..(2 * ADDR_FREE_FAILURES) {
            let user = format!("user-{i}");
            assert!(matches!(
                t.attempt(&user, "1.1.1.1", 0),
                Verdict::Proceed { .. }
            ));
            t.record_success(&user, "1.1.1.1");
        }
    }
}
