use super::{everything, open, same_bits, series, T0};
use crate::model::{stale_nan, Labels, Matcher, Queryable};
use crate::tsdb::{AppendOutcome, Options, Tsdb};

#[test]
fn out_of_order_sample_is_rejected_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let r = db.series_ref(&series("up", &[("job", "a")])).unwrap();
    db.append(&[(r, T0 + 30_000, 1.0)]).unwrap();
    let out = db
        .append(&[(r, T0 + 15_000, 2.0), (r, T0 + 45_000, 3.0)])
        .unwrap();
    assert_eq!(
        out,
        AppendOutcome {
            accepted: 1,
            out_of_order: 1,
            ..Default::default()
        }
    );
    assert_eq!(db.stats().out_of_order_total, 1);
    let got = everything(&db);
    assert_eq!(got[0].samples, vec![(T0 + 30_000, 1.0), (T0 + 45_000, 3.0)]);
}

#[test]
fn duplicate_time_with_another_value_is_rejected_but_an_identical_one_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let r = db.series_ref(&series("up", &[])).unwrap();
    db.append(&[(r, T0, 1.0)]).unwrap();
    let out = db.append(&[(r, T0, 2.0), (r, T0, 1.0)]).unwrap();
    assert_eq!((out.accepted, out.duplicate, out.identical), (0, 1, 1));
    assert_eq!(db.stats().duplicate_total, 1);
    assert_eq!(everything(&db)[0].samples, vec![(T0, 1.0)]);
}

#[test]
fn one_batch_may_hold_several_samples_of_a_series() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let r = db.series_ref(&series("up", &[])).unwrap();
    let out = db
        .append(&[
            (r, T0, 1.0),
            (r, T0 + 1, 2.0),
            (r, T0 + 1, 3.0),
            (r, T0 - 5, 0.0),
        ])
        .unwrap();
    assert_eq!((out.accepted, out.duplicate, out.out_of_order), (2, 1, 1));
}

#[test]
fn a_backward_clock_step_rejects_samples_until_time_passes_the_last_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let r = db.series_ref(&series("up", &[])).unwrap();
    db.append(&[(r, T0 + 60_000, 1.0)]).unwrap();
    // The clock stepped back a minute: the next scrapes are older than the stored one.
    for i in 0..4 {
        let out = db.append(&[(r, T0 + i * 15_000, 1.0)]).unwrap();
        assert_eq!(out.out_of_order, 1);
    }
    assert_eq!(db.append(&[(r, T0 + 75_000, 1.0)]).unwrap().accepted, 1);
    assert_eq!(everything(&db)[0].samples.len(), 2);
}

#[test]
fn staleness_markers_survive_head_wal_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let l = series("up", &[("job", "x")]);
    let samples: Vec<(i64, f64)> = (0..1000)
        .map(|i| {
            (
                T0 + i * 15_000,
                if i % 7 == 3 { stale_nan() } else { i as f64 },
            )
        })
        .collect();
    {
        let db = open(dir.path());
        let batch: Vec<_> = samples.iter().map(|&(t, v)| (l.clone(), t, v)).collect();
        db.append_labeled(&batch).unwrap();
        assert!(same_bits(&everything(&db)[0].samples, &samples));
    }
    let db = open(dir.path());
    assert!(
        same_bits(&everything(&db)[0].samples, &samples),
        "after WAL replay"
    );
    db.maintain(T0 + 5 * 3_600_000).unwrap();
    assert!(db.stats().raw_blocks > 0);
    assert!(
        same_bits(&everything(&db)[0].samples, &samples),
        "from blocks"
    );
}

#[test]
fn samples_older_than_the_persisted_range_are_out_of_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let (a, b) = (series("a", &[]), series("b", &[]));
    let ra = db.series_ref(&a).unwrap();
    let rb = db.series_ref(&b).unwrap();
    db.append(&[(ra, T0, 1.0), (rb, T0, 1.0)]).unwrap();
    db.append(&[(ra, T0 + 4 * 3_600_000, 1.0)]).unwrap();
    db.maintain(T0 + 4 * 3_600_000).unwrap();
    // `b` never saw the later sample, but its old window is in a block now.
    let out = db.append(&[(rb, T0 + 60_000, 2.0)]).unwrap();
    assert_eq!(out.out_of_bounds, 1);
}

