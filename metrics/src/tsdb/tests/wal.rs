use std::fs;
use std::path::Path;

use super::{everything, fill, open, sample_count, series, Rng, HOUR, T0};
use crate::model::Labels;

fn five_series() -> Vec<Labels> {
    (0..5)
        .map(|i| series("m", &[("i", &i.to_string())]))
        .collect()
}

#[test]
fn samples_are_replayed_after_a_drop_without_close() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        fill(&db, &five_series(), T0, 300, |s, i| (s + i) as f64);
    }
    let db = open(dir.path());
    let all = everything(&db);
    assert_eq!(all.len(), 5);
    assert_eq!(sample_count(&all), 1500);
    assert_eq!(all[2].samples[7], (T0 + 7 * 15_000, 9.0));
}

/// Writes 40 batches; returns the WAL's length after each.
fn write_batches(dir: &Path) -> Vec<u64> {
    let db = open(dir);
    let refs: Vec<_> = five_series()
        .iter()
        .map(|l| db.series_ref(l).unwrap())
        .collect();
    let seg = dir.join("wal").join("00000001");
    (0..40)
        .map(|b| {
            let batch: Vec<_> = refs
                .iter()
                .map(|r| (*r, T0 + b * 15_000, b as f64))
                .collect();
            db.append(&batch).unwrap();
            fs::metadata(&seg).unwrap().len()
        })
        .collect()
}

#[test]
fn a_torn_wal_tail_is_cut_off_and_every_whole_batch_kept() {
    let dir = tempfile::tempdir().unwrap();
    let ends = write_batches(dir.path());
    let seg = dir.path().join("wal").join("00000001");
    let whole = fs::read(&seg).unwrap();
    let mut rng = Rng::new(5);
    let mut cuts: Vec<usize> = (0..60)
        .map(|_| rng.below(whole.len() as u64 + 1) as usize)
        .collect();
    cuts.extend([0, 1, 7, 8, whole.len() - 1, whole.len()]);
    for cut in cuts {
        fs::write(&seg, &whole[..cut]).unwrap();
        let db = open(dir.path());
        let kept = ends.iter().filter(|&&e| e <= cut as u64).count();
        let all = everything(&db);
        for s in &all {
            let want: Vec<(i64, f64)> = (0..kept as i64)
                .map(|b| (T0 + b * 15_000, b as f64))
                .collect();
            assert_eq!(s.samples, want, "cut at {cut}");
        }
        assert_eq!(sample_count(&all), kept * 5, "cut at {cut}");
        // Appending after recovery works and survives another restart.
        if kept > 0 {
            let r = db.series_ref(&five_series()[0]).unwrap();
            assert_eq!(db.append(&[(r, T0 + HOUR, 1.0)]).unwrap().accepted, 1);
            drop(db);
            assert_eq!(sample_count(&everything(&open(dir.path()))), kept * 5 + 1);
        }
    }
}

#[test]
fn garbage_after_the_last_record_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    write_batches(dir.path());
    let seg = dir.path().join("wal").join("00000001");
    let mut data = fs::read(&seg).unwrap();
    let mut rng = Rng::new(8);
    data.extend((0..300).map(|_| rng.next() as u8));
    fs::write(&seg, &data).unwrap();
    let db = open(dir.path());
    assert_eq!(sample_count(&everything(&db)), 200);
    assert!(db.stats().last_error.unwrap().contains("torn"));
}

#[test]
fn persisted_wal_segments_are_replaced_by_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let labels = five_series();
    let before;
    {
        let db = open(dir.path());
        fill(&db, &labels, T0, 4 * 240, |s, i| (s * i) as f64);
        db.maintain(T0 + 4 * HOUR).unwrap();
        // Later data, then another run: the first segment holds only persisted samples.
        fill(&db, &labels, T0 + 4 * HOUR, 4 * 240, |s, i| (s * i) as f64);
        let rep = db.maintain(T0 + 8 * HOUR).unwrap();
        assert!(rep.wal_segments_removed >= 1, "{rep:?}");
        before = everything(&db);
    }
    let names: Vec<String> = fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("checkpoint.")),
        "{names:?}"
    );
    assert!(!names.contains(&"00000001".to_string()), "{names:?}");
    let db = open(dir.path());
    assert_eq!(everything(&db), before);
    // Series from the checkpoint keep their ids: appends go on.
    let r = db.series_ref(&labels[3]).unwrap();
    assert_eq!(db.append(&[(r, T0 + 9 * HOUR, 1.0)]).unwrap().accepted, 1);
}

#[test]
fn a_series_created_without_samples_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let l = series("lonely", &[]);
    let first = {
        let db = open(dir.path());
        let r = db.series_ref(&l).unwrap();
        db.close().unwrap();
        r
    };
    let db = open(dir.path());
    assert_eq!(db.series_ref(&l).unwrap(), first);
    assert_eq!(db.stats().head_series, 1);
}

/// Integers, fractions, the largest exact integers and past them, signed zeros, NaN
/// payloads, the staleness marker and infinities all come back bit for bit from the log.
#[test]
fn every_kind_of_value_replays_bit_exactly() {
    let values = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        123_456_789.0,
        0.1,
        2.5e-300,
        9_007_199_254_740_991.0,
        -9_007_199_254_740_991.0,
        9_007_199_254_740_992.0,
        1e300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::from_bits(0x7ff8_dead_beef_0001),
        crate::model::stale_nan(),
        f64::MIN_POSITIVE,
        i64::MAX as f64,
        i64::MIN as f64,
    ];
    let dir = tempfile::tempdir().unwrap();
    let labels: Vec<Labels> = (0..values.len())
        .map(|i| series("v", &[("i", &format!("{i:02}"))]))
        .collect();
    {
        let db = open(dir.path());
        fill(&db, &labels, T0, 3, |s, i| {
            if i == 1 {
                values[s]
            } else {
                i as f64
            }
        });
    }
    let db = open(dir.path());
    let all = everything(&db);
    assert_eq!(all.len(), values.len());
    for (s, v) in all.iter().zip(values) {
        assert_eq!(s.samples[1].1.to_bits(), v.to_bits(), "{v}");
    }
}

/// A log written before packed sample records (values as 8 bytes) still replays.
#[test]
fn sample_records_of_earlier_versions_replay() {
    use crate::tsdb::wal::{encode_samples_plain, encode_series};
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("wal")).unwrap();
    let mut log = Vec::new();
    encode_series(&mut log, 0, &series("old", &[]));
    encode_samples_plain(&mut log, &[(0, T0, 1.5), (0, T0 + 15_000, -0.0)]);
    fs::write(dir.path().join("wal").join("00000000"), &log).unwrap();
    let db = open(dir.path());
    let all = everything(&db);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].samples[0], (T0, 1.5));
    assert_eq!(all[0].samples[1].1.to_bits(), (-0.0f64).to_bits());
}
