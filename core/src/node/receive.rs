//! The receive path: verify → dedupe → deliver → forward, and gossip repair (`Have`/`Want`, digests).
//!
//! For an envelope from peer `from`:
//! 1. Already seen: count the duplicate (per message in the seen-cache, per peer and kind in the
//!    stats), note that `from` holds it, done. No signature check: the copy we verified is the one
//!    that counts.
//! 2. Otherwise judge it against the validator set in force at the message's height (address records:
//!    the current set): a height older than every kept set is dropped without blaming anyone; an
//!    origin outside the set, a bad signature, an undecodable payload or a payload naming another
//!    author is charged to `from` (counted, and reported as [`NodeEvent::PeerMisbehaved`], the hook
//!    for reputation scoring).
//! 3. Only then mark it seen and store it, deliver it to the engine, apply it if it is an address
//!    record, and forward it by [`GossipPolicy::plan_forward`](crate::node::gossip::GossipPolicy::plan_forward):
//!    the whole envelope to the fanout peers, its id (`Have`) to the announce peers.

use bytes::Bytes;

use super::actor::Actor;
use super::events::{Misbehaviour, NodeEvent};
use super::incoming::IncomingMessage;
use crate::identity::ValidatorId;
use crate::message::{ConsensusMessage, Envelope, Frame, MessageId};
use crate::node::gossip::{digest_carries, Arrival, CopyKind, Seen};
use crate::node::link::{InboundFrame, LinkEvent};
use crate::node::priority::{payload_kind, Priority};
use crate::node::reputation::PeerBehavior;

/// How an envelope came: gossip (a broadcast, forwarded and repaired by everyone) or point to point
/// (a `Reliable` frame from its sender to this validator alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Gossip,
    /// Delivered and acknowledged here, and not stored, announced or forwarded: it was meant for this
    /// validator only. Being marked seen, a gossiped copy of the same message arriving later counts as
    /// a duplicate (an engine that broadcasts a message and also sends it reliably loses nothing).
    PointToPoint,
}

