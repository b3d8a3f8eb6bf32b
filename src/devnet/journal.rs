//! What a validator keeps across a crash: its chain and the last round it signed in. The devnet also
//! reads it, live, for progress and for the report.
//!
//! In the devnet the journal lives in memory (the stand-in for a validator's disk across a simulated
//! crash); `quorumnet node` gives it a [`JournalStore`] on disk
//! ([`crate::operator::journal`]), written through before anything signed leaves the process.

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
    /// Copied from another validator's chain when joining the set (state sync): no latency of its own.
    Synced,
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

/// Where a [`Journal`]'s writes go to outlive the process. The engine never sees it: it records into
/// the journal, which writes through to its store, if it has one.
pub trait JournalStore: Send + Sync + std::fmt::Debug {
    /// Records that this validator signs a vote or proposal in `round` of `height`. It must be
    /// durable (on disk, synced) when this returns: the signed message leaves the process only
    /// after, so a restart never signs a second, different message for that round.
    ///
    /// # Errors
    /// The record may not be durable: the signed message is then not sent.
    fn signed(&self, height: Height, round: Round) -> std::io::Result<()>;

    /// Records the lock taken at `height`. It need not be synced by itself: the lock is always
    /// followed by the pre-commit it leads to, whose [`signed`](Self::signed) record syncs both.
    ///
    /// # Errors
    /// The record could not be written.
    fn locked(&self, height: Height, lock: Locked) -> std::io::Result<()>;

    /// Appends a committed block (synced no later than the next [`signed`](Self::signed) record:
    /// a commit lost to a power cut is caught up again from the other validators).
    ///
    /// # Errors
    /// The record could not be written.
    fn committed(&self, committed: &Committed) -> std::io::Result<()>;
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
    /// Where the safety-relevant writes also go; none in the devnet, whose validators share one
    /// process and must not pay a sync per vote.
    store: Option<Arc<dyn JournalStore>>,
    /// The chain's tip height, sent after every commit (a watch: a slow reader skips to the latest
    /// value and reads the heights in between from the chain, so the engine never waits for it).
    committed: Arc<watch::Sender<Height>>,
}

impl Default for Journal {
    fn default() -> Self {
        Journal { state: Arc::default(), store: None, committed: Arc::new(watch::channel(Height(0)).0) }
    }
}

impl Journal {
    /// A journal resuming from `state` (read back from `store`), writing through to `store` from now
    /// on. [`committed_height`](Self::committed_height) starts at the chain's tip.
    pub fn resumed(state: JournalState, store: Arc<dyn JournalStore>) -> Journal {
        let tip = state.chain.last().map_or(Height(0), |c| c.height);
        Journal { state: Arc::new(Mutex::new(state)), store: Some(store), committed: Arc::new(watch::channel(tip).0) }
    }

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
        // A commit the store failed to take costs a catch-up after a restart, nothing more: the
        // store then refuses every later record, so no vote is signed past a gap in it.
        self.write_through("commit", |store| store.committed(&committed));
        {
            let mut state = self.lock();
            state.chain.push(committed);
            state.extra_rounds += u64::from(committed.round.0);
            state.lock = None;
        }
        // Nobody watching is fine: the chain holds the commit either way.
        self.committed.send_replace(committed.height);
    }

    /// State sync: appends `donor`'s commits above this chain's tip, up to `up_to`, as
    /// [`CommitPath::Synced`] with no latency or extra rounds of their own (they are the donor's).
    ///
    /// ```
    /// use std::time::Duration;
    /// use quorumnet::devnet::journal::{CommitPath, Committed, Journal};
    /// use quorumnet::message::{BlockHash, Height, Round};
    ///
    /// let donor = Journal::default();
    /// for h in 1..=3 {
    ///     let at = Duration::from_millis(100 * h);
    ///     donor.push_commit(Committed { height: Height(h), round: Round(1), block: BlockHash([h as u8; 32]), at, latency: at, path: CommitPath::Decided });
    /// }
    /// let joiner = Journal::default();
    /// joiner.sync_from(&donor.snapshot(), Height(2));
    /// let state = joiner.snapshot();
    /// assert_eq!((state.chain.len(), state.chain[1].path, state.extra_rounds), (2, CommitPath::Synced, 0));
    /// ```
    pub fn sync_from(&self, donor: &JournalState, up_to: Height) {
        let from = self.lock().chain.len();
        let mut tip = None;
        for committed in donor.chain.iter().skip(from).take_while(|c| c.height <= up_to) {
            let synced = Committed { latency: Duration::ZERO, path: CommitPath::Synced, ..*committed };
            self.write_through("synced commit", |store| store.committed(&synced));
            self.lock().chain.push(synced);
            tip = Some(synced.height);
        }
        if let Some(tip) = tip {
            self.committed.send_replace(tip);
        }
    }

    /// Records that this validator signs in `round` of `height`; `true` once that is durable (always,
    /// without a store), and only then may the signed message be sent.
    ///
    /// ```
    /// use quorumnet::devnet::journal::Journal;
    /// use quorumnet::message::{Height, Round};
    ///
    /// let journal = Journal::default();
    /// assert!(journal.record_signed(Height(2), Round(1)));
    /// assert_eq!(journal.lock().last_signed, Some((Height(2), Round(1))));
    /// ```
    pub fn record_signed(&self, height: Height, round: Round) -> bool {
        self.lock().last_signed = Some((height, round));
        self.write_through("signed round", |store| store.signed(height, round))
    }

    /// Records the lock taken at `height`; `false` if the store failed to take it.
    pub fn record_lock(&self, height: Height, lock: Locked) -> bool {
        self.lock().lock = Some((height, lock));
        self.write_through("lock", |store| store.locked(height, lock))
    }

    /// Runs `write` on the store, if any; `false` (logged) if it failed.
    fn write_through(&self, what: &str, write: impl FnOnce(&dyn JournalStore) -> std::io::Result<()>) -> bool {
        let Some(store) = &self.store else { return true };
        match write(store.as_ref()) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, record = what, "the journal on disk refused a record: nothing more is signed; stop the node and fix the disk");
                false
            }
        }
    }

    /// The height of the chain's tip, updated on every commit.
    pub fn committed_height(&self) -> watch::Receiver<Height> {
        self.committed.subscribe()
    }
}
