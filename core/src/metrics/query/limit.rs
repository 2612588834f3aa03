//! How many queries run at once and for how long: a query waits for one of a bounded number
//! of slots (Prometheus's `--query.max-concurrency`), then runs on a blocking thread that
//! holds its slot until the thread is done, whatever became of the request, and gets what is
//! left of the timeout as its engine's own deadline, so evaluation stops itself.
use super::QueryFailure;
use ::metrics::promql::{ErrorKind, EvalError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How long past its deadline a query's thread is waited for before the request answers
/// `timeout` on its own (the thread keeps its slot until it ends).
const GRACE: Duration = Duration::from_secs(2);

/// Queries running at once: twice the cores, as for Prometheus's default on small machines.
pub fn default_slots() -> usize {
    2 * std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Each caller's own slots: at most half of all (at least one), so that a caller who sends
/// many heavy queries waits for its own and the others still get theirs.
#[derive(Default)]
pub struct Callers(std::sync::Mutex<std::collections::HashMap<String, Arc<Semaphore>>>);

impl Callers {
    /// The slots of `caller` when there are `total` in all.
    pub fn slots(&self, caller: &str, total: usize) -> Arc<Semaphore> {
        let per = (total / 2).max(1);
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            // Callers with nothing running are forgotten (their entry is made again).
            map.retain(|_, s| s.available_permits() < per || Arc::strong_count(s) > 1);
        }
        map.entry(caller.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(per)))
            .clone()
    }
}

/// Runs `f` (given the time it has left) in a slot of `caller`'s (when given) and one of
/// `slots`, within `timeout` from now, waiting included.
pub async fn run<T: Send + 'static>(
    slots: Arc<Semaphore>,
    caller: Option<Arc<Semaphore>>,
    timeout: Duration,
    f: impl FnOnce(Duration) -> Result<T, EvalError> + Send + 'static,
) -> Result<T, QueryFailure> {
    let start = Instant::now();
    let own = match caller {
        None => None,
        Some(c) => match tokio::time::timeout(timeout, c.acquire_owned()).await {
            Ok(Ok(p)) => Some(p),
            _ => {
                return Err(QueryFailure::Unavailable(format!(
                    "too many of your queries are running: none ended within the query \
                     timeout ({} s); try again later",
                    timeout.as_secs_f64()
                )))
            }
        },
    };
    let wait = timeout.saturating_sub(start.elapsed());
    let permit = match tokio::time::timeout(wait, slots.acquire_owned()).await {
        Ok(Ok(p)) => p,
        _ => {
            return Err(QueryFailure::Unavailable(format!(
                "too many queries are running: none ended within the query timeout ({} s); \
                 try again later",
                timeout.as_secs_f64()
            )))
        }
    };
    let left = timeout.saturating_sub(start.elapsed());
    let job = tokio::task::spawn_blocking(move || {
        let _slots = (permit, own);
        f(left)
    });
    match tokio::time::timeout(left + GRACE, job).await {
        Ok(Ok(r)) => r.map_err(QueryFailure::Eval),
        Ok(Err(e)) => Err(QueryFailure::Eval(EvalError {
            kind: ErrorKind::Internal,
            message: format!("the query failed: {e}"),
        })),
        Err(_) => Err(QueryFailure::Eval(EvalError {
            kind: ErrorKind::Timeout,
            message: "query timed out in expression evaluation".into(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure_text(r: Result<(), QueryFailure>) -> String {
        match r {
            Err(QueryFailure::Unavailable(m)) => format!("unavailable: {m}"),
            Err(QueryFailure::Eval(e)) => format!("{}: {e}", e.error_type()),
            Err(QueryFailure::Service(e)) => format!("service: {e}"),
            Ok(()) => "ok".into(),
        }
    }

    /// A query whose thread outlives its request keeps its slot: the next one waits for
    /// it and, past the timeout, is told the server is busy.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slot_is_held_until_the_thread_ends_and_waiting_is_bounded() {
        let slots = Arc::new(Semaphore::new(1));
        let t = Duration::from_millis(100);
        let stuck = tokio::spawn(run(slots.clone(), None, t, |_| {
            // Ignores its deadline, as a long storage read does.
            std::thread::sleep(Duration::from_millis(3_000));
            Ok(())
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let began = Instant::now();
        let second = failure_text(run(slots.clone(), None, t, |_| Ok(())).await);
        assert!(
            second.starts_with("unavailable: too many queries"),
            "{second}"
        );
        assert!(
            began.elapsed() < Duration::from_millis(1_000),
            "{:?}",
            began.elapsed()
        );
        // The first request gave up after its timeout and grace; its thread still runs.
        let first = failure_text(stuck.await.unwrap());
        assert!(first.starts_with("timeout"), "{first}");
        assert_eq!(
            slots.available_permits(),
            0,
            "the thread still holds its slot"
        );
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(slots.available_permits(), 1);
        assert_eq!(failure_text(run(slots, None, t, |_| Ok(())).await), "ok");
    }

    /// The engine is given what is left of the timeout after the wait.
    #[tokio::test]
    async fn the_query_gets_what_is_left_of_the_timeout() {
        let slots = Arc::new(Semaphore::new(1));
        let left = run(slots, None, Duration::from_secs(30), Ok).await.unwrap();
        assert!(
            left <= Duration::from_secs(30) && left > Duration::from_secs(29),
            "{left:?}"
        );
    }

    /// A caller's own share: its second query waits for its first, another caller's does not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_caller_cannot_hold_every_slot() {
        let slots = Arc::new(Semaphore::new(2));
        let callers = Callers::default();
        let t = Duration::from_millis(200);
        let mine = callers.slots("user:1", 2);
        let stuck = tokio::spawn(run(slots.clone(), Some(mine.clone()), t, |_| {
            std::thread::sleep(Duration::from_millis(1_500));
            Ok(())
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let again = failure_text(run(slots.clone(), Some(mine), t, |_| Ok(())).await);
        assert!(
            again.starts_with("unavailable: too many of your queries"),
            "{again}"
        );
        let theirs = callers.slots("user:2", 2);
        assert_eq!(
            failure_text(run(slots.clone(), Some(theirs), t, |_| Ok(())).await),
            "ok"
        );
        let _ = stuck.await;
    }
}
