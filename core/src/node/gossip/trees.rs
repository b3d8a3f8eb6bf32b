//! Per-origin broadcast trees (Plumtree-style): which peers get an origin's messages pushed whole
//! (eager) and which only get their ids (lazy).

use std::collections::BTreeMap;

use super::fifo::FifoMap;
use super::GossipConfig;
use crate::identity::ValidatorId;

/// How an origin's messages travel to one peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Push the whole envelope: the peer is our child in the origin's tree.
    Eager,
    /// Announce only the id (`Have`); the peer pulls it with `Want` if it lacks it.
    Lazy,
}

/// For each origin, the peers we push its messages to and those we only announce them to, and the
/// peer we expect its messages from (our parent).
///
/// Plumtree (Leitão, Pereira, Rodrigues, 2007), per origin, over the links a node already has:
/// - **Start.** The first time we forward an origin's message, the peers it is pushed to become
///   [`Mode::Eager`] and the peers it is announced to [`Mode::Lazy`] for that origin
///   ([`adopt`](Self::adopt)).
/// - **Prune.** A peer that receives from us, pushed, a message it already had sends a `Prune` for the
///   message's origin: it gets that origin's messages faster some other way, so we make it lazy
///   ([`prune`](Self::prune)). After an origin's first message, what stays eager is, per receiver,
///   the edge its first copy came by: a spanning tree of first arrivals, so later messages arrive
///   once each, along the paths that were fastest.
/// - **Graft.** A peer that pulls one of an origin's messages from us with `Want` evidently was not
///   reached by a push in time: it becomes eager for that origin ([`graft`](Self::graft)), repairing
///   the tree where a link died or an eager parent pruned it. If it was reached after all, its copy
///   from us is a duplicate and it prunes us again: trees adapt, they never lose a receiver.
///
/// - **Parent.** The receiving side of the same tree: per origin, the one peer whose pushes we keep
///   ([`parent`](Self::parent), [`set_parent`](Self::set_parent)): the sender of the first copy we
///   got, or of the answer to our last `Want`. A duplicate pushed by any other peer is pruned; one
///   from the parent is not, even when another copy came first. Pruning whichever copy came second
///   instead let per-message jitter prune one parent on one message and the other on the next,
///   leaving the receiver with none ([`GossipPolicy::on_copy`](super::GossipPolicy::on_copy)).
///
/// Bounded: at most `max_origins` origins (the oldest-created forgotten first; a forgotten origin
/// starts again) and `max_peers` peers per origin (marks for further peers are ignored, and an
/// unmarked peer is treated as lazy once the origin is known). Peers are in ordered maps, so every
/// list returned is sorted and deterministic. Everything about a peer is forgotten when it
/// disconnects ([`forget_peer`](Self::forget_peer)): its links, and so its best paths, may differ
/// when it is back.
///
/// ```
/// use quorumnet_core::identity::ValidatorId;
/// use quorumnet_core::node::gossip::{BroadcastTrees, Mode};
///
/// let (origin, a, b) = (ValidatorId([9; 32]), ValidatorId([1; 32]), ValidatorId([2; 32]));
/// let mut trees = BroadcastTrees::new(16, 16);
/// trees.adopt(origin, &[a, b], &[]);
/// trees.prune(origin, b); // b already had what we pushed
/// assert_eq!(trees.eager_peers(&origin), vec![a]);
/// trees.graft(origin, b); // b pulled a message we announced
/// assert_eq!(trees.mode(&origin, &b), Some(Mode::Eager));
/// ```
#[derive(Debug)]
pub struct BroadcastTrees {
    origins: FifoMap<ValidatorId, BTreeMap<ValidatorId, Mode>>,
    parents: FifoMap<ValidatorId, ValidatorId>,
    max_origins: usize,
    max_peers: usize,
}

impl BroadcastTrees {
    /// No trees yet; at most `max_origins` (at least 1) origins of at most `max_peers` peers each.
    pub fn new(max_origins: usize, max_peers: usize) -> Self {
        BroadcastTrees { origins: FifoMap::new(), parents: FifoMap::new(), max_origins: max_origins.max(1), max_peers }
    }

    /// No trees yet, with the bounds of `config`.
    pub fn from_config(config: &GossipConfig) -> Self {
        Self::new(config.tree_max_origins, config.knowledge_max_peers)
    }

    /// Whether `origin` has a tree: we forwarded one of its messages, or a peer pruned or grafted it.
    pub fn knows_origin(&self, origin: &ValidatorId) -> bool {
        self.origins.contains(origin)
    }

    /// How `origin`'s messages travel to `peer`, if decided.
    pub fn mode(&self, origin: &ValidatorId, peer: &ValidatorId) -> Option<Mode> {
        self.origins.get(origin).and_then(|peers| peers.get(peer)).copied()
    }

    /// The peers `origin`'s messages are pushed to, sorted.
    pub fn eager_peers(&self, origin: &ValidatorId) -> Vec<ValidatorId> {
        self.origins.get(origin).map_or_else(Vec::new, |peers| {
            peers.iter().filter(|(_, mode)| **mode == Mode::Eager).map(|(peer, _)| *peer).collect()
        })
    }

