//! File writing that durability rests on: fsync of files and directories, sizes, and a
//! test hook that makes writes fail as a full disk would (part of the bytes written, then
//! ENOSPC), so the full-disk paths are exercised without filling a real disk.
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Shared write budget: when armed, writes past it fail with ENOSPC.
#[derive(Debug)]
pub struct Faults {
    /// Bytes that may still be written; negative = unlimited.
    budget: AtomicI64,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            budget: AtomicI64::new(-1),
        }
    }
}

impl Faults {
    /// Lets `bytes` more bytes be written, then fails every write (`None` = no limit).
    #[cfg(test)]
    pub fn set_budget(&self, bytes: Option<u64>) {
        let v = bytes.map(|b| b.min(i64::MAX as u64) as i64).unwrap_or(-1);
        self.budget.store(v, Ordering::SeqCst);
    }

    /// How much of `len` may be written now; `None` = all of it.
    fn allow(&self, len: usize) -> Option<usize> {
        let b = self.budget.load(Ordering::SeqCst);
        if b < 0 {
            return None;
        }
        let take = (b as usize).min(len);
        self.budget.fetch_sub(take as i64, Ordering::SeqCst);
        Some(take)
    }
}

fn enospc() -> io::Error {
    io::Error::from_raw_os_error(28)
}

/// A file whose writes go through the fault hook.
pub struct CheckedFile {
    pub file: File,
    faults: Arc<Faults>,
}

impl CheckedFile {
    pub fn new(file: File, faults: Arc<Faults>) -> CheckedFile {
        CheckedFile { file, faults }
    }
}

impl Write for CheckedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.faults.allow(buf.len()) {
            None => self.file.write(buf),
            Some(0) if !buf.is_empty() => Err(enospc()),
            Some(n) => self.file.write(&buf[..n]),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// fsync a directory so a rename or removal in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes a whole file to `path` through a temporary name and a rename, durably.
pub fn write_atomic(path: &Path, data: &[u8], faults: &Arc<Faults>) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let result = (|| {
        let mut f = CheckedFile::new(File::create(&tmp)?, faults.clone());
        f.write_all(data)?;
        f.file.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(path.parent().unwrap_or(Path::new(".")))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Bytes of all files under `path`.
pub fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
