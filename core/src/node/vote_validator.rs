//! Remote vote validation (the seed's `RemoteVoteValidator`, DESIGN.md §5): is this vote really from a
//! validator in force at its height, and do the votes for a block add up to a supermajority of voting
//! power?

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::codec::CodecError;
use crate::identity::{ChainId, ValidatorId};
use crate::message::{BlockHash, ConsensusMessage, Envelope, EnvelopeError, Height, MessageId, MessageKind, Round};
use crate::validator::{ValidatorSet, ValidatorSetSource};

/// The phase a vote belongs to: votes of different phases never count together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VotePhase {
    /// A `PreVote`.
    PreVote,
    /// A `PreCommit`.
    PreCommit,
    /// A `Commit`.
    Commit,
}

/// What a vote is for: the quorum question [`RemoteVoteValidator::check_supermajority`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VoteTarget {
    /// The height voted at; selects the validator set.
    pub height: Height,
    /// The round voted in.
    pub round: Round,
    /// The phase.
    pub phase: VotePhase,
    /// The block voted for; `None` is a nil vote.
    pub block_hash: Option<BlockHash>,
}

/// A vote whose signature and origin were checked against the set in force at its height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedVote {
    /// The voter: the envelope's origin, equal to the validator the payload names.
    pub voter: ValidatorId,
    /// What it votes for.
    pub target: VoteTarget,
    /// The envelope's id.
    pub id: MessageId,
}

/// Why a vote was rejected. Everything from [`Forged`](Self::Forged) on is provable misbehaviour of the
/// envelope's origin (or of the peer that sent bytes it could not have verified); the first two are
/// not faults.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoteError {
    /// The message is not a vote (a proposal, heartbeat or address record): route it elsewhere.
    #[error("a {0:?} is not a vote: hand it to the component for its kind")]
    NotAVote(MessageKind),
    /// No validator set is kept for the vote's height (older than the source remembers): drop it
    /// without scoring anyone.
    #[error("no validator set is known for height {height}: the vote is too old to judge, drop it")]
    UnknownHeight {
        /// The vote's height.
        height: Height,
    },
    /// The payload does not decode as a consensus message: score the peer that sent it.
    #[error("vote payload does not decode: {0}")]
    Malformed(#[from] CodecError),
    /// The origin is not in the set in force at the vote's height: score the sender.
    #[error("{origin} is not a validator at height {height}: it cannot vote there")]
    UnknownOrigin {
        /// The envelope's origin.
        origin: ValidatorId,
        /// The vote's height.
        height: Height,
    },
    /// The origin is in the set but inactive (no voting power) at the vote's height.
    #[error("{origin} is inactive at height {height}: its votes carry no power")]
    InactiveOrigin {
        /// The envelope's origin.
        origin: ValidatorId,
        /// The vote's height.
        height: Height,
    },
    /// The signature does not verify with the origin's key at that height: a forgery or corruption.
    #[error("vote signature rejected: {0}")]
    Forged(#[from] EnvelopeError),
    /// The envelope's origin signed a vote naming another validator: an impersonation attempt.
    #[error("{origin} signed a vote in the name of {named}: impersonation")]
    Impersonation {
        /// The envelope's origin (the signer).
        origin: ValidatorId,
        /// The validator the vote names.
        named: ValidatorId,
    },
    /// A vote counted towards a target it is not for.
    #[error("a vote for {vote:?} was counted towards {target:?}: tally each target's votes separately")]
    WrongTarget {
        /// What the vote is for.
        vote: VoteTarget,
        /// What was being tallied.
        target: VoteTarget,
    },
}

/// The voting power behind one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tally {
    /// Power of the distinct voters (repeats counted once).
    pub power: u64,
    /// Total power of the set at the target's height.
    pub total_power: u64,
    /// The least power that is a supermajority: `⌊2·total/3⌋ + 1`.
    pub quorum_power: u64,
}

impl Tally {
    /// Counts `voters` against `set`: each distinct active voter's power once.
    pub fn count<'a>(set: &ValidatorSet, voters: impl IntoIterator<Item = &'a ValidatorId>) -> Self {
        Tally { power: set.power_of(voters), total_power: set.total_power(), quorum_power: set.quorum_power() }
    }

    /// Whether the power is strictly more than two thirds of the total.
    pub fn is_supermajority(&self) -> bool {
        self.power >= self.quorum_power
    }
}

