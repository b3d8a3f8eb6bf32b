//! What can be wrong with a journal file, each saying what to do.

use std::path::PathBuf;

/// A journal file `quorumnet node` cannot resume from or write to. Reported as a
/// [`ConfigError`](crate::operator::ConfigError) naming the `journal` field.
#[derive(Debug, thiserror::Error)]
pub enum JournalFileError {
    /// The file could not be opened, read, created or written.
    #[error("cannot use the journal file {}: {source}; point `journal` at a file in an existing directory this user can write", path.display())]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Another process holds the file: two validators writing one journal would corrupt it.
    #[error("the journal file {} is in use by another process: stop that node, or give this one its own `journal`", path.display())]
    InUse {
        /// The journal file.
        path: PathBuf,
    },
    /// The file is not a quorumnet journal, or damaged before its last record (a torn last record,
    /// left by a crash mid-write, is dropped instead).
    #[error("the journal file {} is damaged at byte {offset}: {reason}; restore it from a backup, or move it away to start this validator afresh (only if it has never signed: a fresh journal may sign a round again)", path.display())]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// Where the damaged record starts.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
}
