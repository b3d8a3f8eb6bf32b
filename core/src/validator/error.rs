use crate::identity::ValidatorId;
use crate::message::Height;

/// Why a validator set, a change to one, or a history update was refused.
///
/// Every variant leaves the previous set (or history) untouched: a refused update never half-applies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorSetError {
    /// A set with no validators at all.
    #[error("validator set is empty: list at least one active validator with non-zero voting power")]
    Empty,
    /// Every listed validator is inactive: no power could ever reach a quorum.
    #[error("validator set has no active voting power: mark at least one validator with non-zero power Active")]
    NoActivePower,
    /// Two entries derive the same id, i.e. carry the same public key.
    #[error("validator {id} is listed twice: give each public key exactly one entry")]
    DuplicateValidator {
        /// The repeated id.
        id: ValidatorId,
    },
    /// An active validator with zero voting power: it could be counted as present yet add nothing to
    /// any quorum, which is almost always a mistaken entry.
    #[error("active validator {id} has zero voting power: give it power, mark it Inactive, or remove it")]
    ZeroPowerActive {
        /// The offending validator.
        id: ValidatorId,
    },
    /// The voting power of all listed validators does not fit in a `u64`.
    #[error("total voting power of the set exceeds u64::MAX ({}): scale the powers down", u64::MAX)]
    TotalPowerOverflow,
    /// A change removes a validator that is not in the set it is applied to.
    #[error(
        "cannot remove validator {id}: it is not in the set; drop the Remove or apply the change to the right set"
    )]
    UnknownValidator {
        /// The id the change names.
        id: ValidatorId,
    },
    /// One change carries more than one update for the same validator, so its meaning would depend on
    /// update order.
    #[error("change names validator {id} more than once: merge its updates into one Upsert or one Remove")]
    ConflictingUpdates {
        /// The validator named twice.
        id: ValidatorId,
    },
    /// A version pushed to a history does not take effect strictly after the latest one.
    #[error(
        "validator set change effective at height {effective} does not follow the latest version (effective at \
         {latest}): effective heights must strictly increase"
    )]
    NonIncreasingHeight {
        /// The refused version's effective height.
        effective: Height,
        /// The latest kept version's effective height.
        latest: Height,
    },
}
