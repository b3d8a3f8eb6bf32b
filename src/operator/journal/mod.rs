//! `quorumnet node`'s journal on disk: what the validator must remember across a crash — its chain,
//! the last round it signed in and its lock — so a restarted process resumes where it stopped and
//! never signs two different messages for one round.
//!
//! [`JournalFile`] is the [`JournalStore`] behind the node's [`Journal`](crate::devnet::journal::Journal):
//! - every signed round is appended and synced (`fsync`) **before** the signed vote or proposal
//!   leaves the process; locks and commits are appended, and synced by the next signed round;
//! - records are only ever appended ([`record`] gives the format), so a commit costs one small
//!   write, whatever the chain's length; the file is read once, at start-up;
//! - a torn last record (a crash mid-write) is dropped with a warning; damage anywhere else is a
//!   [`JournalFileError::Corrupt`] and the node does not start;
//! - the file is locked (`flock`, on Unix) while open: a second node given the same journal
//!   refuses to start;
//! - after any failed write every later record is refused, so the validator stops signing rather
//!   than leave a gap in its journal.
//!
//! ```
//! use quorumnet::devnet::journal::JournalStore;
//! use quorumnet::message::{Height, Round};
//! use quorumnet::operator::journal::JournalFile;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("v0.journal");
//! let (file, state) = JournalFile::open(&path).unwrap();
//! assert_eq!(state.last_signed, None);
//! file.signed(Height(1), Round(0)).unwrap();
//! file.close().unwrap();
//! drop(file);
//! let (_, state) = JournalFile::open(&path).unwrap();
//! assert_eq!(state.last_signed, Some((Height(1), Round(0))));
//! ```

pub mod error;
pub mod record;

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub use error::JournalFileError;
use record::Record;

use crate::devnet::journal::{CommitPath, Committed, JournalState, JournalStore};
use crate::devnet::locking::Locked;
use crate::message::{Height, Round};

/// An open, locked journal file, appended to as the engine signs, locks and commits.
#[derive(Debug)]
pub struct JournalFile {
    path: PathBuf,
    writer: Mutex<Writer>,
}

#[derive(Debug)]
struct Writer {
    file: File,
    /// A write failed, or [`JournalFile::close`] ran: nothing more is appended.
    stopped: Option<&'static str>,
    /// The last signed round appended and synced: a proposal and the votes of one round each ask
    /// for it, and only the first costs a sync.
    signed: Option<(Height, Round)>,
}

impl JournalFile {
    /// Opens (creating it if absent) and locks the journal at `path`, and reads what it holds: the
    /// state an engine resumes from ([`Journal::resumed`](crate::devnet::journal::Journal::resumed)).
    /// A torn last record is cut off the file.
    ///
    /// # Errors
    /// [`JournalFileError::Io`] if the file cannot be opened, read or repaired;
    /// [`JournalFileError::InUse`] if another process holds it; [`JournalFileError::Corrupt`] for
    /// damage other than a torn last record.
    pub fn open(path: &Path) -> Result<(JournalFile, JournalState), JournalFileError> {
        let io = |source| JournalFileError::Io { path: path.to_owned(), source };
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io)?;
        lock_exclusively(path, &file)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (state, torn_at) = decode_state(path, &bytes)?;
        if let Some(at) = torn_at {
            tracing::warn!(journal = %path.display(), at, dropped = bytes.len() as u64 - at, "the journal's last record was torn by a crash mid-write: dropped");
            file.set_len(at).map_err(io)?;
        }
        if bytes.is_empty() || torn_at == Some(0) {
            file.write_all(record::HEADER).map_err(io)?;
        }
        file.sync_all().map_err(io)?;
        tracing::info!(journal = %path.display(), tip = state.chain.len(), last_signed = ?state.last_signed, "journal opened");
        Ok((
            JournalFile {
                path: path.to_owned(),
                writer: Mutex::new(Writer { file, stopped: None, signed: state.last_signed }),
            },
            state,
        ))
    }

    /// Reads the journal at `path` without locking or repairing it (to inspect a stopped node's).
    ///
    /// # Errors
    /// As [`open`](Self::open), but never [`JournalFileError::InUse`].
    pub fn read(path: &Path) -> Result<JournalState, JournalFileError> {
        let bytes = std::fs::read(path).map_err(|source| JournalFileError::Io { path: path.to_owned(), source })?;
        decode_state(path, &bytes).map(|(state, _)| state)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Syncs everything appended and stops appending: what a node does as it shuts down, after its
    /// engine ended. The lock is released when the `JournalFile` is dropped.
    ///
    /// # Errors
    /// [`JournalFileError::Io`] if the final sync failed: the last commits may then be caught up
    /// again after a restart, but every signed round was already synced.
    pub fn close(&self) -> Result<(), JournalFileError> {
        let mut writer = self.writer();
        writer.stopped.get_or_insert("the journal is closed");
        writer.file.sync_all().map_err(|source| JournalFileError::Io { path: self.path.clone(), source })
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // A panic while appending leaves at worst a torn record, which `stopped` is then not set
        // for: the next append would follow it. Refuse further appends instead.
        self.writer.lock().unwrap_or_else(|poisoned| {
            let mut writer = poisoned.into_inner();
            writer.stopped.get_or_insert("a write panicked");
            writer
        })
    }

    /// Appends `record`, synced if `sync`. Blocks the calling thread for the write (and sync): the
    /// engine must not send what it signed before, so there is nothing for it to do meanwhile.
    fn append(&self, record: &Record, sync: bool) -> std::io::Result<()> {
        let mut writer = self.writer();
        if let Some(why) = writer.stopped {
            return Err(std::io::Error::other(format!("record refused: {why}")));
        }
        let written = writer.file.write_all(&record::encode(record));
        let done = written.and_then(|()| if sync { writer.file.sync_data() } else { Ok(()) });
        if done.is_err() {
            writer.stopped = Some("an earlier write failed");
        }
        done
    }
}

