//! What a validator keeps across a crash: its chain and the last round it signed in. The devnet also
//! reads it, live, for progress and for the report.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::locking::Locked;
use crate::message::{BlockHash, EquivocationEvidence, Height, Round};

/// How a block came to be committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitPath {
    /// 2/3 pre-commits seen in a round of this height.
    Decided,
    /// Adopted from 2/3 `Commit` messages while catching up.
    CaughtUp,
}

/// One committed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    /// Its height.
    pub height: Height,
    /// The round it was decided in.
    pub round: Round,
    /// The block.
    pub block: BlockHash,
    /// When this validator committed it, since the devnet started.
    pub at: Duration,
    /// From this validator entering the height to committing it.
    pub latency: Duration,
    /// How it was committed.
    pub path: CommitPath,
}

/// The validator's durable state and live gauges.
#[derive(Clone, Debug, Default)]
pub struct JournalState {
    /// Committed blocks, height 1 first, without gaps.
    pub chain: Vec<Committed>,
    /// The last height and round this validator signed a vote or proposal in: it restarts in the
    /// round after, so it never signs two different votes for one round (no equivocation on restart).
    pub last_signed: Option<(Height, Round)>,
    /// The lock held at a height, kept so a validator restarting within the height honours it.
    pub lock: Option<(Height, Locked)>,
    /// Where the engine is now.
    pub position: (Height, Round),
    /// Step timeouts that fired (propose, prevote, precommit).
    pub timeouts: u64,
    /// Rounds after the first that heights needed.
    pub extra_rounds: u64,
    /// The node's proof against each validator excluded for equivocation, in the order learnt: at
    /// most one per validator of the set.
    pub evidence: Vec<EquivocationEvidence>,
}

impl JournalState {
    /// The last committed block's height and hash, or height 0 and the genesis parent.
    pub fn tip(&self, genesis: BlockHash) -> (Height, BlockHash) {
        self.chain.last().map_or((Height(0), genesis), |c| (c.height, c.block))
    }

    /// The block committed at `height`, if any.
    pub fn at(&self, height: Height) -> Option<&Committed> {
        let index = usize::try_from(height.0.checked_sub(1)?).ok()?;
        self.chain.get(index)
    }
}

/// A shared handle to a [`JournalState`]: the engine writes it, the devnet reads it, and a restarted
/// engine resumes from it (the devnet's stand-in for a validator's disk).
///
/// ```
/// use quorumnet::devnet::journal::Journal;
///
/// let journal = Journal::default();
/// assert!(journal.lock().chain.is_empty());
/// let same = journal.clone();
/// same.lock().timeouts += 1;
/// assert_eq!(journal.lock().timeouts, 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Journal(Arc<Mutex<JournalState>>);

impl Journal {
    /// Locks the state. Held only for short updates and reads, never across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, JournalState> {
        // A poisoned lock means a panic elsewhere already failed the run; the data is still usable.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the state.
    pub fn snapshot(&self) -> JournalState {
        self.lock().clone()
    }
}
