//! What each connected peer is known to hold, so gossip does not send it what it has.

use std::collections::BTreeMap;

use super::fifo::FifoMap;
use super::GossipConfig;
use crate::identity::ValidatorId;
use crate::message::MessageId;

/// Per connected peer, a bounded set of message ids the peer is known to hold: it sent us the message,
/// announced it in a `Have`, or we sent it to the peer.
///
/// Knowledge only saves sends, so every bound errs toward sending again: at most `max_ids_per_peer`
/// ids per peer (the oldest forgotten first), at most `max_peers` peers (marks for further peers are
/// ignored). The node calls [`forget_peer`](Self::forget_peer) when a peer disconnects: after a
/// reconnect, a peer may have lost what it held (a restart), so nothing about it is assumed.
///
/// ```
/// use quorumnet_core::identity::ValidatorId;
/// use quorumnet_core::message::MessageId;
/// use quorumnet_core::node::gossip::PeerKnowledge;
///
/// let (peer, id) = (ValidatorId([1; 32]), MessageId([2; 32]));
/// let mut knowledge = PeerKnowledge::new(100, 10);
/// knowledge.mark(peer, id);
/// assert!(knowledge.knows(&peer, &id));
/// knowledge.forget_peer(&peer);
/// assert!(!knowledge.knows(&peer, &id));
/// ```
#[derive(Debug)]
pub struct PeerKnowledge {
    /// Ordered, so anything iterating peers is deterministic.
    peers: BTreeMap<ValidatorId, FifoMap<MessageId, ()>>,
    max_ids_per_peer: usize,
    max_peers: usize,
}

impl PeerKnowledge {
    /// Empty knowledge of at most `max_ids_per_peer` ids (at least 1) for each of at most `max_peers`
    /// peers.
    pub fn new(max_ids_per_peer: usize, max_peers: usize) -> Self {
        PeerKnowledge { peers: BTreeMap::new(), max_ids_per_peer: max_ids_per_peer.max(1), max_peers }
    }

    /// Empty knowledge with the bounds of `config`.
    pub fn from_config(config: &GossipConfig) -> Self {
        Self::new(config.knowledge_max_ids_per_peer, config.knowledge_max_peers)
    }

    /// Records that `peer` holds message `id`, forgetting the peer's oldest id beyond the bound.
    /// Ignored when `max_peers` other peers are already tracked.
    pub fn mark(&mut self, peer: ValidatorId, id: MessageId) {
        if !self.peers.contains_key(&peer) && self.peers.len() >= self.max_peers {
            return;
        }
        let ids = self.peers.entry(peer).or_insert_with(FifoMap::new);
        if ids.contains(&id) {
            return;
        }
        ids.insert(id, ());
        if ids.len() > self.max_ids_per_peer {
            ids.pop_oldest();
        }
    }

    /// [`mark`](Self::mark)s every id of `ids` as held by `peer`: for a `Have` received.
    pub fn mark_ids(&mut self, peer: ValidatorId, ids: &[MessageId]) {
        ids.iter().for_each(|id| self.mark(peer, *id));
    }

    /// [`mark`](Self::mark)s `id` as held by every peer of `peers`: for an envelope sent to them.
    pub fn mark_peers(&mut self, peers: &[ValidatorId], id: MessageId) {
        peers.iter().for_each(|peer| self.mark(*peer, id));
    }

    /// Whether `peer` is known to hold message `id`.
    pub fn knows(&self, peer: &ValidatorId, id: &MessageId) -> bool {
        self.peers.get(peer).is_some_and(|ids| ids.contains(id))
    }

    /// Forgets everything about `peer`: call it when the peer disconnects.
    pub fn forget_peer(&mut self, peer: &ValidatorId) {
        self.peers.remove(peer);
    }

    /// Ids remembered for `peer`.
    pub fn len_of(&self, peer: &ValidatorId) -> usize {
        self.peers.get(peer).map_or(0, FifoMap::len)
    }

    /// Peers tracked.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }
}
