//! The block directory as a whole: loading it on open (and cleaning up after a crash), and
//! removing blocks.
//!
//! Recovery rules: `tmp-*` is a block never finished (removed); `del-*` a block whose
//! removal was under way (removed); a block named among another's `sources` was compacted
//! into it but not yet removed (removed, so nothing is counted twice); a block that does
//! not load is moved aside as `corrupt-*` and reported, never deleted.
use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use super::block::Block;
use super::disk;
use super::error::TsdbError;
use super::symbols::Interner;

pub fn load_all(
    blocks_dir: &Path,
    interner: &Interner,
    problems: &mut Vec<String>,
) -> Result<Vec<Arc<Block>>, TsdbError> {
    fs::create_dir_all(blocks_dir).map_err(|e| TsdbError::at("creating", blocks_dir, e))?;
    let mut loaded = Vec::new();
    let entries = fs::read_dir(blocks_dir).map_err(|e| TsdbError::at("listing", blocks_dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("tmp-") || name.starts_with("del-") {
            fs::remove_dir_all(&path).map_err(|e| TsdbError::at("removing", &path, e))?;
            continue;
        }
        if name.starts_with("corrupt-") {
            continue;
        }
        match Block::open(&path, interner) {
            Ok(b) => loaded.push(b),
            Err(e) => {
                let aside = blocks_dir.join(format!("corrupt-{name}"));
                problems.push(format!(
                    "block {name} unreadable ({e}); moved to {}",
                    aside.display()
                ));
                fs::rename(&path, &aside).map_err(|e| TsdbError::at("moving aside", &path, e))?;
            }
        }
    }
    let replaced: HashSet<String> = loaded
        .iter()
        .flat_map(|b| b.meta.sources.iter().cloned())
        .collect();
    let mut blocks = Vec::new();
    for b in loaded {
        if replaced.contains(&b.name) {
            let name = b.name.clone();
            drop(b);
            remove(blocks_dir, &name)?;
        } else {
            blocks.push(Arc::new(b));
        }
    }
    sort(&mut blocks);
    let _ = disk::sync_dir(blocks_dir);
    Ok(blocks)
}

/// Blocks in the order queries and planning expect: by kind, then time.
pub fn sort(blocks: &mut [Arc<Block>]) {
    blocks.sort_by_key(|b| (b.meta.kind.as_str(), b.meta.range_start, b.meta.range_end));
}

/// Removes a block directory: renamed first, so a crash midway leaves `del-*`.
pub fn remove(blocks_dir: &Path, name: &str) -> Result<(), TsdbError> {
    let path = blocks_dir.join(name);
    let doomed = blocks_dir.join(format!("del-{name}"));
    fs::rename(&path, &doomed).map_err(|e| TsdbError::at("removing", &path, e))?;
    fs::remove_dir_all(&doomed).map_err(|e| TsdbError::at("removing", &doomed, e))?;
    let _ = disk::sync_dir(blocks_dir);
    Ok(())
}
