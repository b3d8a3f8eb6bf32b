//! Recent verified envelopes, kept to answer `Want`s and to build `Have` digests.

use std::collections::BTreeMap;

use super::fifo::FifoMap;
use super::GossipConfig;
use crate::identity::ValidatorId;
use crate::message::{Envelope, MessageId, MessageKind};
use crate::node::priority::payload_kind;

/// Recent verified envelopes, bounded in entries and in bytes, oldest evicted first.
///
/// It answers repair requests ([`Frame::Want`](crate::message::Frame::Want)) and lists what this node
/// holds for digests ([`Frame::Have`](crate::message::Frame::Have)): a validator that missed messages
/// during a link reset, a partition or a late start gets the store's newest ids in the digest sent
/// when the link comes up (and periodically), and pulls the ones it lacks. What was evicted before it
/// asked is gone from this node; the engine's own catch-up (block sync) covers longer absences.
///
/// An envelope's size is [`MessageStore::footprint`]: its payload and signature plus a fixed allowance
/// for the rest. An envelope larger than the byte bound on its own is not stored. Insert only verified
/// envelopes: the store answers for what it sends.
///
/// Heartbeats are kept one per origin, the latest: each supersedes the one before, so an older one is
/// worth nothing to a peer that missed it. Otherwise, at 100 validators beating once a second,
/// heartbeats alone would evict a 4 096-entry store's votes within a minute. (They stay in digests:
/// pulling a missed heartbeat grafts its puller onto the origin's broadcast tree, which keeps the
/// trees short for the votes that follow.)
///
/// ```
/// use quorumnet_core::identity::{ChainId, Keypair};
/// use quorumnet_core::message::Envelope;
/// use quorumnet_core::node::gossip::MessageStore;
///
/// let key = Keypair::from_seed(&[5; 32]);
/// let chain = ChainId::from_network_name("devnet");
/// let mut store = MessageStore::new(2, 1 << 20);
/// let envelopes: Vec<_> = (1..=3).map(|seq| Envelope::sign(&key, chain, seq, 3, vec![seq as u8])).collect();
/// for envelope in &envelopes {
///     store.insert(envelope.clone());
/// }
/// // Bounded to two entries: the oldest went first, and digests list the newest first.
/// assert!(store.get(&envelopes[0].id()).is_none());
/// assert_eq!(store.recent_ids(10), vec![envelopes[2].id(), envelopes[1].id()]);
/// ```
#[derive(Debug)]
pub struct MessageStore {
    entries: FifoMap<MessageId, Envelope>,
    /// The id of the one heartbeat kept per origin (origins are verified validators: bounded by the
    /// set).
    heartbeats: BTreeMap<ValidatorId, MessageId>,
    /// Recently superseded heartbeats' ids and their origins, so a want for one is answered with the
    /// origin's newest ([`get_or_newer`](Self::get_or_newer)); at most [`Self::SUPERSEDED_KEPT`].
    superseded: FifoMap<MessageId, ValidatorId>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
    /// The most entries and bytes held at once.
    peak: (usize, usize),
}

impl MessageStore {
    /// Bytes counted per envelope on top of its payload and signature: origin, seq, ttl and bookkeeping.
    pub const ENTRY_OVERHEAD: usize = 128;

    /// Superseded heartbeat ids remembered (64 bytes each): a few per validator of a large set, so a
    /// want that crossed a newer heartbeat still finds its origin.
    pub const SUPERSEDED_KEPT: usize = 4096;

