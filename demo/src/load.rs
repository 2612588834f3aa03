//! `berth-load`: keep-alive connections sending GETs to one URL until told to stop, then a
//! report of what failed, what was retried and which versions answered.

pub mod args;
pub mod report;
pub mod worker;

use args::LoadConfig;
use report::{Report, Tally};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Runs the load described by `cfg` and reports on it.
pub fn run(cfg: &LoadConfig) -> Report {
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let tallies: Vec<Tally> = thread::scope(|s| {
        let workers: Vec<_> = (0..cfg.connections)
            .map(|_| s.spawn(|| worker::run(cfg, &stop)))
            .collect();
        wait_for_stop(cfg, started);
        stop.store(true, Ordering::SeqCst);
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let duration = started.elapsed();
    let total = tallies.into_iter().fold(Tally::default(), |mut total, t| {
        total.merge(t);
        total
    });
    Report::new(total, duration, cfg)
}

/// Returns when the duration is over or the `--until-file` exists, whichever comes first.
fn wait_for_stop(cfg: &LoadConfig, started: Instant) {
    const POLL: Duration = Duration::from_millis(20);
    loop {
        let left = cfg.duration.map(|d| d.saturating_sub(started.elapsed()));
        let file_there = cfg.until_file.as_ref().is_some_and(|p| p.exists());
        if left.is_some_and(|l| l.is_zero()) || file_there {
            return;
        }
        if left.is_none() && cfg.until_file.is_none() {
            return;
        }
        thread::sleep(left.map_or(POLL, |l| l.min(POLL)));
    }
}
