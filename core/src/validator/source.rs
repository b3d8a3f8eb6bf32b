use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::watch;

use super::{ValidatorSet, ValidatorSetChange, ValidatorSetError, ValidatorSetHistory};
use crate::message::Height;

/// Where a node learns its validator sets: the chain in production, a list or a file in devnets.
///
/// The node reads [`current`](Self::current) to decide who may connect, [`at_height`](Self::at_height)
/// to judge each message against the set in force at the message's height, and follows
/// [`subscribe`](Self::subscribe) to apply joins and leaves live (connect to joiners, disconnect
/// leavers). Methods are synchronous and cheap — they hand out shared `Arc`s — so a node may call them
/// on every message.
///
/// "Current" is the newest version the source knows, which may take effect at a height the chain has
/// not reached yet: admitting a joiner a little early is harmless, and messages a leaver signed for
/// earlier heights are still judged by [`at_height`](Self::at_height).
///
/// A node-side reader:
///
/// ```
/// use std::sync::Arc;
/// use tokio::sync::mpsc;
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::message::Height;
/// use quorumnet_core::validator::{
///     ListValidatorSetSource, ValidatorInfo, ValidatorSet, ValidatorSetChange, ValidatorSetHistory,
///     ValidatorSetSource, ValidatorUpdate,
/// };
///
/// /// Reports who joined each new version, until the source is dropped. A real node would dial them.
/// async fn follow(source: &dyn ValidatorSetSource, joined: mpsc::Sender<String>) {
///     // Subscribe before reading the current set, so no version can slip between the two.
///     let mut updates = source.subscribe();
///     let mut known = source.current();
///     while updates.changed().await.is_ok() {
///         let latest = Arc::clone(&updates.borrow_and_update());
///         for id in latest.ids().filter(|id| !known.contains(id)) {
///             let _ = joined.send(id.short()).await;
///         }
///         known = latest;
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (a, b) = (Keypair::from_seed(&[1; 32]), Keypair::from_seed(&[2; 32]));
/// let genesis = ValidatorSet::new([ValidatorInfo::new(a.public_key().clone(), 1)]).unwrap();
/// let source = Arc::new(ListValidatorSetSource::new(genesis, Height(0), ValidatorSetHistory::DEFAULT_KEEP));
///
/// let (joined_tx, mut joined) = mpsc::channel(8);
/// let follower = follow(&*source, joined_tx);
/// let changer = async {
///     let join = ValidatorUpdate::Upsert(ValidatorInfo::new(b.public_key().clone(), 1));
///     source.push(&ValidatorSetChange::new(Height(5), vec![join])).unwrap();
///     joined.recv().await
/// };
/// // `biased` polls the follower first, so it has subscribed before the change is pushed.
/// let joiner = tokio::select! { biased; _ = follower => None, joiner = changer => joiner };
///
/// assert_eq!(joiner, Some(b.validator_id().short()));
/// assert!(!source.at_height(Height(4)).unwrap().contains(&b.validator_id()));
/// # }
/// ```
pub trait ValidatorSetSource: Send + Sync + 'static {
    /// The newest validator set the source knows.
    fn current(&self) -> Arc<ValidatorSet>;

    /// The set in force at `height`.
    ///
    /// # Returns
    /// `None` when `height` is older than every version the source still keeps; the caller drops a
    /// message of that height without scoring anyone.
    fn at_height(&self, height: Height) -> Option<Arc<ValidatorSet>>;

    /// A receiver that holds the newest set and wakes on each new version.
    ///
    /// The receiver starts with the current set marked as seen, so `changed().await` waits for the
    /// *next* version. A slow reader skips intermediate versions and sees only the newest, which is what
    /// connection management wants: the set to converge on, not every step to it.
    fn subscribe(&self) -> watch::Receiver<Arc<ValidatorSet>>;
}

/// A source whose set never changes: a fixed devnet or a test.
///
/// Every height is judged against the one set, and subscribers never see a change.
#[derive(Debug)]
pub struct StaticValidatorSetSource {
    set: Arc<ValidatorSet>,
    // Kept so that subscribers' `changed()` pends rather than failing as if the source were gone.
    sender: watch::Sender<Arc<ValidatorSet>>,
}