    /// An empty store of at most `max_entries` envelopes (at least 1) and `max_bytes` of footprint.
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        MessageStore {
            entries: FifoMap::new(),
            heartbeats: BTreeMap::new(),
            superseded: FifoMap::new(),
            peak: (0, 0),
            bytes: 0,
            max_entries: max_entries.max(1),
            max_bytes,
        }
    }

    /// An empty store with the bounds of `config`.
    pub fn from_config(config: &GossipConfig) -> Self {
        Self::new(config.store_max_entries, config.store_max_bytes)
    }

    /// What `envelope` counts against the byte bound.
    pub fn footprint(envelope: &Envelope) -> usize {
        envelope.payload.len() + envelope.sig.as_bytes().len() + Self::ENTRY_OVERHEAD
    }

    /// Keeps a verified envelope, evicting the oldest ones until both bounds hold. A heartbeat replaces
    /// its origin's previous one.
    ///
    /// Returns `false`, changing nothing, if the store already holds the message, the envelope alone
    /// exceeds the byte bound, or it is a heartbeat older (by sequence number) than the one held.
    pub fn insert(&mut self, envelope: Envelope) -> bool {
        self.insert_identified(envelope.id(), envelope)
    }

    /// [`insert`](Self::insert) for a caller that holds the envelope's id (`id` must be
    /// `envelope.id()`): saves hashing the payload again, once per node per message.
    pub fn insert_identified(&mut self, id: MessageId, envelope: Envelope) -> bool {
        debug_assert_eq!(id, envelope.id(), "the id given is the envelope's");
        let size = Self::footprint(&envelope);
        if size > self.max_bytes || self.entries.contains(&id) {
            return false;
        }
        if payload_kind(&envelope.payload) == Some(MessageKind::Heartbeat) {
            if let Some(held) = self.heartbeats.get(&envelope.origin).and_then(|held| self.entries.get(held)) {
                if held.seq > envelope.seq {
                    return false;
                }
            }
            if let Some(superseded) = self.heartbeats.insert(envelope.origin, id) {
                self.remove(&superseded);
                self.superseded.insert(superseded, envelope.origin);
                if self.superseded.len() > Self::SUPERSEDED_KEPT {
                    self.superseded.pop_oldest();
                }
            }
        }
        self.entries.insert(id, envelope);
        self.bytes += size;
        while self.entries.len() > self.max_entries || self.bytes > self.max_bytes {
            let (evicted_id, evicted) = self.entries.pop_oldest().expect("over a bound means non-empty");
            self.forget_heartbeat(&evicted_id, &evicted);
            self.bytes -= Self::footprint(&evicted);
        }
        self.peak = (self.peak.0.max(self.entries.len()), self.peak.1.max(self.bytes));
        true
    }

    /// The most entries and bytes held at once so far: within the bounds it was made with.
    pub fn peak(&self) -> (usize, usize) {
        self.peak
    }

    fn remove(&mut self, id: &MessageId) {
        if let Some(removed) = self.entries.remove(id) {
            self.bytes -= Self::footprint(&removed);
        }
    }

    fn forget_heartbeat(&mut self, id: &MessageId, envelope: &Envelope) {
        if self.heartbeats.get(&envelope.origin) == Some(id) {
            self.heartbeats.remove(&envelope.origin);
        }
    }

    /// The envelope of message `id`, if still held.
    pub fn get(&self, id: &MessageId) -> Option<&Envelope> {
        self.entries.get(id)
    }

    /// The envelope of message `id`, or, for a heartbeat superseded since, its origin's newest one:
    /// what a want for `id` is answered with. A peer that asks for an old heartbeat wants what it
    /// says (and the graft that pulling it makes), and the newer one says more.
    pub fn get_or_newer(&self, id: &MessageId) -> Option<&Envelope> {
        self.get(id).or_else(|| {
            let origin = self.superseded.get(id)?;
            self.heartbeats.get(origin).and_then(|newest| self.entries.get(newest))
        })
    }

    /// Whether message `id` is held.
    pub fn contains(&self, id: &MessageId) -> bool {
        self.entries.contains(id)
    }

    /// Up to `limit` ids of the held messages, newest first: the digest a peer pulls missed messages
    /// from. Chunk it into frames with [`Frame::haves`](crate::message::Frame::haves).
    pub fn recent_ids(&self, limit: usize) -> Vec<MessageId> {
        self.newest_ids().take(limit).collect()
    }

    /// The ids of the held messages, newest (most recently stored) first, lazily: a digest stops
    /// early.
    pub fn newest_ids(&self) -> impl Iterator<Item = MessageId> + '_ {
        self.entries.newest_first().map(|(id, _)| *id)
    }

    /// The id of `origin`'s latest heartbeat, if one is held: the smallest recent message of an
    /// origin, so the cheapest one to pull in order to graft a new parent for it.
    pub fn heartbeat_of(&self, origin: &ValidatorId) -> Option<MessageId> {
        self.heartbeats.get(origin).copied()
    }

    /// Envelopes held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total footprint of the held envelopes, at most the byte bound.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}
