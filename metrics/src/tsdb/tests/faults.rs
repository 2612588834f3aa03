use std::fs;

use super::{everything, fill, open, sample_count, series, HOUR, T0};
use crate::model::Labels;

fn labels() -> Vec<Labels> {
    (0..4)
        .map(|i| series("m", &[("i", &i.to_string())]))
        .collect()
}

#[test]
fn a_full_disk_fails_the_append_as_disk_full_and_stores_nothing_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let before;
    {
        let db = open(dir.path());
        fill(&db, &labels(), T0, 100, |_, i| i as f64);
        before = everything(&db);
        let refs: Vec<_> = labels().iter().map(|l| db.series_ref(l).unwrap()).collect();
        let batch: Vec<_> = refs.iter().map(|r| (*r, T0 + HOUR, 7.0)).collect();
        // Room for a few bytes only: the record is torn.
        db.faults().set_budget(Some(13));
        let err = db.append(&batch).unwrap_err();
        assert!(err.is_disk_full(), "{err}");
        assert!(db.stats().disk_full);
        assert_eq!(everything(&db), before, "the head did not take the batch");
        // Space is back: the same batch goes in, after a whole record.
        db.faults().set_budget(None);
        assert_eq!(db.append(&batch).unwrap().accepted, 4);
        assert!(!db.stats().disk_full);
    }
    let db = open(dir.path());
    let all = everything(&db);
    assert_eq!(sample_count(&all), sample_count(&before) + 4);
    assert!(
        db.stats().last_error.is_none(),
        "no torn record left behind"
    );
}

#[test]
fn a_full_disk_during_maintenance_leaves_no_partial_block_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    fill(&db, &labels(), T0, 6 * 240, |s, i| (s * i) as f64);
    let before = everything(&db);
    // The space runs out at different points: some runs persist a window or two first.
    for budget in [0, 100, 1_000, 2_000, 3_000, 5_000] {
        db.faults().set_budget(Some(budget));
        match db.maintain(T0 + 6 * HOUR) {
            Err(e) => assert!(e.is_disk_full(), "{e}"),
            Ok(_) => assert!(budget > 0, "nothing can be written without space"),
        }
        assert_eq!(everything(&db), before, "budget {budget}");
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("blocks"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
    db.faults().set_budget(None);
    db.maintain(T0 + 6 * HOUR).unwrap();
    assert!(db.stats().raw_blocks > 0);
    assert_eq!(everything(&db), before);
    drop(db);
    assert_eq!(everything(&open(dir.path())), before);
}
