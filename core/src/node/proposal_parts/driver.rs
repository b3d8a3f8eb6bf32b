//! The node's glue for proposal parts: sending our own large proposal as a header and parts, and
//! feeding verified headers and parts from peers to the [`Assembly`](super::Assembly).

use bytes::Bytes;
use tokio::time::Instant;

use super::Step;
use crate::identity::ValidatorId;
use crate::message::{ConsensusMessage, Envelope, Frame, MessageId, MessageKind};
use crate::node::actor::Actor;
use crate::node::gossip::Arrival;
use crate::node::incoming::IncomingMessage;
use crate::node::priority::Priority;

/// What the node keeps with a header until its proposal completes: what the engine is handed then.
#[derive(Debug)]
pub(crate) struct HeldHeader {
    pub envelope: Envelope,
    pub id: MessageId,
    pub from: ValidatorId,
    pub arrival: Arrival,
}

/// The `replicas` peers (of `peers`, in id order) part `index` goes to first: consecutive from
/// `offset + index · replicas`, so the parts of one proposal fall on different peers while there are
/// enough of them. Empty without peers.
pub(crate) fn first_hop(peers: &[ValidatorId], offset: usize, index: usize, replicas: usize) -> Vec<ValidatorId> {
    if peers.is_empty() {
        return Vec::new();
    }
    let start = offset.wrapping_add(index.wrapping_mul(replicas));
    let mut chosen: Vec<ValidatorId> =
        (0..replicas.min(peers.len())).map(|k| peers[start.wrapping_add(k) % peers.len()]).collect();
    chosen.sort();
    chosen
}

/// Whether a message of `kind` is a proposal or a piece of one: what the proposer's upload counts.
pub(crate) fn is_block_traffic(kind: MessageKind) -> bool {
    matches!(kind, MessageKind::Proposal | MessageKind::ProposalHeader | MessageKind::ProposalPart)
}

/// Where a proposal's first part starts in the peer list: from its header's id, so proposals of one
/// proposer load different peers.
pub(crate) fn offset_of(header: &MessageId) -> usize {
    let bytes = header.as_bytes();
    usize::from(bytes[0]) << 8 | usize::from(bytes[1])
}

impl Actor {
    /// Sends our own large proposal: the header to every connected validator, each part to its
    /// first-hop peers only; all of them kept for repair like any envelope of ours.
    pub(crate) fn broadcast_proposal(&mut self, header: Envelope, parts: Vec<Envelope>) {
        self.totals.broadcast += 1;
        let offset = offset_of(&header.id());
        self.send_own(header, MessageKind::ProposalHeader);
        let connected = self.connected();
        let replicas = self.config.proposal_parts.replicas;
        let now = self.clock.now();
        for (index, part) in parts.into_iter().enumerate() {
            let id = part.id();
            self.seen.record(id, now);
            self.store.insert_identified(id, part.clone());
            let targets = first_hop(&connected, offset, index, replicas);
            self.push_part(part, id, &targets);
        }
    }

    /// Queues a part envelope to `peers` and notes they hold it.
    fn push_part(&mut self, part: Envelope, id: MessageId, peers: &[ValidatorId]) {
        if peers.is_empty() {
            return;
        }
        let own = part.origin == self.me;
        let frame = Frame::Envelope(part);
        let bytes = Bytes::from(frame.encode());
        let len = bytes.len() as u64;
        let reached = self.send_envelopes(peers, bytes, Priority::of(&frame), Some(MessageKind::ProposalPart));
        if own {
            self.totals.proposal_upload_bytes += reached as u64 * len;
        }
        self.knowledge.mark_peers(peers, id);
    }

