//! What can go wrong in storage, with a full disk told apart so the caller can pause
//! scrapes and say why.
use std::io;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TsdbError {
    /// The filesystem is out of space (or quota). Nothing was half-applied: the batch or
    /// block that hit it is not in storage and may be retried once space is freed.
    #[error("disk full while {context}: {source}")]
    DiskFull { context: String, source: io::Error },
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    /// On-disk data that cannot be read; the message names the file.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// Another process (or another `Tsdb` in this one) has the directory open.
    #[error("storage directory {0} is in use by another instance")]
    Locked(String),
    /// `Options::max_series` would be exceeded by a new series.
    #[error("series limit reached ({0} series)")]
    TooManySeries(usize),
    /// Options that cannot work together.
    #[error("invalid options: {0}")]
    Config(String),
    /// A label set storage cannot hold (no labels, or oversized names/values).
    #[error("invalid labels: {0}")]
    InvalidLabels(String),
}

impl TsdbError {
    /// Wraps an I/O error, telling a full disk apart.
    pub fn io(context: impl Into<String>, source: io::Error) -> TsdbError {
        let context = context.into();
        if is_disk_full(&source) {
            TsdbError::DiskFull { context, source }
        } else {
            TsdbError::Io { context, source }
        }
    }

    /// `io` with the path in the context.
    pub fn at(what: &str, path: &Path, source: io::Error) -> TsdbError {
        TsdbError::io(format!("{what} {}", path.display()), source)
    }

    pub fn is_disk_full(&self) -> bool {
        matches!(self, TsdbError::DiskFull { .. })
    }
}

/// ENOSPC or EDQUOT, however the platform reports them.
pub fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) || matches!(e.raw_os_error(), Some(28) | Some(122))
}