/// Checks votes against the validator set in force at each vote's height.
///
/// ```
/// use std::sync::Arc;
/// use quorumnet_core::identity::{ChainId, Keypair};
/// use quorumnet_core::message::{BlockHash, ConsensusMessage, Envelope, Height, Round, Vote};
/// use quorumnet_core::node::vote_validator::RemoteVoteValidator;
/// use quorumnet_core::validator::{StaticValidatorSetSource, ValidatorInfo, ValidatorSet};
///
/// let chain = ChainId::from_network_name("devnet");
/// let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
/// let set = ValidatorSet::new(keys.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 1))).unwrap();
/// let validator = RemoteVoteValidator::new(chain, Arc::new(StaticValidatorSetSource::new(set)));
///
/// let votes: Vec<_> = keys[..3]
///     .iter()
///     .map(|key| {
///         let vote = Vote { height: Height(1), round: Round(0), validator: key.validator_id(), block_hash: Some(BlockHash([9; 32])) };
///         let envelope = Envelope::sign_message(key, chain, 1, 0, &ConsensusMessage::PreCommit(vote));
///         validator.verify(&envelope).unwrap()
///     })
///     .collect();
/// let tally = validator.check_supermajority(votes[0].target, &votes).unwrap();
/// assert!(tally.is_supermajority()); // 3 of 4
/// ```
#[derive(Clone)]
pub struct RemoteVoteValidator {
    chain: ChainId,
    source: Arc<dyn ValidatorSetSource>,
}

impl std::fmt::Debug for RemoteVoteValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteVoteValidator").field("chain", &self.chain).finish_non_exhaustive()
    }
}

impl RemoteVoteValidator {
    /// A validator for votes on `chain`, judged by `source`'s sets.
    pub fn new(chain: ChainId, source: Arc<dyn ValidatorSetSource>) -> Self {
        RemoteVoteValidator { chain, source }
    }

    /// Checks that `envelope` holds a vote (`PreVote`, `PreCommit` or `Commit`) signed by its origin,
    /// that the origin is an active validator of the set in force at the vote's height, and that the
    /// vote names its origin as the voter.
    ///
    /// # Errors
    /// A [`VoteError`] per failed check, in the order listed there (decode, kind, height, origin,
    /// signature, impersonation).
    pub fn verify(&self, envelope: &Envelope) -> Result<VerifiedVote, VoteError> {
        let message = envelope.message()?;
        let target = vote_target(&message).ok_or(VoteError::NotAVote(message.kind()))?;
        let set = self.set_at(target.height)?;
        let (origin, height) = (envelope.origin, target.height);
        let info = set.get(&origin).ok_or(VoteError::UnknownOrigin { origin, height })?;
        if !info.is_active() {
            return Err(VoteError::InactiveOrigin { origin, height });
        }
        envelope.verify(self.chain, &info.public_key)?;
        let named = message.validator();
        if named != origin {
            return Err(VoteError::Impersonation { origin, named });
        }
        Ok(VerifiedVote { voter: origin, target, id: envelope.id() })
    }

    /// The voting power behind `target` among `votes`, by the set in force at `target.height`: each
    /// distinct voter counts once, so repeated votes cannot inflate it.
    ///
    /// # Errors
    /// [`VoteError::UnknownHeight`] when no set is kept for the height; [`VoteError::WrongTarget`] when
    /// a vote is for another target (count each target's votes separately).
    pub fn check_supermajority(&self, target: VoteTarget, votes: &[VerifiedVote]) -> Result<Tally, VoteError> {
        if let Some(vote) = votes.iter().find(|vote| vote.target != target) {
            return Err(VoteError::WrongTarget { vote: vote.target, target });
        }
        let set = self.set_at(target.height)?;
        let voters: BTreeSet<&ValidatorId> = votes.iter().map(|vote| &vote.voter).collect();
        Ok(Tally::count(&set, voters))
    }

    fn set_at(&self, height: Height) -> Result<Arc<ValidatorSet>, VoteError> {
        self.source.at_height(height).ok_or(VoteError::UnknownHeight { height })
    }
}

/// What `message` votes for, if it is a vote.
fn vote_target(message: &ConsensusMessage) -> Option<VoteTarget> {
    let (phase, height, round, block_hash) = match message {
        ConsensusMessage::PreVote(v) => (VotePhase::PreVote, v.height, v.round, v.block_hash),
        ConsensusMessage::PreCommit(v) => (VotePhase::PreCommit, v.height, v.round, v.block_hash),
        ConsensusMessage::Commit(c) => (VotePhase::Commit, c.height, c.round, Some(c.block_hash)),
        _ => return None,
    };
    Some(VoteTarget { height, round, phase, block_hash })
}
