use std::time::Duration;

use super::{fill, open, series, DAY, HOUR, MIN, T0};
use crate::model::{Labels, Matcher, Queryable, Series};
use crate::tsdb::{Options, RetentionPolicy, Tsdb};

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

fn one(db: &Tsdb, m: Matcher, step: i64) -> Series {
    let mut got = db.select_hinted(&[m], T0, T0 + 3 * DAY, step).unwrap();
    assert_eq!(got.len(), 1);
    got.remove(0)
}

fn spacing(s: &[(i64, f64)]) -> Vec<i64> {
    let mut d: Vec<i64> = s.windows(2).map(|w| w[1].0 - w[0].0).collect();
    d.sort_unstable();
    d.dedup();
    d
}

#[test]
fn retention_removes_old_raw_samples_but_keeps_their_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        retention_raw: days(1),
        retention_rollup: days(10),
        ..Options::default()
    };
    let db = Tsdb::open(dir.path(), opts).unwrap();
    let l = series("requests_total", &[]);
    fill(&db, &[l], T0, 2 * 5760, |_, i| (i * 3) as f64);
    db.maintain(T0 + 2 * DAY).unwrap();
    let rep = db.maintain(T0 + 2 * DAY + 12 * HOUR).unwrap();
    assert!(rep.blocks_deleted > 0, "{rep:?}");
    let s = one(&db, Matcher::equal("__name__", "requests_total"), 0);
    // Raw from 36 h on; before that one rollup point per 5 minutes.
    let first_raw = s
        .samples
        .iter()
        .position(|w| w.0 >= T0 + 36 * HOUR)
        .unwrap();
    assert_eq!(first_raw, 36 * 12);
    assert_eq!(spacing(&s.samples[..first_raw]), vec![5 * MIN]);
    assert_eq!(spacing(&s.samples[first_raw..]), vec![15_000]);
    // Each rollup point is the bucket's last raw sample, so increases stay exact.
    assert_eq!(s.samples[0], (T0 + 5 * MIN - 15_000, 57.0));
    assert_eq!(s.samples.len(), 36 * 12 + 12 * 240);
}

#[test]
fn a_large_step_reads_rollups_and_keeps_counter_increases() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let l = series("bytes_total", &[]);
    // A counter with a reset in the middle.
    fill(&db, &[l], T0, 6 * 240, |_, i| {
        if i < 700 {
            i as f64 * 10.0
        } else {
            (i - 700) as f64
        }
    });
    db.maintain(T0 + 6 * HOUR).unwrap();
    let raw = one(&db, Matcher::equal("__name__", "bytes_total"), 60_000);
    let roll = one(&db, Matcher::equal("__name__", "bytes_total"), 30 * MIN);
    assert_eq!(raw.samples.len(), 6 * 240);
    assert_eq!(
        roll.samples.len(),
        6 * 12,
        "from blocks and from the head alike"
    );
    assert_eq!(spacing(&roll.samples), vec![5 * MIN]);
    let increase = |s: &[(i64, f64)]| -> f64 {
        s.windows(2)
            .map(|w| {
                if w[1].1 >= w[0].1 {
                    w[1].1 - w[0].1
                } else {
                    w[1].1
                }
            })
            .sum()
    };
    assert_eq!(increase(&roll.samples), increase(&raw.samples[19..]));
}

#[test]
fn promql_hints_pick_rollups_only_for_windows_spanning_several_rollup_points() {
    use crate::promql::{HintedQueryable, SelectHints};
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    fill(&db, &[series("x_total", &[])], T0, 6 * 240, |_, i| i as f64);
    db.maintain(T0 + 6 * HOUR).unwrap();
    let m = [Matcher::equal("__name__", "x_total")];
    let hints = |step_ms, range_ms| SelectHints {
        start_ms: T0,
        end_ms: T0 + 6 * HOUR,
        step_ms,
        range_ms,
        func: Some("rate"),
    };
    let count = |h: SelectHints| -> usize {
        HintedQueryable::select_hinted(&db, &m, T0, T0 + 6 * HOUR, &h).unwrap()[0]
            .samples
            .len()
    };
    assert_eq!(
        count(hints(30 * MIN, 5 * MIN)),
        6 * 240,
        "rate(x[5m]) needs raw samples"
    );
    assert_eq!(count(hints(30 * MIN, 30 * MIN)), 6 * 12);
    assert_eq!(count(hints(30 * MIN, 0)), 6 * 12, "an instant selector");
    assert_eq!(count(hints(MIN, 30 * MIN)), 6 * 240, "a small step");
}

#[test]
fn each_environment_keeps_raw_data_as_long_as_its_policy_says() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let dev = series("m", &[("environment", "dev")]);
    let prod = series("m", &[("environment", "prod")]);
    db.set_retention(
        vec![RetentionPolicy {
            matchers: vec![("environment".into(), "dev".into())],
            raw: days(1),
            rollup: Duration::from_secs(36 * 3600),
        }],
        RetentionPolicy {
            matchers: vec![],
            raw: days(10),
            rollup: days(90),
        },
    );
    fill(&db, &[dev, prod], T0, 2 * 5760, |s, i| (s + i) as f64);
    db.maintain(T0 + 2 * DAY).unwrap();
    let rep = db.maintain(T0 + 2 * DAY + 12 * HOUR).unwrap();
    assert!(rep.blocks_rewritten > 0, "{rep:?}");
    let p = one(&db, Matcher::equal("environment", "prod"), 0);
    assert_eq!(p.samples.len(), 2 * 5760, "prod keeps everything raw");
    let d = one(&db, Matcher::equal("environment", "dev"), 0);
    // Dev: raw samples from 36 h on (1 day before "now"); rollups (kept 36 h) of the
    // second day only.
    assert!(d.samples[0].0 >= T0 + DAY, "{:?}", d.samples[0]);
    let first_raw = d
        .samples
        .iter()
        .position(|w| w.0 >= T0 + 36 * HOUR)
        .unwrap();
    assert_eq!(first_raw, 12 * 12);
    assert_eq!(spacing(&d.samples[..first_raw]), vec![5 * MIN]);
    assert_eq!(d.samples.len() - first_raw, 12 * 240);
    let labels: Vec<Labels> = db
        .select(&[Matcher::equal("__name__", "m")], 0, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|s| s.labels)
        .collect();
    assert_eq!(labels.len(), 2);
}
