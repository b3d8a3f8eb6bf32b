use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use super::{ValidatorSet, ValidatorSetChange, ValidatorSetError};
use crate::identity::ValidatorId;
use crate::message::Height;

/// The last few versions of the validator set, each in force from its effective height until the next
/// one's.
///
/// A message is judged against the set in force at *its* height, so a validator that has since left is
/// not taken for a forger because its vote arrives late through gossip. Versions older than the last
/// [`keep`](Self::keep) are forgotten: [`at`](Self::at) then answers `None`, and the caller drops such a
/// message without scoring anyone, since nobody can be shown to have misbehaved.
///
/// ```
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::message::Height;
/// use quorumnet_core::validator::{
///     ValidatorInfo, ValidatorSet, ValidatorSetChange, ValidatorSetHistory, ValidatorUpdate,
/// };
///
/// let (a, b) = (Keypair::from_seed(&[1; 32]), Keypair::from_seed(&[2; 32]));
/// let genesis = ValidatorSet::new([ValidatorInfo::new(a.public_key().clone(), 1)]).unwrap();
/// let mut history = ValidatorSetHistory::new(genesis, Height(1), ValidatorSetHistory::DEFAULT_KEEP);
/// let join = ValidatorUpdate::Upsert(ValidatorInfo::new(b.public_key().clone(), 1));
/// history.push(&ValidatorSetChange::new(Height(10), vec![join])).unwrap();
///
/// assert!(history.at(Height(0)).is_none());
/// assert!(!history.at(Height(9)).unwrap().contains(&b.validator_id()));
/// assert!(history.at(Height(10)).unwrap().contains(&b.validator_id()));
/// ```
#[derive(Clone, Debug)]
pub struct ValidatorSetHistory {
    /// Oldest first; effective heights strictly increase; never empty.
    versions: VecDeque<(Height, Arc<ValidatorSet>)>,
    keep: usize,
}

impl ValidatorSetHistory {
    /// Versions kept by default. Late votes arrive through gossip and repair for as long as peers hold
    /// them, which is a few heights behind the tip; chains change their set at most once per height and
    /// usually far less often, so four versions cover that window with room to spare while costing a few
    /// shared `Arc`s. A chain that changes its set every height and gossips deep history should raise it.
    pub const DEFAULT_KEEP: usize = 4;

    /// A history holding `initial`, in force from height `from`, keeping at most `keep` versions.
    ///
    /// A `keep` of 0 is taken as 1: the latest version is always kept, or no message could be judged.
    pub fn new(initial: ValidatorSet, from: Height, keep: usize) -> Self {
        let keep = keep.max(1);
        let mut versions = VecDeque::with_capacity(keep);
        versions.push_back((from, Arc::new(initial)));
        ValidatorSetHistory { versions, keep }
    }

    /// Applies `change` to the latest version and keeps the result as the newest version, evicting the
    /// oldest beyond [`keep`](Self::keep).
    ///
    /// # Errors
    /// [`ValidatorSetError::NonIncreasingHeight`] when the change does not take effect strictly after
    /// the latest version, or any error of [`ValidatorSet::apply`]. The history is unchanged on error.
    pub fn push(&mut self, change: &ValidatorSetChange) -> Result<(), ValidatorSetError> {
        self.check_follows(change.effective_height)?;
        let next = self.latest().apply(change)?;
        self.append(change.effective_height, Arc::new(next));
        Ok(())
    }

    /// Keeps a whole set, in force from `effective_height`, as the newest version — for sources that
    /// learn complete sets (e.g. per epoch) rather than changes.
    ///
    /// # Errors
    /// [`ValidatorSetError::NonIncreasingHeight`]; the history is unchanged on error.
    pub fn push_set(&mut self, effective_height: Height, set: ValidatorSet) -> Result<(), ValidatorSetError> {
        self.check_follows(effective_height)?;
        self.append(effective_height, Arc::new(set));
        Ok(())
    }

    fn check_follows(&self, effective: Height) -> Result<(), ValidatorSetError> {
        let latest = self.latest_effective_height();
        if effective <= latest {
            return Err(ValidatorSetError::NonIncreasingHeight { effective, latest });
        }
        Ok(())
    }

    fn append(&mut self, effective: Height, set: Arc<ValidatorSet>) {
        self.versions.push_back((effective, set));
        while self.versions.len() > self.keep {
            self.versions.pop_front();
        }
    }

    /// The set in force at `height`: the newest version effective at or before it. `None` when `height`
    /// is older than every kept version.
    pub fn at(&self, height: Height) -> Option<Arc<ValidatorSet>> {
        // Versions in force *after* `height` form a suffix; the one just before it is in force at `height`.
        let in_force_after = self.versions.partition_point(|(effective, _)| *effective <= height);
        let index = in_force_after.checked_sub(1)?;
        Some(Arc::clone(&self.versions[index].1))
    }

    /// The newest version.
    pub fn latest(&self) -> Arc<ValidatorSet> {
        Arc::clone(&self.newest().1)
    }

    /// The height the newest version takes effect at.
    pub fn latest_effective_height(&self) -> Height {
        self.newest().0
    }

    /// The height the oldest kept version takes effect at: [`at`](Self::at) answers `None` below it.
    pub fn earliest_effective_height(&self) -> Height {
        self.versions.front().expect("a history is never empty").0
    }

    fn newest(&self) -> &(Height, Arc<ValidatorSet>) {
        self.versions.back().expect("a history is never empty")
    }

    /// The most versions this history keeps.
    pub fn keep(&self) -> usize {
        self.keep
    }

    /// How many versions are kept now: between 1 and [`keep`](Self::keep).
    #[allow(clippy::len_without_is_empty, reason = "a history always holds its latest version")]
    pub fn len(&self) -> usize {
        self.versions.len()
    }

    /// The kept versions with their effective heights, oldest first.
    pub fn versions(&self) -> impl ExactSizeIterator<Item = (Height, &Arc<ValidatorSet>)> + '_ {
        self.versions.iter().map(|(height, set)| (*height, set))
    }

    /// Every id in any kept version: who may still send messages that will be judged, e.g. for an
    /// admission policy that lets a departing validator finish its last heights.
    pub fn union_ids(&self) -> BTreeSet<ValidatorId> {
        self.versions.iter().flat_map(|(_, set)| set.ids()).collect()
    }

    /// Whether `id` is in any kept version.
    pub fn contains_anywhere(&self, id: &ValidatorId) -> bool {
        self.versions.iter().any(|(_, set)| set.contains(id))
    }
}