impl JournalStore for JournalFile {
    fn signed(&self, height: Height, round: Round) -> std::io::Result<()> {
        {
            let writer = self.writer();
            if writer.stopped.is_none() && writer.signed == Some((height, round)) {
                return Ok(());
            }
        }
        self.append(&Record::Signed { height, round }, true)?;
        self.writer().signed = Some((height, round));
        Ok(())
    }

    fn locked(&self, height: Height, lock: Locked) -> std::io::Result<()> {
        self.append(&Record::Locked { height, round: lock.round, block: lock.block }, false)
    }

    fn committed(&self, committed: &Committed) -> std::io::Result<()> {
        let Committed { height, round, block, path, .. } = *committed;
        self.append(&Record::Committed { height, round, block, caught_up: path != CommitPath::Decided }, false)
    }
}

/// Takes `file`'s advisory lock for this process (released when it is closed, by exit or crash
/// too), refusing a file another process holds.
#[cfg(unix)]
fn lock_exclusively(path: &Path, file: &File) -> Result<(), JournalFileError> {
    use rustix::fs::{flock, FlockOperation};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(JournalFileError::InUse { path: path.to_owned() }),
        Err(errno) => Err(JournalFileError::Io { path: path.to_owned(), source: errno.into() }),
    }
}

/// Elsewhere the journal is not locked: the operator must not give two nodes one journal.
#[cfg(not(unix))]
fn lock_exclusively(_path: &Path, _file: &File) -> Result<(), JournalFileError> {
    Ok(())
}

/// The state a journal file's bytes hold, replayed as the in-memory journal recorded it, and where a
/// torn last record starts.
fn decode_state(path: &Path, bytes: &[u8]) -> Result<(JournalState, Option<u64>), JournalFileError> {
    let corrupt = |offset, reason| JournalFileError::Corrupt { path: path.to_owned(), offset, reason };
    let decoded = record::decode(bytes).map_err(|(offset, reason)| corrupt(offset, reason))?;
    let mut state = JournalState::default();
    for (offset, record) in decoded.records {
        match record {
            Record::Signed { height, round } => state.last_signed = Some((height, round)),
            Record::Locked { height, round, block } => state.lock = Some((height, Locked { round, block })),
            Record::Committed { height, round, block, caught_up } => {
                let next = Height(state.chain.len() as u64 + 1);
                if height != next {
                    return Err(corrupt(offset, format!("a commit of height {height} where height {next} was due")));
                }
                let path = if caught_up { CommitPath::CaughtUp } else { CommitPath::Decided };
                // Times are the previous process's: from this one's start, they are all "before".
                let (at, latency) = (Duration::ZERO, Duration::ZERO);
                state.chain.push(Committed { height, round, block, at, latency, path });
                state.extra_rounds += u64::from(round.0);
                state.lock = None;
            }
        }
    }
    Ok((state, decoded.torn_at))
}

#[cfg(test)]
mod tests;
