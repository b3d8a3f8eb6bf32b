//! Who proposes at a height and round: weighted round-robin over the validator set.

use crate::identity::ValidatorId;
use crate::message::{Height, Round};
use crate::validator::ValidatorSet;

/// The proposer of `height`/`round`: slot `(height + round) mod total power` of the validators laid
/// end to end in id order, each taking as many slots as it has voting power. With equal power this
/// is plain round-robin; every validator agrees without talking, and a round that fails moves to the
/// next validator, so a crashed proposer costs one round.
///
/// ```
/// use quorumnet::devnet::proposer::proposer;
/// use quorumnet::identity::Keypair;
/// use quorumnet::message::{Height, Round};
/// use quorumnet::validator::{ValidatorInfo, ValidatorSet};
///
/// let keys: Vec<Keypair> = (1..=3u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
/// let set = ValidatorSet::new(keys.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 1))).unwrap();
/// let first = proposer(&set, Height(1), Round(0));
/// assert_eq!(proposer(&set, Height(0), Round(1)), first);
/// assert_ne!(proposer(&set, Height(1), Round(1)), first);
/// ```
pub fn proposer(set: &ValidatorSet, height: Height, round: Round) -> ValidatorId {
    let total = set.total_power().max(1);
    let mut slot = height.0.wrapping_add(u64::from(round.0)) % total;
    let mut last = None;
    for info in set.iter().filter(|info| info.is_active()) {
        let power = info.counted_power();
        if slot < power {
            return info.id();
        }
        slot -= power;
        last = Some(info.id());
    }
    // Unreachable for a valid set (slots < total power); the last validator keeps it total.
    last.unwrap_or_else(|| set.ids().next().expect("a validator set is never empty"))
}
