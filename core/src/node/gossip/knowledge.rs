//! What each connected peer is known to hold, so gossip does not send it what it has.

use std::collections::HashMap;

use super::fifo::{FifoMap, IdHashState};
use super::GossipConfig;
use crate::identity::ValidatorId;
use crate::message::MessageId;

/// Per message id, the set of connected peers known to hold it: they sent us the message, announced
/// it in a `Have`, or we sent it to them.
///
/// Stored by id, not by peer: the node asks about one id for all its peers at once (whom to forward
/// to, whom to announce to), and marks one id for many peers (a broadcast, a forward), so each of
/// those costs one lookup of the id instead of one per peer, and a node keeps one map instead of one
/// per peer.
///
/// Knowledge only saves sends, so every bound errs toward sending again: at most `max_ids` ids (the
/// oldest forgotten first, for every peer at once), at most `max_peers` peers (marks for further
/// peers are ignored). The node calls [`forget_peer`](Self::forget_peer) when a peer disconnects:
/// after a reconnect, a peer may have lost what it held (a restart), so nothing about it is assumed.
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
    slots: Slots,
    ids: FifoMap<MessageId, PeerSet>,
    max_ids: usize,
    peak_ids: usize,
}

/// The tracked peers' positions in every [`PeerSet`].
#[derive(Debug)]
struct Slots {
    /// Never iterated, so hash order is unobservable; hashed, because every forward and digest asks
    /// about each of up to a hundred peers (a B-tree's 32-byte compares showed in profiles).
    by_peer: HashMap<ValidatorId, usize, IdHashState>,
    /// Each position's peer: stale for a free position, which no set holds.
    peers: Vec<ValidatorId>,
    /// Positions of forgotten peers, cleared in every set, for the next peers to take.
    free: Vec<usize>,
    /// Ids each position's peer is known to hold, for [`PeerKnowledge::len_of`].
    counts: Vec<usize>,
    max_peers: usize,
}

impl PeerKnowledge {
    /// Empty knowledge of at most `max_ids` ids (at least 1), for at most `max_peers` peers.
    pub fn new(max_ids: usize, max_peers: usize) -> Self {
        PeerKnowledge {
            slots: Slots {
                by_peer: HashMap::default(),
                peers: Vec::new(),
                free: Vec::new(),
                counts: Vec::new(),
                max_peers,
            },
            ids: FifoMap::new(),
            max_ids: max_ids.max(1),
            peak_ids: 0,
        }
    }

    /// Empty knowledge with the bounds of `config`.
    pub fn from_config(config: &GossipConfig) -> Self {
        Self::new(config.knowledge_max_ids, config.knowledge_max_peers)
    }

    /// Records that `peer` holds message `id`; a new id beyond the bound forgets the oldest one.
    /// Ignored when `max_peers` other peers are already tracked.
    pub fn mark(&mut self, peer: ValidatorId, id: MessageId) {
        self.mark_peers(&[peer], id);
    }

    /// [`mark`](Self::mark)s every id of `ids` as held by `peer`: for a `Have` received.
    pub fn mark_ids(&mut self, peer: ValidatorId, ids: &[MessageId]) {
        ids.iter().for_each(|id| self.mark(peer, *id));
    }

    /// [`mark`](Self::mark)s `id` as held by every peer of `peers`: for an envelope sent to them.
    pub fn mark_peers(&mut self, peers: &[ValidatorId], id: MessageId) {
        // Marking a known id again adds peers without moving it in the eviction order.
        if let Some(set) = self.ids.get_mut(&id) {
            self.slots.add(set, peers);
            return;
        }
        let mut set = PeerSet::default();
        self.slots.add(&mut set, peers);
        if set.is_empty() {
            return;
        }
        self.ids.insert(id, set);
        if self.ids.len() > self.max_ids {
            if let Some((_, forgotten)) = self.ids.pop_oldest() {
                forgotten.slots().for_each(|slot| self.slots.counts[slot] -= 1);
            }
        }
        self.peak_ids = self.peak_ids.max(self.ids.len());
    }

    /// The most ids remembered at once so far: at most `max_ids`.
    pub fn peak_ids(&self) -> usize {
        self.peak_ids
    }

    /// Whether `peer` is known to hold message `id`.
    pub fn knows(&self, peer: &ValidatorId, id: &MessageId) -> bool {
        self.holders(id).contains(peer)
    }

