//! The votes of one height, counted by voting power.

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

/// Pre-votes and pre-commits of one height, by round, each validator's first vote per round and phase.
///
/// A second, different vote from the same validator in the same round and phase is ignored here:
/// the first one counts until the node proves the validator equivocated; then the engine
/// [`forget`](VoteBook::forget)s all its votes. Rounds are bounded by the engine, which drops votes too far ahead of its round.
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
/// let block = Some(BlockHash([1; 32]));
/// for key in &ids[..3] {
///     book.record(&set, Phase::PreVote, Round(0), key.validator_id(), block);
/// }
/// assert!(book.tally(&set, Phase::PreVote, Round(0), block).is_supermajority());
/// assert!(!book.tally(&set, Phase::PreVote, Round(0), None).is_supermajority());
/// ```
#[derive(Debug, Default)]
pub struct VoteBook {
    rounds: BTreeMap<Round, RoundVotes>,
}

#[derive(Debug, Default)]
struct RoundVotes {
    prevotes: PhaseVotes,
    precommits: PhaseVotes,
}

/// One phase's votes of a round, with the power behind each value kept as votes come: a tally is
/// asked for after every vote, and recounting a hundred voters each time made counting quadratic.
#[derive(Debug, Default)]
struct PhaseVotes {
    /// Each voter's vote and power.
    votes: BTreeMap<ValidatorId, (Option<BlockHash>, u64)>,
    /// The power behind each value (nil for `None`).
    power: BTreeMap<Option<BlockHash>, u64>,
    /// The power of every vote, whatever its value.
    any: u64,
}

impl PhaseVotes {
    fn add(&mut self, voter: ValidatorId, block: Option<BlockHash>, power: u64) -> bool {
        if self.votes.contains_key(&voter) {
            return false;
        }
        self.votes.insert(voter, (block, power));
        *self.power.entry(block).or_default() += power;
        self.any += power;
        true
    }

    fn remove(&mut self, voter: &ValidatorId) {
        if let Some((block, power)) = self.votes.remove(voter) {
            *self.power.entry(block).or_default() -= power;
            self.any -= power;
        }
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
    /// Records `voter`'s `phase` vote in `round`, with its power in `set` (the set the votes are
    /// tallied against); `false` if it had already voted there.
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
        phase_votes.add(voter, block, set.power_of([&voter]))
    }

    /// Forgets every vote of `voter` (proven byzantine): none of them counts any more.
    pub fn forget(&mut self, voter: &ValidatorId) {
        for votes in self.rounds.values_mut() {
            votes.prevotes.remove(voter);
            votes.precommits.remove(voter);
        }
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
