use serde::{Deserialize, Serialize};

use crate::identity::{PublicKey, ValidatorId};
use crate::transport::PeerAddress;

/// Whether a validator's voting power counts toward quorums.
///
/// An [`Inactive`](ValidatorStatus::Inactive) validator stays in the set — it may still connect and its
/// signatures still verify against the set — but its power is ignored by
/// [`ValidatorSet::total_power`](super::ValidatorSet::total_power),
/// [`ValidatorSet::power_of`](super::ValidatorSet::power_of) and every threshold built on them. That is
/// how a chain models a jailed or unbonding validator without forgetting its key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValidatorStatus {
    /// Its power counts toward quorums.
    #[default]
    Active,
    /// Known, but its power counts toward nothing.
    Inactive,
}

/// One validator: its key, voting power, where to reach it and whether its power counts.
///
/// The id is always derived from [`public_key`](Self::public_key), never stored beside it, so an entry
/// cannot name one validator and carry another's key.
///
/// ```
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::validator::{ValidatorInfo, ValidatorStatus};
///
/// let key = Keypair::from_seed(&[7; 32]);
/// let info = ValidatorInfo::new(key.public_key().clone(), 10)
///     .with_addresses(vec!["mem://v7".parse().unwrap()]);
/// assert_eq!(info.id(), key.validator_id());
/// assert_eq!(info.counted_power(), 10);
/// assert_eq!(info.with_status(ValidatorStatus::Inactive).counted_power(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorInfo {
    /// The key its messages are signed with; the validator's id is derived from it.
    pub public_key: PublicKey,
    /// Its weight in quorums (stake, or 1 each for an unweighted set).
    pub voting_power: u64,
    /// Where it listens, one per transport it speaks; empty for a validator only reachable through a
    /// relay or by its own outbound connections.
    pub addresses: Vec<PeerAddress>,
    /// Whether its power counts toward quorums.
    pub status: ValidatorStatus,
}

impl ValidatorInfo {
    /// An active validator with no known addresses.
    pub fn new(public_key: PublicKey, voting_power: u64) -> Self {
        ValidatorInfo { public_key, voting_power, addresses: Vec::new(), status: ValidatorStatus::Active }
    }

    /// The same validator, reachable at `addresses`.
    #[must_use]
    pub fn with_addresses(mut self, addresses: Vec<PeerAddress>) -> Self {
        self.addresses = addresses;
        self
    }

    /// The same validator with `status`.
    #[must_use]
    pub fn with_status(mut self, status: ValidatorStatus) -> Self {
        self.status = status;
        self
    }

    /// BLAKE3-256 of the public key encoding.
    pub fn id(&self) -> ValidatorId {
        self.public_key.validator_id()
    }

    /// Whether its power counts toward quorums.
    pub fn is_active(&self) -> bool {
        self.status == ValidatorStatus::Active
    }

    /// The power it contributes to quorums: its voting power when active, zero otherwise.
    pub fn counted_power(&self) -> u64 {
        if self.is_active() {
            self.voting_power
        } else {
            0
        }
    }
}