#[test]
fn an_idle_series_is_dropped_and_its_stale_ref_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let (a, b) = (series("a", &[]), series("b", &[]));
    let ra = db.series_ref(&a).unwrap();
    let rb = db.series_ref(&b).unwrap();
    db.append(&[(ra, T0, 1.0), (rb, T0, 1.0)]).unwrap();
    let mut t = T0;
    for _ in 0..3 {
        t += 3 * 3_600_000;
        db.append(&[(ra, t, 1.0)]).unwrap();
        db.maintain(t).unwrap();
    }
    assert_eq!(db.stats().head_series, 1);
    let out = db.append(&[(rb, t + 1, 1.0)]).unwrap();
    assert_eq!(out.unknown_series, 1);
    // Resolving again gives a new, working id; the old data is still there.
    let rb2 = db.series_ref(&b).unwrap();
    assert_ne!(rb, rb2);
    assert_eq!(db.append(&[(rb2, t + 1, 1.0)]).unwrap().accepted, 1);
    let got = db
        .select(&[Matcher::equal("__name__", "b")], 0, i64::MAX)
        .unwrap();
    assert_eq!(got[0].samples, vec![(T0, 1.0), (t + 1, 1.0)]);
}

#[test]
fn invalid_labels_and_the_series_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(
        dir.path(),
        Options {
            max_series: 2,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(db.series_ref(&Labels::default()).is_err());
    db.series_ref(&series("a", &[])).unwrap();
    db.series_ref(&series("b", &[])).unwrap();
    db.series_ref(&series("a", &[])).unwrap();
    assert!(matches!(
        db.series_ref(&series("c", &[])),
        Err(crate::tsdb::TsdbError::TooManySeries(2))
    ));
}

#[test]
fn a_second_instance_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    assert!(matches!(
        Tsdb::open(dir.path(), Options::default()),
        Err(crate::tsdb::TsdbError::Locked(_))
    ));
    drop(db);
    open(dir.path());
}

#[test]
fn appends_queries_and_maintenance_run_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::sync::Arc::new(open(dir.path()));
    let labels: Vec<Labels> = (0..50)
        .map(|i| series("m", &[("i", &i.to_string())]))
        .collect();
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            super::fill(&db, &labels, T0, 2000, |s, i| (s * i) as f64);
        });
        while !writer.is_finished() {
            let _ = everything(&db);
            db.maintain(T0).unwrap();
        }
    });
    db.maintain(T0 + 2000 * 15_000).unwrap();
    let all = everything(&db);
    assert_eq!(all.len(), 50);
    assert!(all.iter().all(|s| s.samples.len() == 2000));
}

/// Threads appending to the same series at once (each batch crossing several stripes, with
/// times that race each other) while maintenance persists blocks: whatever the live head
/// accepted or refused, replaying the log after a drop decides the same, and nothing the
/// head accepted is lost to maintenance.
#[test]
fn concurrent_batches_on_shared_series_replay_as_they_were_applied() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let accepted = AtomicU64::new(0);
    let live = {
        let db = open(dir.path());
        // 1,200 series: ids across 19 stripes (64 ids a stripe).
        let labels: Vec<Labels> = (0..1_200)
            .map(|i| series("m", &[("i", &i.to_string())]))
            .collect();
        let refs: Vec<_> = labels.iter().map(|l| db.series_ref(l).unwrap()).collect();
        // Every series has a sample before maintenance runs (it drops series left empty).
        let first: Vec<_> = refs.iter().map(|r| (*r, T0 - 15_000, 0.0)).collect();
        accepted.fetch_add(
            db.append(&first).unwrap().accepted as u64,
            Ordering::Relaxed,
        );
        std::thread::scope(|s| {
            for w in 0..4u64 {
                let (db, refs, accepted) = (&db, &refs, &accepted);
                s.spawn(move || {
                    let mut rng = super::Rng::new(w + 1);
                    for k in 0..300i64 {
                        // Overlapping slices of the series, times close enough to race.
                        let from = rng.below(900) as usize;
                        let t = T0 + k * 15_000 + rng.below(20_000) as i64;
                        let batch: Vec<_> = refs[from..from + 300]
                            .iter()
                            .map(|r| (*r, t, (w * 1_000 + k as u64) as f64))
                            .collect();
                        let out = db.append(&batch).unwrap();
                        accepted.fetch_add(out.accepted as u64, Ordering::Relaxed);
                    }
                });
            }
            s.spawn(|| {
                for h in 0..3 {
                    db.maintain(T0 + h * super::HOUR).unwrap();
                }
            });
        });
        everything(&db)
    };
    assert_eq!(
        super::sample_count(&live) as u64,
        accepted.load(Ordering::Relaxed),
        "every accepted sample is stored once"
    );
    let replayed = everything(&open(dir.path()));
    assert_eq!(live.len(), replayed.len());
    for (a, b) in live.iter().zip(&replayed) {
        assert_eq!(a.labels, b.labels);
        assert!(super::same_bits(&a.samples, &b.samples), "{}", a.labels);
    }
}
