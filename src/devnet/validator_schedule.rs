//! Which validator set decides each height: the genesis set, then each change from its effective
//! height on.
//!
//! A real chain carries its set changes in committed blocks; the devnet fixes them in its
//! configuration ([`super::churn`]), so every engine derives the same set for a height without
//! executing blocks. Either way an engine must judge a height's proposals, votes and commits by the
//! set in force *at that height*, never by the newest one, or a validator that joined at height 10
//! could help decide height 9.

use std::sync::Arc;

use crate::message::Height;
use crate::validator::ValidatorSet;

/// The validator sets of a chain, each in force from its effective height until the next one's.
///
/// ```
/// use std::sync::Arc;
/// use quorumnet::devnet::validator_schedule::ValidatorSchedule;
/// use quorumnet::identity::Keypair;
/// use quorumnet::message::Height;
/// use quorumnet::validator::{ValidatorInfo, ValidatorSet};
///
/// let keys: Vec<Keypair> = (1..=3).map(|i| Keypair::from_seed(&[i; 32])).collect();
/// let set = |of: &[usize]| ValidatorSet::new(of.iter().map(|&i| ValidatorInfo::new(keys[i].public_key().clone(), 1))).unwrap();
/// let schedule = ValidatorSchedule::new(set(&[0, 1]), vec![(Height(5), set(&[1, 2]))]).unwrap();
///
/// assert!(schedule.at(Height(4)).contains(&keys[0].validator_id()));
/// assert!(!schedule.at(Height(5)).contains(&keys[0].validator_id()));
/// assert!(schedule.at(Height(9)).contains(&keys[2].validator_id()));
/// assert!(ValidatorSchedule::new(set(&[0]), vec![(Height(0), set(&[1]))]).is_none());
/// ```
#[derive(Clone, Debug)]
pub struct ValidatorSchedule {
    /// Effective heights strictly increase; the first is 0 (genesis), so every height has a set.
    versions: Vec<(Height, Arc<ValidatorSet>)>,
}

impl ValidatorSchedule {
    /// One set for every height.
    pub fn fixed(set: Arc<ValidatorSet>) -> Self {
        ValidatorSchedule { versions: vec![(Height(0), set)] }
    }

    /// `genesis`, then each of `changes` from its height on; `None` unless the heights strictly
    /// increase from above 0.
    pub fn new(genesis: ValidatorSet, changes: Vec<(Height, ValidatorSet)>) -> Option<Self> {
        let mut versions = vec![(Height(0), Arc::new(genesis))];
        for (height, set) in changes {
            if versions.last().is_some_and(|(last, _)| *last >= height) {
                return None;
            }
            versions.push((height, Arc::new(set)));
        }
        Some(ValidatorSchedule { versions })
    }

    /// The set deciding `height`.
    pub fn at(&self, height: Height) -> &Arc<ValidatorSet> {
        let after = self.versions.partition_point(|(from, _)| *from <= height);
        // The genesis version is in force from height 0, so `after` is at least 1.
        &self.versions[after.saturating_sub(1)].1
    }

    /// Every version with its effective height, genesis first.
    pub fn versions(&self) -> &[(Height, Arc<ValidatorSet>)] {
        &self.versions
    }
}
