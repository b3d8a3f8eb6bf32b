use serde::{Deserialize, Serialize};

use super::ValidatorInfo;
use crate::identity::ValidatorId;
use crate::message::Height;

/// A versioned update to the validator set: the chain's joins, leaves and power changes, in force from
/// `effective_height` on.
///
/// Apply it with [`ValidatorSet::apply`](super::ValidatorSet::apply), or push it onto a
/// [`ValidatorSetHistory`](super::ValidatorSetHistory), which also checks the height.
/// A change names each validator at most once, so the order of `updates` never changes its meaning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSetChange {
    /// The first height judged against the resulting set.
    pub effective_height: Height,
    /// What changes; everyone not named keeps their entry.
    pub updates: Vec<ValidatorUpdate>,
}

/// One validator's part of a [`ValidatorSetChange`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValidatorUpdate {
    /// Adds the validator, or replaces its whole entry (power, addresses, status) if already present.
    Upsert(ValidatorInfo),
    /// Drops the validator; it must be in the set the change is applied to.
    Remove(ValidatorId),
}

impl ValidatorUpdate {
    /// The validator this update is about.
    pub fn id(&self) -> ValidatorId {
        match self {
            ValidatorUpdate::Upsert(info) => info.id(),
            ValidatorUpdate::Remove(id) => *id,
        }
    }
}

impl ValidatorSetChange {
    /// A change taking effect at `effective_height`.
    pub fn new(effective_height: Height, updates: Vec<ValidatorUpdate>) -> Self {
        ValidatorSetChange { effective_height, updates }
    }
}
