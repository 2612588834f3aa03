//! Crashes during persistence and compaction, simulated by leaving on disk what a crash at
//! each step would leave.
use std::fs;
use std::path::{Path, PathBuf};

use super::{everything, fill, open, sample_count, series, HOUR, T0};
use crate::model::Labels;

fn labels() -> Vec<Labels> {
    (0..3)
        .map(|i| series("m", &[("i", &i.to_string())]))
        .collect()
}

/// Entries of a block directory (or a copy of one).
fn block_dirs(blocks: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(blocks)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// 8 h of data; two 2 h blocks persisted before the returned copy of the block directory
/// was taken, then a run that persisted a third and compacted the three into one.
fn compacted_with_copy(dir: &Path) -> (PathBuf, usize) {
    let db = open(dir);
    fill(&db, &labels(), T0, 5 * 240, |s, i| (s * 1000 + i) as f64);
    db.maintain(T0 + 5 * HOUR).unwrap();
    fill(&db, &labels(), T0 + 5 * HOUR, 3 * 240, |s, i| {
        (s * 1000 + 1200 + i) as f64
    });
    let saved = dir.with_extension("saved");
    copy_dir(&dir.join("blocks"), &saved);
    let rep = db.maintain(T0 + 8 * HOUR).unwrap();
    assert_eq!(rep.compactions, 1, "{rep:?}");
    (saved, sample_count(&everything(&db)))
}

#[test]
fn blocks_a_compaction_replaced_but_did_not_remove_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let (saved, total) = compacted_with_copy(dir.path());
    assert_eq!(total, 3 * 8 * 240);
    // The crash came after the new block's rename, before the sources were removed.
    for name in block_dirs(&saved) {
        if !dir.path().join("blocks").join(&name).exists() {
            copy_dir(&saved.join(&name), &dir.path().join("blocks").join(&name));
        }
    }
    let db = open(dir.path());
    let all = everything(&db);
    assert_eq!(sample_count(&all), total, "nothing counted twice");
    assert!(all
        .iter()
        .all(|s| s.samples.windows(2).all(|w| w[0].0 < w[1].0)));
    let raw: Vec<String> = block_dirs(&dir.path().join("blocks"))
        .into_iter()
        .filter(|n| n.starts_with("raw-"))
        .collect();
    assert_eq!(raw.len(), 1, "only the 6 h block: {raw:?}");
    let _ = fs::remove_dir_all(saved);
}

#[test]
fn a_half_written_block_and_a_half_removed_one_are_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let (saved, total) = compacted_with_copy(dir.path());
    let blocks = dir.path().join("blocks");
    let some = block_dirs(&saved)
        .into_iter()
        .find(|n| n.starts_with("raw-"))
        .unwrap();
    // A compaction's output, cut off mid-write (no index, no meta, half the chunks).
    let tmp = blocks.join(format!("tmp-{some}"));
    fs::create_dir_all(&tmp).unwrap();
    let chunks = fs::read(saved.join(&some).join("chunks")).unwrap();
    fs::write(tmp.join("chunks"), &chunks[..chunks.len() / 2]).unwrap();
    // A source whose removal was under way.
    copy_dir(&saved.join(&some), &blocks.join(format!("del-{some}")));
    fs::remove_file(blocks.join(format!("del-{some}")).join("index")).unwrap();
    let db = open(dir.path());
    assert_eq!(sample_count(&everything(&db)), total);
    assert!(block_dirs(&dir.path().join("blocks"))
        .iter()
        .all(|n| n.starts_with("raw-") || n.starts_with("rollup-")));
    let _ = fs::remove_dir_all(saved);
}

#[test]
fn an_unreadable_block_is_moved_aside_and_opening_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (saved, total) = compacted_with_copy(dir.path());
    let blocks = dir.path().join("blocks");
    let victim = block_dirs(&dir.path().join("blocks"))
        .into_iter()
        .find(|n| n.starts_with("rollup-"))
        .unwrap();
    let index = blocks.join(&victim).join("index");
    let data = fs::read(&index).unwrap();
    fs::write(&index, &data[..data.len() - 9]).unwrap();
    let db = open(dir.path());
    assert_eq!(sample_count(&everything(&db)), total, "raw data untouched");
    assert!(blocks.join(format!("corrupt-{victim}")).exists());
    assert!(db.stats().last_error.unwrap().contains(&victim));
    let _ = fs::remove_dir_all(saved);
}

#[test]
fn a_raw_block_whose_rollup_was_never_written_gets_one() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        fill(&db, &labels(), T0, 6 * 240, |_, i| i as f64);
        db.maintain(T0 + 6 * HOUR).unwrap();
    }
    let rollups: Vec<String> = block_dirs(&dir.path().join("blocks"))
        .into_iter()
        .filter(|n| n.starts_with("rollup-"))
        .collect();
    assert_eq!(rollups.len(), 2);
    fs::remove_dir_all(dir.path().join("blocks").join(&rollups[0])).unwrap();
    let db = open(dir.path());
    db.maintain(T0 + 6 * HOUR).unwrap();
    let again = block_dirs(&dir.path().join("blocks"))
        .into_iter()
        .filter(|n| n.starts_with("rollup-"))
        .count();
    assert_eq!(again, 2);
    let via_rollups = db
        .select_hinted(
            &[crate::model::Matcher::equal("i", "0")],
            T0,
            T0 + 4 * HOUR - 1,
            3_600_000,
        )
        .unwrap();
    assert_eq!(
        via_rollups[0].samples.len(),
        48,
        "one per 5 minutes over 4 h"
    );
}