impl Actor {
    pub(crate) fn on_link_event(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Frame(inbound) => self.on_frame(inbound),
            LinkEvent::Closed { link, peer, reason } => self.on_link_closed(link, peer, reason),
        }
    }

    fn on_frame(&mut self, inbound: InboundFrame) {
        let (from, received_at, wire_len) = (inbound.peer, inbound.received_at, inbound.wire_len);
        if !self.admit_frame(&inbound) {
            return;
        }
        match inbound.into_frame() {
            Frame::Envelope(envelope) => {
                self.on_envelope(envelope, from, received_at, wire_len, Route::Gossip);
            }
            Frame::Reliable(envelope) => {
                // Acknowledged once accepted or already held; a rejected envelope gets no receipt.
                if let Some(id) = self.on_envelope(envelope, from, received_at, wire_len, Route::PointToPoint) {
                    self.send_control(&from, &Frame::Ack { id });
                }
            }
            Frame::Have { ids } => self.on_have(from, &ids),
            Frame::Want { ids } => self.on_want(from, &ids),
            Frame::Prune { origin } => self.on_prune(from, origin),
            Frame::Ping { nonce } => {
                self.send_control(&from, &Frame::Pong { nonce });
            }
            Frame::Pong { nonce } => self.on_pong(from, nonce, received_at),
            Frame::Ack { id } => self.on_ack(from, id),
            // Links reassemble parts and never deliver one.
            Frame::Part { .. } => {}
        }
    }

    /// Handles one envelope; returns its id if it is accepted or was already held.
    fn on_envelope(
        &mut self,
        mut envelope: Envelope,
        from: ValidatorId,
        received_at: tokio::time::Instant,
        wire_len: usize,
        route: Route,
    ) -> Option<MessageId> {
        let id = envelope.id();
        let now = self.clock.now();
        let kind = payload_kind(&envelope.payload);
        if let Some(counters) = self.kind_counters(&from, kind) {
            counters.received += 1;
            counters.received_bytes += wire_len as u64;
        }
        if self.seen.contains(&id, now) || envelope.origin == self.me {
            if let Seen::Duplicate(_) = self.seen.record(id, now) {
                if let Some(counters) = self.kind_counters(&from, kind) {
                    counters.duplicates += 1;
                }
                // Parts reach a validator from each of their first-hop peers by design: not a tree edge.
                if route == Route::Gossip && kind != Some(crate::message::MessageKind::ProposalPart) {
                    // A redundant tree edge unless `from` is our parent for the origin (or the origin).
                    let copy =
                        if self.policy.answers_want(&id, &from) { CopyKind::Answer } else { CopyKind::Duplicate };
                    self.keep_parent(&envelope, from, copy);
                }
            }
            self.knowledge.mark(from, id);
            return Some(id);
        }
        let message = match self.judge(&id, &mut envelope) {
            Ok(Some(message)) => message,
            Ok(None) => {
                self.totals.stale += 1;
                return None;
            }
            Err(misbehaviour) => {
                tracing::debug!(peer = %from.short(), ?kind, ?misbehaviour, "invalid envelope dropped");
                if let Some(counters) = self.kind_counters(&from, kind) {
                    counters.invalid += 1;
                }
                self.emit(NodeEvent::PeerMisbehaved { peer: from, misbehaviour });
                return None;
            }
        };
        self.seen.record(id, now);
        self.knowledge.mark(from, id);
        self.report_behavior(from, PeerBehavior::ValidMessage);
        let requested = route == Route::PointToPoint || self.policy.asked(&id, &from);
        if self.screen_verified(&envelope, &message, from, requested) {
            return None;
        }
        let arrival = match route {
            Route::Gossip => self.keep_for_repair(&envelope, id, from, now),
            Route::PointToPoint => Arrival::Unrequested,
        };
        if let ConsensusMessage::AddressRecord(record) = &message {
            self.apply_address_record(record.clone());
        }
        if let ConsensusMessage::ProposalHeader(_) | ConsensusMessage::ProposalPart(_) = &message {
            let piece = IncomingMessage { message, id, origin: envelope.origin, from, received_at, arrival, envelope };
            self.on_proposal_piece(piece, route == Route::Gossip);
            return Some(id);
        }
        if route == Route::Gossip {
            self.forward(&envelope, id, from, kind);
        }
        match &message {
            ConsensusMessage::Heartbeat(heartbeat) => {
                self.on_heartbeat(heartbeat, from);
                return Some(id);
            }
            // Checked and reported by `screen_verified`; the engine learns of it as an event.
            ConsensusMessage::Evidence(_) => return Some(id),
            _ => {}
        }
        self.deliver(IncomingMessage { message, id, origin: envelope.origin, from, received_at, arrival, envelope });
        Some(id)
    }

    /// A new gossiped envelope: kept for repair and its origin's tree adjusted to how it came.
    /// Returns whether it came because we asked.
    fn keep_for_repair(
        &mut self,
        envelope: &Envelope,
        id: MessageId,
        from: ValidatorId,
        now: tokio::time::Instant,
    ) -> Arrival {
        self.store.insert_identified(id, envelope.clone());
        let faster = self.policy.faster_announcer(&id, from, now);
        let arrival = self.policy.on_envelope(&id);
        let swapped = faster.is_some_and(|parent| self.swap_parent(envelope.origin, id, from, parent, now));
        if !swapped {
            let copy = if arrival == (Arrival::Requested { asked: from }) { CopyKind::Answer } else { CopyKind::First };
            self.keep_parent(envelope, from, copy);
        }
        arrival
    }

    /// Verifies `envelope` (whose id is `id`) against the validator set in force at its message's height.
    ///
    /// `Ok(None)`: older than every kept set, dropped without blame.
    ///
    /// With a [`VerificationCache`](super::VerificationCache) (simulations only), a valid envelope's
    /// payload and signature come back pointing at the copy the cache recorded first.
    pub(crate) fn judge(
        &mut self,
        id: &MessageId,
        envelope: &mut Envelope,
    ) -> Result<Option<ConsensusMessage>, Misbehaviour> {
        let message = envelope.message().map_err(|_| Misbehaviour::UndecodablePayload)?;
        let set = match message.height() {
            Some(height) => match self.source.at_height(height) {
                Some(set) => set,
                None => return Ok(None),
            },
            None => self.set.clone(),
        };
        let key = set.public_key(&envelope.origin).ok_or(Misbehaviour::UnknownOrigin(envelope.origin))?;
        self.totals.verified += 1;
        let valid = match &self.verification_cache {
            Some(cache) => cache.verify_identified(self.chain, key, id, envelope),
            None => envelope.verify(self.chain, key).is_ok(),
        };
        if !valid {
            return Err(Misbehaviour::InvalidSignature);
        }
        let named = message.validator();
        if named != envelope.origin {
            return Err(Misbehaviour::AuthorMismatch { origin: envelope.origin, named });
        }
        Ok(Some(message))
    }

    /// Hands a verified message to the engine. The run loop only takes link events while the channel
    /// has room, so this never fails for lack of it.
    pub(crate) fn deliver(&mut self, message: IncomingMessage) {
        match self.incoming.try_send(message) {
            Ok(()) => self.totals.delivered += 1,
            Err(_) => self.totals.undeliverable += 1,
        }
    }

    /// Gossip: push the envelope along its origin's broadcast tree and announce its id to others.
    pub(crate) fn forward(
        &mut self,
        envelope: &Envelope,
        id: MessageId,
        from: ValidatorId,
        kind: Option<crate::message::MessageKind>,
    ) {
        let connected = self.connected();
        // Connected to every other validator of the set: a first-hand copy reached the others too.
        let full_view = connected.len() == self.peers.len();
        let plan = self.policy.plan_tree_forward(envelope, from, &connected, &self.knowledge, full_view, &mut self.rng);
        if !plan.push.is_empty() {
            let frame = Frame::Envelope(envelope.clone().with_ttl(plan.ttl));
            let priority = Priority::of(&frame);
            let bytes = Bytes::from(frame.encode());
            self.send_envelopes(&plan.push, bytes, priority, kind);
            self.knowledge.mark_peers(&plan.push, id);
        }
        if plan.announce_delay.is_zero() {
            for peer in &plan.announce {
                self.send_haves(peer, &[id]);
            }
        } else {
            self.policy.defer_announce(&self.me, &plan.announce, id, self.clock.now(), plan.announce_delay);
        }
    }

    /// Sends the announcements that waited their [`ForwardPlan::announce_delay`](crate::node::gossip::ForwardPlan::announce_delay),
    /// minus those their peer meanwhile showed it holds.
    pub(crate) fn send_due_announcements(&mut self) {
        for (peer, ids) in self.policy.due_announcements(self.clock.now(), &self.knowledge) {
            self.send_haves(&peer, &ids);
        }
    }

    fn on_have(&mut self, from: ValidatorId, ids: &[MessageId]) {
        if let Some(peer) = self.peers.get_mut(&from) {
            peer.stats.have_ids_received += ids.len() as u64;
        }
        let now = self.clock.now();
        let wanted = self.policy.on_have(from, ids, &self.seen, &self.store, &mut self.knowledge, now);
        self.send_wants(&from, &wanted);
    }

    /// Asks for the ids whose deferred wants are due ([`GossipConfig::want_delay`](crate::node::gossip::GossipConfig::want_delay)):
    /// those whose envelopes no push brought in the meantime.
    pub(crate) fn send_due_wants(&mut self) {
        let now = self.clock.now();
        for (peer, ids) in self.policy.due_wants(&self.seen, &self.store, now) {
            self.send_wants(&peer, &ids);
        }
    }

    /// Settles our parent for the envelope's origin after a copy from `from` (see
    /// [`GossipPolicy::on_copy`](crate::node::gossip::GossipPolicy::on_copy)) and prunes the edge it
    /// makes redundant. Our own messages coming back are always redundant.
    fn keep_parent(&mut self, envelope: &Envelope, from: ValidatorId, copy: CopyKind) {
        let origin = envelope.origin;
        let prune = if origin == self.me {
            (copy == CopyKind::Duplicate).then_some(from)
        } else {
            self.policy.on_copy(origin, from, copy)
        };
        if let Some(peer) = prune {
            self.send_control(&peer, &Frame::Prune { origin });
        }
    }

    /// Plumtree's optimisation: `faster` announced message `id` of `origin` well before `from` pushed it,
    /// so `faster` becomes our parent for `origin` (asked for `id`, it grafts us; its answer makes it
    /// our parent) and `from` is pruned. Returns whether it swapped.
    fn swap_parent(
        &mut self,
        origin: ValidatorId,
        id: MessageId,
        from: ValidatorId,
        faster: ValidatorId,
        now: tokio::time::Instant,
    ) -> bool {
        if from == origin || !self.policy.graft_parent(id, faster, now) {
            return false;
        }
        self.send_wants(&faster, &[id]);
        self.send_control(&from, &Frame::Prune { origin });
        true
    }

    pub(crate) fn send_wants(&mut self, to: &ValidatorId, ids: &[MessageId]) {
        for frame in Frame::wants(ids) {
            if self.send_control(to, &frame) {
                if let (Some(peer), Frame::Want { ids }) = (self.peers.get_mut(to), &frame) {
                    peer.stats.want_ids_sent += ids.len() as u64;
                }
            }
        }
    }

    fn on_want(&mut self, from: ValidatorId, ids: &[MessageId]) {
        if let Some(peer) = self.peers.get_mut(&from) {
            peer.stats.want_ids_received += ids.len() as u64;
        }
        for envelope in self.policy.answer_want(ids, &self.store) {
            let id = envelope.id();
            let kind = payload_kind(&envelope.payload);
            self.policy.on_pulled(from, envelope.origin);
            let own = envelope.origin == self.me;
            let frame = Frame::Envelope(envelope);
            let bytes = Bytes::from(frame.encode());
            if own && kind.is_some_and(crate::node::proposal_parts::driver::is_block_traffic) {
                self.totals.proposal_upload_bytes += bytes.len() as u64;
            }
            self.send_envelope(&from, bytes, Priority::of(&frame), kind);
            self.knowledge.mark(from, id);
        }
    }

    /// `from` had a message we pushed: announce, rather than push, that origin's messages to it.
    /// Prunes naming a validator outside the set are ignored, so a peer cannot fill the trees with
    /// made-up origins.
    fn on_prune(&mut self, from: ValidatorId, origin: ValidatorId) {
        if self.peers.contains_key(&origin) {
            self.policy.on_prune(from, origin);
        }
    }

    /// Queues for every connected peer a digest of the recent messages it is not known to hold and was
    /// not yet told about; every [`NodeConfig::full_digest_every`](super::NodeConfig::full_digest_every)
    /// ticks, also those it was told about.
    ///
    /// The ids join the peer's waiting announcements: they leave with the next envelope to the peer,
    /// or on their own half a digest interval later. Sent at the tick, the digests of validators
    /// started together all go out at one instant, a burst of frames (hundreds on a devnet in one
    /// process) that delays whatever is broadcast just then; riding with envelopes, they spread with
    /// the traffic and cost no frame of their own.
    pub(crate) fn send_digests(&mut self) {
        self.digest_ticks = self.digest_ticks.wrapping_add(1);
        let every = self.config.full_digest_every.max(1);
        let (now, wait) = (self.clock.now(), self.config.digest_interval / 2);
        let connected = self.connected();
        let recent = self.policy.digest_candidates(&self.store, &self.seen, now);
        for &peer in connected.iter() {
            // Each peer gets its full digest on a tick of its own (by its id), not all on the same one:
            // a full digest scans the whole store.
            if self.digest_ticks.wrapping_add(peer.spread()) % every == 0 {
                self.announced.forget_peer(&peer);
                self.policy.restart_digests(&peer);
            }
            for id in self.digest_ids(&peer, &recent, connected.len()) {
                self.policy.defer_announce(&self.me, &[peer], id, now, wait);
            }
        }
    }

    /// Sends `peer` the ids of recent messages it is not known to hold and was not yet told about.
    pub(crate) fn send_digest(&mut self, peer: &ValidatorId) {
        let recent = self.policy.digest_candidates(&self.store, &self.seen, self.clock.now());
        let ids = self.digest_ids(peer, &recent, self.connected().len());
        self.send_haves(peer, &ids);
    }

    /// The ids of `peer`'s digest ([`GossipPolicy::digest_for`](crate::node::gossip::GossipPolicy::digest_for)),
    /// those [`digest_carries`] picks for it among this node's `peers` linked peers in the peer's
    /// digest epoch, among `recent` ([`GossipPolicy::digest_candidates`](crate::node::gossip::GossipPolicy::digest_candidates)).
    fn digest_ids(&mut self, peer: &ValidatorId, recent: &[MessageId], peers: usize) -> Vec<MessageId> {
        let epoch = self.digest_ticks.wrapping_add(peer.spread()) / self.config.full_digest_every.max(1);
        let (me, fanout) = (self.me, self.config.gossip.digest_fanout);
        let (knowledge, announced) = (&self.knowledge, &self.announced);
        self.policy.digest_where(peer, recent, |id| {
            digest_carries(&me, peer, id, peers, fanout, u64::from(epoch))
                && !knowledge.knows(peer, id)
                && !announced.knows(peer, id)
        })
    }

    /// Announces `ids` to `peer`, in as few `Have` frames as fit them, and records what was sent.
    pub(crate) fn send_haves(&mut self, peer: &ValidatorId, ids: &[MessageId]) {
        for frame in Frame::haves(ids) {
            if let (true, Frame::Have { ids }) = (self.send_control(peer, &frame), &frame) {
                self.count_haves(peer, ids.len());
                self.announced.mark_ids(*peer, ids);
            }
        }
    }

    fn count_haves(&mut self, peer: &ValidatorId, ids: usize) {
        if let Some(state) = self.peers.get_mut(peer) {
            state.stats.have_ids_sent += ids as u64;
        }
    }
}
