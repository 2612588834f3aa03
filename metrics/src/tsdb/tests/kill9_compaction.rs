//! A real `kill -9` while the store persists blocks and compacts them: this test binary runs
//! itself as a child that appends and maintains, and says when a maintenance (block write,
//! compaction, WAL truncation) starts; the parent SIGKILLs it at once or a few milliseconds
//! later, reopens the directory, checks every acknowledged sample, and starts the next child
//! on the same directory. Several rounds, each killed at a different maintenance.
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{everything, series, Rng, T0};
use crate::model::Labels;
use crate::tsdb::{Options, Tsdb};

const DIR_ENV: &str = "BERTH_TSDB_KILL9_COMPACTION_DIR";
const SERIES: usize = 300;
/// 5 minutes: a 2 h block every 24 batches.
const STEP: i64 = 300_000;

fn labels() -> Vec<Labels> {
    (0..SERIES)
        .map(|i| series("m", &[("i", &i.to_string())]))
        .collect()
}

fn value(b: i64, s: usize) -> f64 {
    (b * 7 + s as i64) as f64
}

/// The child: does nothing unless started by the parent. Continues where the directory ends.
#[test]
fn child_maintainer() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let opts = Options {
        fsync: true,
        ..Options::default()
    };
    let db = Tsdb::open(std::path::Path::new(&dir), opts).unwrap();
    let start = everything(&db)
        .first()
        .map(|s| s.samples.len() as i64)
        .unwrap_or(0);
    let refs: Vec<_> = labels().iter().map(|l| db.series_ref(l).unwrap()).collect();
    let mut out = std::io::stdout().lock();
    for b in start.. {
        let t = T0 + b * STEP;
        let batch: Vec<_> = refs
            .iter()
            .enumerate()
            .map(|(s, r)| (*r, t, value(b, s)))
            .collect();
        assert_eq!(db.append(&batch).unwrap().accepted, SERIES);
        writeln!(out, "acked {b}").unwrap();
        if b % 6 == 5 {
            writeln!(out, "maintain").unwrap();
            out.flush().unwrap();
            db.maintain(t).unwrap();
        }
        out.flush().unwrap();
    }
}

/// Every sample of every series, in order, as the child wrote them; returns the count.
fn check(dir: &std::path::Path, acked: i64, round: usize) -> i64 {
    let db = Tsdb::open(dir, Options::default()).unwrap();
    let all = everything(&db);
    assert_eq!(all.len(), SERIES, "round {round}");
    let n = all[0].samples.len() as i64;
    assert!(
        n > acked,
        "round {round}: {n} samples, {acked} acknowledged"
    );
    for s in &all {
        let i: usize = s.labels.get("i").unwrap().parse().unwrap();
        assert_eq!(
            s.samples.len() as i64,
            n,
            "round {round}: batches are whole"
        );
        for (b, &(t, v)) in s.samples.iter().enumerate() {
            assert_eq!(
                (t, v),
                (T0 + b as i64 * STEP, value(b as i64, i)),
                "round {round}, series {i}, sample {b}"
            );
        }
    }
    let leftovers: Vec<String> = std::fs::read_dir(dir.join("blocks"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("tmp"))
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    n
}

#[test]
fn kill_9_during_block_writes_and_compactions_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(9);
    let mut total = 0;
    for round in 0..6 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tsdb::tests::kill9_compaction::child_maintainer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut acked = total - 1;
        let mut maintains = 0;
        // Past a few block windows, so persistence and compaction have run; then the kill
        // lands at the start of a maintenance or a few milliseconds into it.
        let kill_at = 4 + round * 2;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(b) = line.strip_prefix("acked ") {
                acked = b.parse().unwrap();
            } else if line == "maintain" {
                maintains += 1;
                if maintains == kill_at {
                    std::thread::sleep(Duration::from_micros(rng.below(8_000)));
                    break;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(maintains, kill_at, "round {round}: the child stopped early");
        total = check(dir.path(), acked, round);
    }
    // 6 rounds of 4..14 maintenances of 6 batches (27 h): several compactions ran.
    assert!(total >= 54 * 6, "{total} batches");
    // ... and compactions did run: fewer raw blocks than the 2 h windows written.
    let db = Tsdb::open(dir.path(), Options::default()).unwrap();
    let windows = (total * STEP / (2 * 3_600_000)) as usize - 1;
    let blocks = db.stats().raw_blocks;
    assert!(
        blocks > 0 && blocks * 2 <= windows,
        "{blocks} raw blocks for {windows} windows"
    );
}
