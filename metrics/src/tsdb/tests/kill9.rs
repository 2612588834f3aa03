//! A real `kill -9`: this test binary runs itself as a child that appends (with fsync and
//! maintenance) and prints each acknowledged batch; the parent SIGKILLs it mid-stream,
//! reopens the directory and checks that every acknowledged batch is there, whole.
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use super::{everything, series, T0};
use crate::model::Labels;
use crate::tsdb::{Options, Tsdb};

const DIR_ENV: &str = "BERTH_TSDB_KILL9_DIR";
const SERIES: usize = 10;
const STEP: i64 = 60_000;

fn labels() -> Vec<Labels> {
    (0..SERIES)
        .map(|i| series("m", &[("i", &i.to_string())]))
        .collect()
}

/// The child: does nothing unless started by the parent.
#[test]
fn child_appender() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let opts = Options {
        fsync: true,
        ..Options::default()
    };
    let db = Tsdb::open(std::path::Path::new(&dir), opts).unwrap();
    let refs: Vec<_> = labels().iter().map(|l| db.series_ref(l).unwrap()).collect();
    let mut out = std::io::stdout().lock();
    for b in 0i64.. {
        let t = T0 + b * STEP;
        let batch: Vec<_> = refs.iter().map(|r| (*r, t, b as f64)).collect();
        assert_eq!(db.append(&batch).unwrap().accepted, SERIES);
        writeln!(out, "acked {b}").unwrap();
        out.flush().unwrap();
        if b % 25 == 0 {
            db.maintain(t).unwrap();
        }
    }
}

#[test]
fn every_acknowledged_batch_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tsdb::tests::kill9::child_appender",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = -1i64;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(b) = line.strip_prefix("acked ") {
            acked = b.parse().unwrap();
            // Past several block ranges (persist, compaction, WAL truncation).
            if acked >= 400 {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(acked >= 400, "the child stopped early at {acked}");
    let db = Tsdb::open(dir.path(), Options::default()).unwrap();
    let all = everything(&db);
    assert_eq!(all.len(), SERIES);
    for s in &all {
        // Acknowledged batches all there, in order, nothing torn or doubled; at most a few
        // batches written after the last one the parent read.
        let n = s.samples.len() as i64;
        assert!(n > acked, "{}: {n} samples, {acked} acknowledged", s.labels);
        for (b, &(t, v)) in s.samples.iter().enumerate() {
            assert_eq!((t, v), (T0 + b as i64 * STEP, b as f64));
        }
    }
    let lens: Vec<usize> = all.iter().map(|s| s.samples.len()).collect();
    assert!(
        lens.windows(2).all(|w| w[0] == w[1]),
        "batches are whole: {lens:?}"
    );
}
