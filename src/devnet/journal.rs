//! What a validator keeps across a crash: its chain and the last round it signed in. The devnet also
//! reads it, live, for progress and for the report.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

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
/// Readers that must see every commit as it happens (`quorumnet node` prints each) watch
/// [`Journal::committed_height`] instead of polling the chain.
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
#[derive(Clone, Debug)]
pub struct Journal {
    state: Arc<Mutex<JournalState>>,
    /// The chain's tip height, sent after every commit (a watch: a slow reader skips to the latest
    /// value and reads the heights in between from the chain, so the engine never waits for it).
    committed: Arc<watch::Sender<Height>>,
}

impl Default for Journal {
    fn default() -> Self {
        Journal { state: Arc::default(), committed: Arc::new(watch::channel(Height(0)).0) }
    }
}

impl Journal {
    /// Locks the state. Held only for short updates and reads, never across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, JournalState> {
        // A poisoned lock means a panic elsewhere already failed the run; the data is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the state.
    pub fn snapshot(&self) -> JournalState {
        self.lock().clone()
    }

    /// Appends `committed` to the chain and tells the [`committed_height`](Self::committed_height)
    /// watchers.
    ///
    /// ```
    /// use std::time::Duration;
    /// use quorumnet::devnet::journal::{CommitPath, Committed, Journal};
    /// use quorumnet::message::{BlockHash, Height, Round};
    ///
    /// let journal = Journal::default();
    /// let tip = journal.committed_height();
    /// let block = BlockHash([1; 32]);
    /// let at = Duration::ZERO;
    /// journal.push_commit(Committed { height: Height(1), round: Round(0), block, at, latency: at, path: CommitPath::Decided });
    /// assert_eq!(*tip.borrow(), Height(1));
    /// ```
    pub fn push_commit(&self, committed: Committed) {
        {
            let mut state = self.lock();
            state.chain.push(committed);
            state.extra_rounds += u64::from(committed.round.0);
            state.lock = None;
        }
        // Nobody watching is fine: the chain holds the commit either way.
        self.committed.send_replace(committed.height);
    }

    /// The height of the chain's tip, updated on every commit.
    pub fn committed_height(&self) -> watch::Receiver<Height> {
        self.committed.subscribe()
    }
}