    /// Starts (or extends) `origin`'s tree from a forwarding decision: `pushed` become eager,
    /// `announced` lazy.
    pub fn adopt(&mut self, origin: ValidatorId, pushed: &[ValidatorId], announced: &[ValidatorId]) {
        pushed.iter().for_each(|peer| self.set(origin, *peer, Mode::Eager));
        announced.iter().for_each(|peer| self.set(origin, *peer, Mode::Lazy));
    }

    /// `peer` had a message of `origin` we pushed: announce that origin's messages to it from now on.
    pub fn prune(&mut self, origin: ValidatorId, peer: ValidatorId) {
        self.set(origin, peer, Mode::Lazy);
    }

    /// `peer` pulled a message of `origin` from us: push that origin's messages to it from now on.
    pub fn graft(&mut self, origin: ValidatorId, peer: ValidatorId) {
        self.set(origin, peer, Mode::Eager);
    }

    /// Our parent for `origin`, if we have one.
    pub fn parent(&self, origin: &ValidatorId) -> Option<ValidatorId> {
        self.parents.get(origin).copied()
    }

    /// Makes `peer` our parent for `origin` (at most `max_origins` parents, the oldest-set forgotten
    /// first).
    pub fn set_parent(&mut self, origin: ValidatorId, peer: ValidatorId) {
        if let Some(current) = self.parents.get_mut(&origin) {
            *current = peer;
            return;
        }
        while self.parents.len() >= self.max_origins {
            self.parents.pop_oldest();
        }
        self.parents.insert(origin, peer);
    }

    /// Forgets `peer` in every tree: call it when the peer disconnects.
    pub fn forget_peer(&mut self, peer: &ValidatorId) {
        self.parents.retain(|_, parent| parent != peer);
        // Each origin's map changes on its own, so the (unspecified) visiting order is unobservable.
        self.origins.retain(|_, peers| {
            peers.remove(peer);
            true
        });
    }

    /// Origins with a tree.
    pub fn origin_count(&self) -> usize {
        self.origins.len()
    }

    /// Peers with a mode in `origin`'s tree.
    pub fn peer_count(&self, origin: &ValidatorId) -> usize {
        self.origins.get(origin).map_or(0, BTreeMap::len)
    }

    fn set(&mut self, origin: ValidatorId, peer: ValidatorId, mode: Mode) {
        if !self.origins.contains(&origin) {
            while self.origins.len() >= self.max_origins {
                self.origins.pop_oldest();
            }
            self.origins.insert(origin, BTreeMap::new());
        }
        let Some(peers) = self.origins.get_mut(&origin) else { return };
        if peers.len() < self.max_peers || peers.contains_key(&peer) {
            peers.insert(peer, mode);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(b: u8) -> ValidatorId {
        ValidatorId([b; 32])
    }

    #[test]
    fn prune_and_graft_move_a_peer_between_eager_and_lazy() {
        let mut trees = BroadcastTrees::new(8, 8);
        assert!(!trees.knows_origin(&v(9)));
        trees.adopt(v(9), &[v(1), v(2)], &[v(3)]);
        assert_eq!(trees.eager_peers(&v(9)), vec![v(1), v(2)]);
        assert_eq!(trees.mode(&v(9), &v(3)), Some(Mode::Lazy));
        trees.prune(v(9), v(1));
        trees.graft(v(9), v(3));
        assert_eq!(trees.eager_peers(&v(9)), vec![v(2), v(3)]);
        // Trees are per origin.
        assert_eq!(trees.mode(&v(8), &v(2)), None);
        trees.prune(v(8), v(2));
        assert_eq!(trees.mode(&v(9), &v(2)), Some(Mode::Eager));
    }

    #[test]
    fn origins_and_peers_per_origin_are_bounded() {
        let mut trees = BroadcastTrees::new(2, 2);
        for origin in 10..15 {
            trees.adopt(v(origin), &[v(1), v(2), v(3)], &[]);
            assert!(trees.origin_count() <= 2);
            assert_eq!(trees.peer_count(&v(origin)), 2, "a third peer is not recorded");
        }
        assert!(trees.knows_origin(&v(14)) && trees.knows_origin(&v(13)) && !trees.knows_origin(&v(12)));
        // A peer already in a full tree can still change mode.
        trees.prune(v(14), v(1));
        assert_eq!(trees.mode(&v(14), &v(1)), Some(Mode::Lazy));
    }

    #[test]
    fn parents_are_bounded_and_forgotten_with_their_peer() {
        let mut trees = BroadcastTrees::new(2, 2);
        for origin in 10..13 {
            trees.set_parent(v(origin), v(1));
        }
        assert_eq!((trees.parent(&v(10)), trees.parent(&v(12))), (None, Some(v(1))));
        trees.set_parent(v(12), v(2));
        trees.forget_peer(&v(1));
        assert_eq!((trees.parent(&v(11)), trees.parent(&v(12))), (None, Some(v(2))));
    }

    #[test]
    fn a_disconnected_peer_is_forgotten_in_every_tree() {
        let mut trees = BroadcastTrees::new(8, 8);
        trees.adopt(v(9), &[v(1)], &[v(2)]);
        trees.adopt(v(8), &[v(2)], &[v(1)]);
        trees.forget_peer(&v(1));
        assert_eq!((trees.mode(&v(9), &v(1)), trees.mode(&v(8), &v(1))), (None, None));
        assert_eq!(trees.eager_peers(&v(8)), vec![v(2)]);
    }
}
