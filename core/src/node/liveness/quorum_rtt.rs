//! The quorum round trip: how long this node waits to hear back from validators holding a quorum of
//! the voting power, from the round trips it measured — what an engine's step timeouts should follow.

use std::time::Duration;

use super::RttEstimate;
use crate::identity::ValidatorId;
use crate::validator::ValidatorSet;

/// The round trip within which validators holding a quorum (more than 2/3) of `set`'s active voting
/// power answer `me`: sort the validators by their round-trip timeout ([`RttEstimate::timeout`],
/// `SRTT + 4·RTTVAR`; `me` itself at zero), add their power in that order, and return the timeout of
/// the validator that completes the quorum.
///
/// `None` while the measured validators (and `me`) do not hold a quorum: before the first pongs, or
/// while more than a third of the power is unlinked — a timeout derived from a minority would be a
/// guess, so the caller keeps its own.
///
/// `RTT + 4·RTTVAR` rather than SRTT: a timeout must cover the slow tail of the quorum's messages, and
/// RTTVAR grows at once when a link slows, so the estimate follows a slower network within a few pings
/// instead of the eight that SRTT needs.
///
/// ```
/// use std::time::Duration;
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::node::liveness::quorum_round_trip;
/// use quorumnet_core::validator::{ValidatorInfo, ValidatorSet};
///
/// let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
/// let set = ValidatorSet::new(keys.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 1))).unwrap();
/// let ids: Vec<_> = keys.iter().map(Keypair::validator_id).collect();
/// // Round-trip timeouts to the three others: 100, 200 and 900 ms. A quorum of 4 is 3: me + 100 + 200.
/// let timeouts = [(ids[1], 100), (ids[2], 200), (ids[3], 900)];
/// let rtt = |id: &_| timeouts.iter().find(|(v, _)| v == id).map(|(_, ms)| Duration::from_millis(*ms));
/// assert_eq!(quorum_round_trip(&set, ids[0], rtt), Some(Duration::from_millis(200)));
/// // Without the 200 ms validator's measurement, the quorum needs the slow one.
/// let rtt = |id: &_| (*id != ids[2]).then(|| rtt(id)).flatten();
/// assert_eq!(quorum_round_trip(&set, ids[0], rtt), Some(Duration::from_millis(900)));
/// ```
pub fn quorum_round_trip(
    set: &ValidatorSet,
    me: ValidatorId,
    round_trip_timeout: impl Fn(&ValidatorId) -> Option<Duration>,
) -> Option<Duration> {
    // `ids` and `iter` walk the same map in the same (id) order.
    let mut reached: Vec<(Duration, u64)> = set
        .ids()
        .zip(set.iter())
        .filter(|(_, info)| info.counted_power() > 0)
        .filter_map(|(id, info)| {
            let rtt = if id == me { Some(Duration::ZERO) } else { round_trip_timeout(&id) };
            rtt.map(|rtt| (rtt, info.counted_power()))
        })
        .collect();
    reached.sort_unstable();
    let mut power = 0u64;
    reached.into_iter().find_map(|(rtt, weight)| {
        power = power.saturating_add(weight);
        set.is_supermajority(power).then_some(rtt)
    })
}

/// [`quorum_round_trip`] over [`RttEstimate`]s: the per-validator value is
/// [`RttEstimate::timeout`].
pub fn quorum_round_trip_of(
    set: &ValidatorSet,
    me: ValidatorId,
    estimate: impl Fn(&ValidatorId) -> Option<RttEstimate>,
) -> Option<Duration> {
    quorum_round_trip(set, me, |id| estimate(id).map(|e| e.timeout()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Keypair;
    use crate::validator::ValidatorInfo;

    fn weighted(powers: &[u64]) -> (ValidatorSet, Vec<ValidatorId>) {
        let keys: Vec<Keypair> = (1..=powers.len() as u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
        let infos = keys.iter().zip(powers).map(|(k, p)| ValidatorInfo::new(k.public_key().clone(), *p));
        (ValidatorSet::new(infos).unwrap(), keys.iter().map(Keypair::validator_id).collect())
    }

    #[test]
    fn the_quorum_is_counted_by_voting_power_not_by_heads() {
        // me (power 1) + a heavy validator (power 5) of a total of 8: 6 > 16/3, a quorum at its 300 ms.
        let (set, ids) = weighted(&[1, 5, 1, 1]);
        let table = [(ids[1], 300u64), (ids[2], 10), (ids[3], 20)];
        let rtt = |id: &ValidatorId| table.iter().find(|(v, _)| v == id).map(|(_, ms)| Duration::from_millis(*ms));
        assert_eq!(quorum_round_trip(&set, ids[0], rtt), Some(Duration::from_millis(300)));
    }

    #[test]
    fn no_estimate_while_the_measured_validators_hold_no_quorum() {
        let (set, ids) = weighted(&[1, 1, 1, 1]);
        let only_one = |id: &ValidatorId| (*id == ids[1]).then_some(Duration::from_millis(50));
        assert_eq!(quorum_round_trip(&set, ids[0], only_one), None);
        assert_eq!(quorum_round_trip(&set, ids[0], |_| None), None);
    }

    #[test]
    fn a_node_outside_the_set_needs_a_quorum_of_others() {
        let (set, ids) = weighted(&[1, 1, 1, 1]);
        let outsider = ValidatorId([9; 32]);
        let ms =
            |id: &ValidatorId| ids.iter().position(|v| v == id).map(|i| Duration::from_millis(10 * (i as u64 + 1)));
        assert_eq!(quorum_round_trip(&set, outsider, ms), Some(Duration::from_millis(30)));
    }
}
