//! argon2id: hashing and verifying a password.
use super::report::{ms, Report};
use super::PASSWORD;
use berth_core::password;
use std::time::{Duration, Instant};

pub fn bench_password(report: &mut Report, n: usize) {
    let t = Instant::now();
    let phc = password::hash_blocking(PASSWORD);
    let hash_time = t.elapsed();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    // One untimed verification to warm caches and the allocator.
    assert!(password::verify_blocking(PASSWORD, &phc));
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let ok = password::verify_blocking(PASSWORD, &phc);
        times.push(t.elapsed());
        assert!(ok);
    }
    let total: Duration = times.iter().sum();
    let mean = total / n as u32;
    let min = *times.iter().min().expect("n >= 1");
    let max = *times.iter().max().expect("n >= 1");
    report.add("argon2id hash (1 call)", ms(hash_time), "report", None);
    report.add(
        &format!("argon2id verify, mean of {n}"),
        ms(mean),
        "report",
        None,
    );
    report.add(
        "argon2id verify, min / max",
        format!("{} / {}", ms(min), ms(max)),
        "report",
        None,
    );
    report.add(
        "argon2id verifies/s per core",
        format!("{:.1}/s", 1.0 / mean.as_secs_f64()),
        "report",
        None,
    );
}
