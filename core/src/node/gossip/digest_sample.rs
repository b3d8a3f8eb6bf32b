//! Which peers a node's periodic digests tell about a message, when it has more peers than needed.

use crate::identity::ValidatorId;
use crate::message::MessageId;

/// Whether this node (`me`) names `id` in its digests to `peer`, one of its `peers` connected peers,
/// in digest epoch `epoch` (a new one with each full digest): always when `peers ≤ fanout`, else for
/// about `fanout` of them, a different pseudo-random choice per message, sender and epoch.
///
/// A digest is the repair path, for a node that missed a message every other holder could tell it
/// about. In a full mesh of N, announcing every id to every peer not known to hold it made each node
/// receive about N announcements per message — N² per message network-wide, most of the heartbeat
/// traffic at 100 validators. With a fanout `k`, a node that lacks a message still expects about `k`
/// announcements of it from the N−2 other holders (each choosing independently), and the next
/// epoch's choice is a fresh draw, so a message is not left unannounced to anyone for long.
///
/// ```
/// use quorumnet_core::identity::ValidatorId;
/// use quorumnet_core::message::MessageId;
/// use quorumnet_core::node::gossip::digest_carries;
///
/// let (me, id) = (ValidatorId([1; 32]), MessageId([7; 32]));
/// let peers: Vec<ValidatorId> = (10..110u8).map(|b| ValidatorId([b; 32])).collect();
/// let told = peers.iter().filter(|peer| digest_carries(&me, peer, &id, peers.len(), 8, 0)).count();
/// assert!((2..=20).contains(&told), "about 8 of 100: {told}");
/// assert!(digest_carries(&me, &peers[0], &id, 8, 8, 0), "with no more peers than the fanout, all");
/// ```
pub fn digest_carries(
    me: &ValidatorId,
    peer: &ValidatorId,
    id: &MessageId,
    peers: usize,
    fanout: usize,
    epoch: u64,
) -> bool {
    if peers <= fanout {
        return true;
    }
    let word = |bytes: &[u8; 32]| u64::from_le_bytes(bytes[..8].try_into().expect("8 of 32 bytes"));
    // Message ids are BLAKE3 outputs and validator ids hashes of keys: their first words are already
    // uniform, so a multiply-xorshift mix of the three and the epoch is enough to decorrelate them.
    let mut mix = word(&id.0) ^ word(&peer.0).rotate_left(21) ^ word(&me.0).rotate_left(42) ^ epoch.rotate_left(7);
    mix = (mix ^ (mix >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    mix = (mix ^ (mix >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    mix ^= mix >> 33;
    ((u128::from(mix) * peers as u128) >> 64) < fanout as u128
}
