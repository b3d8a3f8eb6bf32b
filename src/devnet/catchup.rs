//! Catching up: how a validator that fell behind (crashed, cut off) learns the blocks it missed.
//!
//! Validators do not broadcast `Commit` on the normal path — the 2/3 pre-commits already tell every
//! live validator the decision. `Commit` is the catch-up message:
//!
//! 1. A validator ahead sees a vote, proposal or `Commit` from a validator at a height it committed a
//!    while ago ([`CatchUpConfig::grace`]: late votes right after a decision are normal, not a sign of
//!    a validator left behind). It sends that validator its own `Commit` for that height and the next
//!    [`CatchUpConfig::batch`] - 1 it has, by reliable delivery (acknowledged by the validator behind
//!    itself, retransmitted across resets, and costing nobody else anything), at most once per
//!    validator and height per grace period ([`ServeSchedule`]).
//! 2. The validator behind collects them ([`CommitCertificates`]); once validators with 2/3 of the
//!    voting power signed a `Commit` for one block at its height (a commit certificate: at least one
//!    honest validator committed it, and honest validators commit only decided blocks), it adopts
//!    that block and moves to the next height. Its next vote (at worst a nil pre-vote after the
//!    propose timeout) tells the others where it is now, so they serve the next batch.
//!
//! A `Commit` is not itself taken as a sign of where its sender is: validators ahead re-broadcast
//! `Commit`s for old heights, and treating those as "behind" would make every validator serve every
//! other's catch-up.
//!
//! The gossip layer's have/want repair complements this for messages of the current height.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::identity::ValidatorId;
use crate::message::{BlockHash, Height, Round};
use crate::node::vote_validator::Tally;
use crate::validator::ValidatorSet;

/// Catch-up's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatchUpConfig {
    /// Heights served per request: a validator behind by more catches up in steps of this many.
    pub batch: u64,
    /// How long after committing a height a validator still at it counts as behind, and how often one
    /// height is served at most.
    pub grace: Duration,
    /// `Commit`s are collected for heights up to this far ahead of the engine's; further ones are
    /// dropped (a byzantine peer cannot fill memory with certificates for far-future heights).
    pub window: u64,
}

impl CatchUpConfig {
    /// Batches of 16 heights, served again after a second.
    pub fn recommended() -> Self {
        CatchUpConfig { batch: 16, grace: Duration::from_secs(1), window: 64 }
    }
}

/// `Commit` messages for heights the engine has not finished, by height and block.
///
/// ```
/// use quorumnet::devnet::catchup::CommitCertificates;
/// use quorumnet::identity::Keypair;
/// use quorumnet::message::{BlockHash, Height, Round};
/// use quorumnet::validator::{ValidatorInfo, ValidatorSet};
///
/// let keys: Vec<_> = (1..=4u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
/// let set = ValidatorSet::new(keys.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 1))).unwrap();
/// let mut certs = CommitCertificates::default();
/// let block = BlockHash([5; 32]);
/// for key in &keys[..2] {
///     certs.record(Height(3), Round(1), block, key.validator_id());
/// }
/// assert_eq!(certs.certified(&set, Height(3)), None); // 2 of 4 is not 2/3
/// certs.record(Height(3), Round(1), block, keys[2].validator_id());
/// assert_eq!(certs.certified(&set, Height(3)), Some((block, Round(1))));
/// ```
#[derive(Debug, Default)]
pub struct CommitCertificates {
    /// Per height, each validator's first `Commit`: its block and round. One entry per validator and
    /// height bounds what a byzantine validator can make this hold.
    heights: BTreeMap<Height, BTreeMap<ValidatorId, (BlockHash, Round)>>,
}

impl CommitCertificates {
    /// Records that `validator` committed `block` at `height`, decided in `round` (its first
    /// `Commit` for a height counts).
    pub fn record(&mut self, height: Height, round: Round, block: BlockHash, validator: ValidatorId) {
        self.heights.entry(height).or_default().entry(validator).or_insert((block, round));
    }

    /// The block validators with 2/3 of `set`'s power committed at `height`, and its round, if any.
    pub fn certified(&self, set: &ValidatorSet, height: Height) -> Option<(BlockHash, Round)> {
        let commits = self.heights.get(&height)?;
        let blocks: BTreeSet<(BlockHash, Round)> = commits.values().copied().collect();
        blocks.into_iter().find(|(block, _)| {
            let voters = commits.iter().filter(|(_, (b, _))| b == block).map(|(id, _)| id);
            Tally::count(set, voters).is_supermajority()
        })
    }

    /// Forgets heights below `height` (finished).
    pub fn forget_below(&mut self, height: Height) {
        self.heights = self.heights.split_off(&height);
    }
}

/// When this validator last served each validator each height, so a burst of signals from a
/// validator behind costs one `Commit` per height per grace period.
#[derive(Debug, Default)]
pub struct ServeSchedule {
    served: BTreeMap<(ValidatorId, Height), Instant>,
}

impl ServeSchedule {
    /// The heights of `wanted` to serve `validator` now (not served to it within `grace`), marked
    /// served at `now`.
    pub fn take(
        &mut self,
        validator: ValidatorId,
        wanted: impl Iterator<Item = Height>,
        now: Instant,
        grace: Duration,
    ) -> Vec<Height> {
        // Entries older than the grace period decide nothing: dropping them keeps the map bounded by
        // what can be served in one grace period.
        self.served.retain(|_, at| now.duration_since(*at) < grace);
        let due: Vec<Height> = wanted.filter(|height| !self.served.contains_key(&(validator, *height))).collect();
        self.served.extend(due.iter().map(|height| ((validator, *height), now)));
        due
    }
}