    /// The peers known to hold `id`, looked up once for questions about many peers.
    pub fn holders(&self, id: &MessageId) -> Holders<'_> {
        Holders { slots: &self.slots, set: self.ids.get(id) }
    }

    /// Forgets everything about `peer`: call it when the peer disconnects. Costs one pass over the
    /// ids remembered.
    pub fn forget_peer(&mut self, peer: &ValidatorId) {
        let Some(slot) = self.slots.by_peer.remove(peer) else { return };
        self.ids.retain(|_, set| {
            set.remove(slot);
            !set.is_empty()
        });
        self.slots.counts[slot] = 0;
        self.slots.free.push(slot);
    }

    /// Ids remembered for `peer`.
    pub fn len_of(&self, peer: &ValidatorId) -> usize {
        self.slots.by_peer.get(peer).map_or(0, |slot| self.slots.counts[*slot])
    }

    /// Peers tracked.
    pub fn peer_count(&self) -> usize {
        self.slots.by_peer.len()
    }
}

/// The peers known to hold one message ([`PeerKnowledge::holders`]).
#[derive(Clone, Copy, Debug)]
pub struct Holders<'a> {
    slots: &'a Slots,
    set: Option<&'a PeerSet>,
}

impl Holders<'_> {
    /// Whether `peer` is known to hold the message.
    pub fn contains(&self, peer: &ValidatorId) -> bool {
        self.set.is_some_and(|set| self.slots.by_peer.get(peer).is_some_and(|slot| set.contains(*slot)))
    }

    /// The peers known to hold the message, in no particular order: for a question about every
    /// connected peer, where a few holders checked against each beat a lookup per peer.
    pub fn peers(&self) -> impl Iterator<Item = ValidatorId> + '_ {
        self.set.into_iter().flat_map(|set| set.slots().map(|slot| self.slots.peers[slot]))
    }
}

impl Slots {
    /// Adds `peers` to `set`, counting each new membership; peers beyond the bound are skipped.
    fn add(&mut self, set: &mut PeerSet, peers: &[ValidatorId]) {
        for peer in peers {
            if let Some(slot) = self.slot_of(*peer) {
                if set.insert(slot) {
                    self.counts[slot] += 1;
                }
            }
        }
    }

    /// `peer`'s position, given one if it is new and the peer bound allows.
    fn slot_of(&mut self, peer: ValidatorId) -> Option<usize> {
        if let Some(slot) = self.by_peer.get(&peer) {
            return Some(*slot);
        }
        if self.by_peer.len() >= self.max_peers {
            return None;
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                self.peers[slot] = peer;
                slot
            }
            None => {
                self.counts.push(0);
                self.peers.push(peer);
                self.counts.len() - 1
            }
        };
        self.by_peer.insert(peer, slot);
        Some(slot)
    }
}

/// A set of peer positions: one word inline for the first 64 (a node's usual peers), words on the
/// heap beyond.
#[derive(Debug, Default)]
struct PeerSet {
    low: u64,
    high: Vec<u64>,
}

impl PeerSet {
    fn word_and_bit(slot: usize) -> (usize, u64) {
        (slot / 64, 1 << (slot % 64))
    }

    fn word(&self, index: usize) -> u64 {
        if index == 0 {
            self.low
        } else {
            self.high.get(index - 1).copied().unwrap_or(0)
        }
    }

    fn word_mut(&mut self, index: usize) -> &mut u64 {
        if index == 0 {
            return &mut self.low;
        }
        if self.high.len() < index {
            self.high.resize(index, 0);
        }
        &mut self.high[index - 1]
    }

    fn contains(&self, slot: usize) -> bool {
        let (index, bit) = Self::word_and_bit(slot);
        self.word(index) & bit != 0
    }

    /// Adds `slot`; whether it was absent.
    fn insert(&mut self, slot: usize) -> bool {
        let (index, bit) = Self::word_and_bit(slot);
        let word = self.word_mut(index);
        let absent = *word & bit == 0;
        *word |= bit;
        absent
    }

    fn remove(&mut self, slot: usize) {
        // Only a present slot is cleared, so removing never grows the heap words.
        if self.contains(slot) {
            let (index, bit) = Self::word_and_bit(slot);
            *self.word_mut(index) &= !bit;
        }
    }

    fn is_empty(&self) -> bool {
        self.low == 0 && self.high.iter().all(|word| *word == 0)
    }

    fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.low).chain(self.high.iter().copied()).enumerate().flat_map(|(index, mut word)| {
            std::iter::from_fn(move || {
                let bit = (word != 0).then(|| word.trailing_zeros() as usize)?;
                word &= word - 1;
                Some(index * 64 + bit)
            })
        })
    }
}