    /// A verified header or part from `incoming.from` (the receive path has checked, stored and
    /// screened it); `gossip` unless it came point to point. Forwards it and delivers the proposal
    /// to the engine when this piece completes it.
    pub(crate) fn on_proposal_piece(&mut self, incoming: IncomingMessage, gossip: bool) {
        let IncomingMessage { message, envelope, id, from, received_at, arrival, .. } = incoming;
        let step = match message {
            ConsensusMessage::ProposalHeader(header) => {
                if gossip {
                    self.forward(&envelope, id, from, Some(MessageKind::ProposalHeader));
                }
                self.parts.on_header(header, HeldHeader { envelope, id, from, arrival })
            }
            ConsensusMessage::ProposalPart(part) => {
                let step = self.parts.on_part(part);
                if gossip && !matches!(step, Step::Refused) {
                    self.forward_part(envelope, id, from);
                }
                step
            }
            _ => return,
        };
        match step {
            Step::Complete(proposal, held) => self.deliver_assembled(*proposal, held, received_at),
            Step::Refused => {
                tracing::debug!(peer = %from.short(), "proposal piece not matching its header refused");
                self.totals.parts_refused += 1;
            }
            Step::Pending | Step::Ignored => {}
        }
    }

    fn deliver_assembled(&mut self, proposal: crate::message::Proposal, held: HeldHeader, received_at: Instant) {
        let HeldHeader { envelope, id, from, arrival } = held;
        let origin = envelope.origin;
        let message = ConsensusMessage::Proposal(proposal);
        self.deliver(IncomingMessage { message, envelope, id, origin, from, received_at, arrival });
    }

    /// A part pushed to us by its proposer goes on to every peer not known to hold it: the tree's
    /// second level. A part from anyone else was pushed by a first-hop peer to all its peers; with
    /// links to the whole set nothing is left to push (digests repair a lost copy), and otherwise it
    /// follows ordinary gossip.
    fn forward_part(&mut self, envelope: Envelope, id: MessageId, from: ValidatorId) {
        let connected = self.connected();
        if from != envelope.origin {
            if connected.len() < self.peers.len() {
                self.forward(&envelope, id, from, Some(MessageKind::ProposalPart));
            }
            return;
        }
        let Some(ttl) = envelope.ttl.checked_sub(1) else { return };
        let push: Vec<ValidatorId> = connected
            .iter()
            .copied()
            .filter(|peer| *peer != from && *peer != envelope.origin && !self.knowledge.knows(peer, &id))
            .collect();
        self.push_part(envelope.with_ttl(ttl), id, &push);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_one_proposal_go_to_different_first_hop_peers() {
        let peers: Vec<ValidatorId> = (0..99u8).map(|b| ValidatorId([b; 32])).collect();
        let chosen: Vec<Vec<ValidatorId>> = (0..18).map(|index| first_hop(&peers, 7, index, 2)).collect();
        assert!(chosen.iter().all(|c| c.len() == 2));
        let mut all: Vec<ValidatorId> = chosen.concat();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 36, "18 parts × 2 replicas on 36 distinct peers");
    }

    #[test]
    fn a_full_part_envelope_travels_as_one_link_frame() {
        use crate::identity::{ChainId, Keypair};
        use crate::message::{BlockHash, Height, Proposal, ProposalHeader, Round};
        use crate::node::link::PeerLinkConfig;

        let key = Keypair::from_seed(&[3; 32]);
        let part_size = super::super::PartsConfig::recommended().part_size;
        let proposal = Proposal {
            height: Height(u64::MAX),
            round: Round(u32::MAX),
            proposer: key.validator_id(),
            block_hash: BlockHash([1; 32]),
            pol_round: None,
            block: vec![0; 2 * part_size as usize],
        };
        let (_, parts) = ProposalHeader::split(&proposal, part_size);
        let part = ConsensusMessage::ProposalPart(parts[1].clone());
        let envelope = Envelope::sign_message(&key, ChainId::from_network_name("parts"), u64::MAX, 255, &part);
        // Larger, the link would split it: a vote could then wait behind two link parts, not one.
        assert!(Frame::Envelope(envelope).encode().len() <= PeerLinkConfig::recommended().part_size);
    }

    #[test]
    fn first_hop_wraps_and_never_repeats_a_peer_for_one_part() {
        let peers: Vec<ValidatorId> = (0..3u8).map(|b| ValidatorId([b; 32])).collect();
        assert_eq!(first_hop(&peers, 2, 0, 5).len(), 3);
        assert!(first_hop(&[], 0, 0, 2).is_empty());
    }
}
