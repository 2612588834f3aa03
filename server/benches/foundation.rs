//! Foundation benchmarks: password hashing, an authenticated page under concurrent load, the
//! audit append rate, and verifying a long audit chain.
//!
//! Run with `cargo bench -p server --bench foundation` (release profile). Everything runs
//! in-process on loopback against temporary SQLite databases, and every phase is bounded.
//!
//! Tuning (environment):
//! - `BERTH_BENCH_EVENTS`: audit events for the verify benchmark (default 1000000)
//! - `BERTH_BENCH_SECS`: seconds of measured page load (default 10)
//! - `BERTH_BENCH_CONNECTIONS`: concurrent connections for the page load (default 32)
//! - `BERTH_BENCH_VERIFIES`: argon2id verifications to time (default 10)
//! - `BERTH_BENCH_APPEND_SECS`: seconds of single-event audit appends (default 3)

#[path = "foundation/append.rs"]
mod append;
#[path = "foundation/load.rs"]
mod load;
#[path = "foundation/page.rs"]
mod page;
#[path = "foundation/password.rs"]
mod password;
#[path = "foundation/report.rs"]
mod report;
#[path = "foundation/verify.rs"]
mod verify;

use append::bench_append;
use page::bench_page;
use password::bench_password;
use report::{env_num, Report};
use std::time::Duration;
use verify::bench_verify;

const USERNAME: &str = "bench-user";
const PASSWORD: &str = "correct-horse-battery-staple";

fn main() {
    let events = env_num("BERTH_BENCH_EVENTS", 1_000_000) as usize;
    let secs = env_num("BERTH_BENCH_SECS", 10);
    let conns = env_num("BERTH_BENCH_CONNECTIONS", 32).max(1) as usize;
    let verifies = env_num("BERTH_BENCH_VERIFIES", 10).max(1) as usize;
    let append_secs = env_num("BERTH_BENCH_APPEND_SECS", 3);
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    println!(
        "foundation benchmarks: {events} audit events, {secs} s of page load at {conns} connections, \
         {verifies} argon2id verifications"
    );
    let mut report = Report::default();

    println!("[1/4] argon2id (m=19 MiB, t=2, p=1)");
    bench_password(&mut report, verifies);

    println!("[2/4] GET /projects under load");
    bench_page(&mut report, conns, Duration::from_secs(secs));

    println!("[3/4] audit append");
    bench_append(&mut report, Duration::from_secs(append_secs));

    println!("[4/4] audit verify");
    bench_verify(&mut report, events);

    report.print();
}
