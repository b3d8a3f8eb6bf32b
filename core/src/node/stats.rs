//! The node's counters: per peer and per message kind, plus gossip's headline figures.

use std::collections::BTreeMap;

use crate::identity::ValidatorId;
use crate::message::MessageKind;
use crate::node::link::LinkStats;
use crate::node::reliable::ReliableStats;

/// Envelope counters for one message kind (at one peer, or over all peers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindCounters {
    /// Envelopes queued for sending (broadcast, forwarded, or answering a `Want`).
    pub sent: u64,
    /// Their encoded bytes.
    pub sent_bytes: u64,
    /// Envelopes received, whether new, duplicate or invalid.
    pub received: u64,
    /// Their bytes on the wire.
    pub received_bytes: u64,
    /// Received copies of messages already seen: the cost of redundancy.
    pub duplicates: u64,
    /// Received envelopes that failed verification (or named another author).
    pub invalid: u64,
    /// Envelopes not sent because the peer's queue was full.
    pub dropped: u64,
}

impl KindCounters {
    fn add(&mut self, other: &KindCounters) {
        self.sent += other.sent;
        self.sent_bytes += other.sent_bytes;
        self.received += other.received;
        self.received_bytes += other.received_bytes;
        self.duplicates += other.duplicates;
        self.invalid += other.invalid;
        self.dropped += other.dropped;
    }
}

/// Counters of one peer (a validator of the current set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Envelope counters by the kind of message they carry (`None`: a payload of unknown kind).
    pub kinds: BTreeMap<Option<MessageKind>, KindCounters>,
    /// `Have` ids sent to the peer.
    pub have_ids_sent: u64,
    /// `Have` ids received from it.
    pub have_ids_received: u64,
    /// `Want` ids sent to it.
    pub want_ids_sent: u64,
    /// `Want` ids received from it.
    pub want_ids_received: u64,
    /// Control frames (digests, wants, acks, pongs) not sent because the queue was full.
    pub control_dropped: u64,
    /// Times its link ended.
    pub disconnects: u64,
    /// Frames it sent dropped over its per-peer rate limit, and envelopes it signed dropped over its
    /// per-origin limit.
    pub over_quota: u64,
    /// Its current link's counters (frames and bytes per priority, queue depths), if connected. Boxed:
    /// the node keeps one `PeerStats` per validator of the set, and at a thousand validators per
    /// simulated process an inline 300-byte snapshot that is always `None` there cost 0.3 GB.
    pub link: Option<Box<LinkStats>>,
}

impl PeerStats {
    /// Envelope counters summed over kinds.
    pub fn total(&self) -> KindCounters {
        let mut total = KindCounters::default();
        self.kinds.values().for_each(|counters| total.add(counters));
        total
    }
}

/// The most entries (and bytes) each of a node's bounded gossip caches held at once
/// ([`GossipConfig`](super::gossip::GossipConfig)'s bounds cap them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CachePeaks {
    /// Repair store entries (`store_max_entries`).
    pub store_entries: usize,
    /// Repair store bytes (`store_max_bytes`).
    pub store_bytes: usize,
    /// Seen-cache ids (`seen_max_entries`).
    pub seen_entries: usize,
    /// Ids whose holders are known, the larger of the two knowledge maps (`knowledge_max_ids`).
    pub knowledge_ids: usize,
}

/// A snapshot of the node's counters, from [`Node::stats`](super::Node::stats).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Per peer of the current validator set (a peer's counters are dropped when it leaves).
    pub peers: BTreeMap<ValidatorId, PeerStats>,
    /// Messages this node broadcast.
    pub broadcast: u64,
    /// Messages delivered to the engine.
    pub delivered: u64,
    /// Verified messages not delivered because the engine dropped its receiver.
    pub undeliverable: u64,
    /// Messages dropped because their height is older than every validator set kept (nobody is
    /// blamed: DESIGN.md §2).
    pub stale: u64,
    /// Envelope signatures this node checked. Each envelope is verified at most once, however many
    /// peers forward it (copies are recognised by id first), so this is at most the envelopes
    /// received minus their duplicates.
    pub verified: u64,
    /// Bytes of this node's own proposals — whole, or headers and parts — queued to peers, answers to
    /// wants included: the proposer's upload per proposal.
    pub proposal_upload_bytes: u64,
    /// Proposal headers and parts refused for not matching their header (signed by their proposer).
    pub parts_refused: u64,
    /// Duplicates counted by the seen-cache since start: the headline cost of gossip.
    pub duplicates: u64,
    /// Verified messages currently held for repair.
    pub stored: usize,
    /// The most each bounded cache held at once: compare with the config's bounds.
    pub cache_peaks: CachePeaks,
    /// Ids asked for and not yet received.
    pub outstanding_wants: usize,
    /// Reliable delivery: sent, retransmitted, delivered, failed, timed out, refused acks.
    pub reliable: ReliableStats,
}

impl NodeStats {
    /// Envelope counters per kind, summed over peers.
    pub fn kinds(&self) -> BTreeMap<Option<MessageKind>, KindCounters> {
        let mut kinds: BTreeMap<Option<MessageKind>, KindCounters> = BTreeMap::new();
        for (kind, counters) in self.peers.values().flat_map(|peer| peer.kinds.iter()) {
            kinds.entry(*kind).or_default().add(counters);
        }
        kinds
    }

    /// Envelope counters summed over peers and kinds.
    pub fn total(&self) -> KindCounters {
        let mut total = KindCounters::default();
        self.peers.values().for_each(|peer| total.add(&peer.total()));
        total
    }
}