impl StaticValidatorSetSource {
    /// A source answering `set` for every height, forever.
    pub fn new(set: ValidatorSet) -> Self {
        let set = Arc::new(set);
        StaticValidatorSetSource { sender: watch::Sender::new(Arc::clone(&set)), set }
    }
}

impl ValidatorSetSource for StaticValidatorSetSource {
    fn current(&self) -> Arc<ValidatorSet> {
        Arc::clone(&self.set)
    }

    fn at_height(&self, _height: Height) -> Option<Arc<ValidatorSet>> {
        Some(self.current())
    }

    fn subscribe(&self) -> watch::Receiver<Arc<ValidatorSet>> {
        self.sender.subscribe()
    }
}

/// A source fed with changes over time through a shared reference: the devnet's churn scenarios, a
/// file watcher, or a test standing in for the chain.
///
/// It keeps a [`ValidatorSetHistory`] for [`at_height`](ValidatorSetSource::at_height) and notifies
/// subscribers of every accepted version. Its lock is a std lock held only for the few instructions of
/// a lookup or an update, never across an `.await`.
#[derive(Debug)]
pub struct ListValidatorSetSource {
    history: RwLock<ValidatorSetHistory>,
    sender: watch::Sender<Arc<ValidatorSet>>,
}

impl ListValidatorSetSource {
    /// A source starting with `initial`, in force from height `from`, keeping `keep` versions
    /// (see [`ValidatorSetHistory::new`]).
    pub fn new(initial: ValidatorSet, from: Height, keep: usize) -> Self {
        let history = ValidatorSetHistory::new(initial, from, keep);
        let sender = watch::Sender::new(history.latest());
        ListValidatorSetSource { history: RwLock::new(history), sender }
    }

    /// Applies `change` to the newest set and notifies subscribers.
    ///
    /// # Errors
    /// As [`ValidatorSetHistory::push`]; nothing changes and nobody is notified on error.
    pub fn push(&self, change: &ValidatorSetChange) -> Result<(), ValidatorSetError> {
        self.update(|history| history.push(change))
    }

    /// Replaces the newest set with `set` from `effective_height` on, and notifies subscribers.
    ///
    /// # Errors
    /// As [`ValidatorSetHistory::push_set`]; nothing changes and nobody is notified on error.
    pub fn push_set(&self, effective_height: Height, set: ValidatorSet) -> Result<(), ValidatorSetError> {
        self.update(|history| history.push_set(effective_height, set))
    }

    /// The height the newest version takes effect at.
    pub fn latest_effective_height(&self) -> Height {
        self.read().latest_effective_height()
    }

    /// A copy of the kept versions, e.g. for an admission policy that wants
    /// [`ValidatorSetHistory::union_ids`].
    pub fn history(&self) -> ValidatorSetHistory {
        self.read().clone()
    }

    fn update(
        &self,
        apply: impl FnOnce(&mut ValidatorSetHistory) -> Result<(), ValidatorSetError>,
    ) -> Result<(), ValidatorSetError> {
        // Poisoning cannot leave a half-updated history (updates mutate only after every check passed),
        // so a panic elsewhere does not need to take the source down with it.
        let mut history = self.history.write().unwrap_or_else(PoisonError::into_inner);
        apply(&mut history)?;
        // Sent under the lock so concurrent pushes reach subscribers in the order they entered the history.
        self.sender.send_replace(history.latest());
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, ValidatorSetHistory> {
        self.history.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ValidatorSetSource for ListValidatorSetSource {
    fn current(&self) -> Arc<ValidatorSet> {
        self.read().latest()
    }

    fn at_height(&self, height: Height) -> Option<Arc<ValidatorSet>> {
        self.read().at(height)
    }

    fn subscribe(&self) -> watch::Receiver<Arc<ValidatorSet>> {
        self.sender.subscribe()
    }
}
