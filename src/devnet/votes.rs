//! The votes of one height, counted by voting power.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use crate::identity::ValidatorId;
use crate::message::{BlockHash, Round};
use crate::node::vote_validator::Tally;
use crate::validator::ValidatorSet;

/// The two voting phases of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// First phase: a pre-vote.
    PreVote,
    /// Second phase: a pre-commit.
    PreCommit,
}

/// Pre-votes and pre-commits of one height, by round: each validator's vote toward each value it
/// voted for, per round and phase.
///
/// A validator that signs two different votes in one round and phase (an equivocator, proven or
/// not) counts toward each value it voted for, at most [`VALUES_PER_VOTER`] of them, and once toward
/// the power of "any vote". That is what keeps a polka countable by everyone: a validator locked on
/// a polka that an equivocator's vote completed is only released by a newer polka, so the others
/// must be able to count that vote too, even if they saw its conflicting twin first. It stays safe:
/// two quorums for different values share more than a third of the power, and honest validators
/// vote once. Rounds are bounded by the engine, which drops votes too far ahead of its round.
///
/// ```
/// use quorumnet::devnet::votes::{Phase, VoteBook};
/// use quorumnet::identity::Keypair;
/// use quorumnet::message::{BlockHash, Round};
/// use quorumnet::validator::{ValidatorInfo, ValidatorSet};
///
/// let ids: Vec<_> = (1..=4u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
/// let set = ValidatorSet::new(ids.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 1))).unwrap();
/// let mut book = VoteBook::default();
/// let (block, other) = (Some(BlockHash([1; 32])), Some(BlockHash([2; 32])));
/// for key in &ids[..3] {
///     book.record(&set, Phase::PreVote, Round(0), key.validator_id(), block);
/// }
/// assert!(book.tally(&set, Phase::PreVote, Round(0), block).is_supermajority());
/// assert!(!book.tally(&set, Phase::PreVote, Round(0), None).is_supermajority());
/// // The third voter also signs a vote for another block: it counts there, and once in "any".
/// assert!(book.record(&set, Phase::PreVote, Round(0), ids[2].validator_id(), other));
/// assert_eq!(book.tally(&set, Phase::PreVote, Round(0), other).power, 1);
/// assert_eq!(book.tally_any(&set, Phase::PreVote, Round(0)).power, 3);
/// ```
#[derive(Debug, Default)]
pub struct VoteBook {
    rounds: BTreeMap<Round, RoundVotes>,
}

/// The most values one validator's votes count toward in one round and phase. An honest validator
/// votes once; an equivocator's first few versions count, and the rest cannot grow the book.
pub const VALUES_PER_VOTER: usize = 4;

#[derive(Debug, Default)]
struct RoundVotes {
    prevotes: PhaseVotes,
    precommits: PhaseVotes,
}

/// One phase's votes of a round, with the power behind each value kept as votes come: a tally is
/// asked for after every vote, and recounting a hundred voters each time made counting quadratic.
#[derive(Debug, Default)]
struct PhaseVotes {
    /// The values each voter voted for.
    votes: BTreeMap<ValidatorId, Voted>,
    /// The power behind each value (nil for `None`).
    power: BTreeMap<Option<BlockHash>, u64>,
    /// The power of every voter, whatever its votes.
    any: u64,
}

/// One voter's values in a round and phase: its first inline (an honest voter's only one, so
/// recording it allocates nothing), any conflicting ones after it.
#[derive(Debug)]
struct Voted {
    first: Option<BlockHash>,
    conflicting: Vec<Option<BlockHash>>,
}

impl PhaseVotes {
    fn add(&mut self, voter: ValidatorId, block: Option<BlockHash>, power: u64) -> bool {
        match self.votes.entry(voter) {
            Entry::Vacant(entry) => {
                entry.insert(Voted { first: block, conflicting: Vec::new() });
                self.any += power;
            }
            Entry::Occupied(mut entry) => {
                let voted = entry.get_mut();
                if voted.first == block
                    || voted.conflicting.contains(&block)
                    || 1 + voted.conflicting.len() >= VALUES_PER_VOTER
                {
                    return false;
                }
                voted.conflicting.push(block);
            }
        }
        *self.power.entry(block).or_default() += power;
        true
    }
}

impl RoundVotes {
    fn phase(&self, phase: Phase) -> &PhaseVotes {
        match phase {
            Phase::PreVote => &self.prevotes,
            Phase::PreCommit => &self.precommits,
        }
    }
}

/// `power` out of `set`'s total.
fn tally_of(set: &ValidatorSet, power: u64) -> Tally {
    Tally { power, total_power: set.total_power(), quorum_power: set.quorum_power() }
}

impl VoteBook {
    /// Records `voter`'s `phase` vote in `round` for `block`, with its power in `set` (the set the
    /// votes are tallied against); `false` if it had already voted for `block` there, or for
    /// [`VALUES_PER_VOTER`] values.
    pub fn record(
        &mut self,
        set: &ValidatorSet,
        phase: Phase,
        round: Round,
        voter: ValidatorId,
        block: Option<BlockHash>,
    ) -> bool {
        let votes = self.rounds.entry(round).or_default();
        let phase_votes = match phase {
            Phase::PreVote => &mut votes.prevotes,
            Phase::PreCommit => &mut votes.precommits,
        };
        phase_votes.add(voter, block, set.power_of_one(&voter))
    }

    /// The power behind `block` (nil for `None`) in `phase` of `round`.
    pub fn tally(&self, set: &ValidatorSet, phase: Phase, round: Round, block: Option<BlockHash>) -> Tally {
        let power = self.rounds.get(&round).and_then(|v| v.phase(phase).power.get(&block).copied());
        tally_of(set, power.unwrap_or(0))
    }

    /// The power of every vote, whatever its value, in `phase` of `round`.
    pub fn tally_any(&self, set: &ValidatorSet, phase: Phase, round: Round) -> Tally {
        tally_of(set, self.rounds.get(&round).map_or(0, |v| v.phase(phase).any))
    }

    /// The block (not nil) holding a supermajority in `phase` of `round`, if any.
    pub fn supermajority_block(&self, set: &ValidatorSet, phase: Phase, round: Round) -> Option<BlockHash> {
        let votes = self.rounds.get(&round)?.phase(phase);
        votes.power.iter().find_map(|(block, power)| block.filter(|_| tally_of(set, *power).is_supermajority()))
    }

    /// Every validator that voted in `round`, in either phase.
    pub fn voters(&self, round: Round) -> BTreeSet<ValidatorId> {
        let votes = self.rounds.get(&round);
        votes.into_iter().flat_map(|v| v.prevotes.votes.keys().chain(v.precommits.votes.keys())).copied().collect()
    }

    /// The rounds with any vote, in order.
    pub fn rounds(&self) -> impl Iterator<Item = Round> + '_ {
        self.rounds.keys().copied()
    }
}
