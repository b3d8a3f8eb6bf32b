//! Tendermint's locking rules: what a validator may pre-vote for, given what it locked on.

use crate::message::{BlockHash, Round};

/// A block and the round in which it gathered 2/3 pre-votes (a "polka").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locked {
    /// The round of the polka.
    pub round: Round,
    /// The block.
    pub block: BlockHash,
}

/// The pre-vote for a valid proposal of `block` that claims a polka in `pol_round` (`None` for a
/// fresh block), given this validator's lock and whether it saw that polka itself.
///
/// - A fresh block: vote for it unless locked on another block.
/// - A re-proposed block with a polka in an earlier round this validator saw: vote for it if the lock
///   is no newer than that polka (a newer polka unlocks), or it is the locked block.
/// - Otherwise nil: a lock is only released by a newer polka, which is what makes two different
///   blocks unable to both gather 2/3 pre-commits at one height.
///
/// ```
/// use quorumnet::devnet::locking::{prevote_for, Locked};
/// use quorumnet::message::{BlockHash, Round};
///
/// let (a, b) = (BlockHash([1; 32]), BlockHash([2; 32]));
/// let lock = Some(Locked { round: Round(1), block: a });
/// assert_eq!(prevote_for(b, None, false, None), Some(b));
/// assert_eq!(prevote_for(b, None, false, lock), None); // locked on a
/// assert_eq!(prevote_for(b, Some(Round(2)), true, lock), Some(b)); // a newer polka for b unlocks
/// assert_eq!(prevote_for(b, Some(Round(0)), true, lock), None); // an older one does not
/// ```
pub fn prevote_for(
    block: BlockHash,
    pol_round: Option<Round>,
    saw_polka: bool,
    locked: Option<Locked>,
) -> Option<BlockHash> {
    let allowed = match (pol_round, locked) {
        (_, None) => pol_round.is_none() || saw_polka,
        (_, Some(lock)) if lock.block == block => true,
        (None, Some(_)) => false,
        (Some(pol), Some(lock)) => saw_polka && lock.round <= pol,
    };
    allowed.then_some(block)
}
