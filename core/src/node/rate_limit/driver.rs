//! The actor's side of the inbound rate limits: every frame a link hands the node passes
//! [`Actor::admit_frame`] before anything else is done with it (no decoding of its payload, no
//! signature check), so a flood costs this node a token-bucket lookup per frame and nothing it could
//! forward. What a limit drops is never queued: the link already applies backpressure, and the
//! dropped frame is counted ([`PeerStats::over_quota`](crate::node::PeerStats::over_quota)) and
//! charged to the peer that sent it ([`PeerBehavior::OverQuota`]).
//!
//! An envelope this node asked the peer for (an outstanding `Want`) passes whatever its bucket holds:
//! a repair answer is this node's own request, bounded by what it asked, and never the sender's fault.
//! An envelope another validator signed, dropped over the forwarder's quota, is not charged to the
//! forwarder either: an honest relay passes on what it admitted from others, and the per-origin limit
//! ([`Actor::within_origin_quota`]) is what holds the signer of a flood to account.
//!
//! Per origin: a new, verified envelope that did not answer a want counts against its signer's
//! buckets ([`RateLimitConfig::origin_limits`](super::RateLimitConfig::origin_limits)); over them it
//! is dropped before it is stored, forwarded or delivered, and charged to the signer. A flood is
//! therefore contained at the first honest node it reaches.

use crate::identity::ValidatorId;
use crate::message::{Envelope, Frame, MessageKind};
use crate::node::actor::Actor;
use crate::node::link::InboundFrame;
use crate::node::priority::Priority;
use crate::node::reputation::PeerBehavior;

impl Actor {
    /// Whether to handle `inbound`: its peer is a current validator that is not banned (frames still
    /// in flight from one that left or was just banned are dropped), and the frame is within the
    /// peer's quota for its priority or answers a want of ours.
    pub(crate) fn admit_frame(&mut self, inbound: &InboundFrame) -> bool {
        let from = inbound.peer;
        if !self.peers.contains_key(&from) || self.is_banned(&from) {
            return false;
        }
        let priority = Priority::of(&inbound.frame);
        if self.limiter.admit(from, priority, inbound.wire_len as u64, self.clock.now()) {
            return true;
        }
        let relayed = match &inbound.frame {
            Frame::Envelope(envelope) if self.policy.asked(&envelope.id(), &from) => return true,
            Frame::Envelope(envelope) => envelope.origin != from,
            _ => false,
        };
        tracing::trace!(peer = %from.short(), ?priority, relayed, "over quota: frame dropped");
        self.over_quota(from, !relayed);
        false
    }

    /// Whether a verified new `envelope` carrying a message of `kind` is within its origin's quota
    /// (and if so, charged to it). Call it only for envelopes this node did not ask for.
    pub(crate) fn within_origin_quota(&mut self, envelope: &Envelope, kind: MessageKind) -> bool {
        let cost = (envelope.payload.len() + envelope.sig.as_bytes().len()) as u64;
        let priority = Priority::of_kind(kind);
        if self.origin_limiter.admit(envelope.origin, priority, cost, self.clock.now()) {
            return true;
        }
        tracing::trace!(origin = %envelope.origin.short(), ?priority, "origin over quota: envelope dropped");
        self.over_quota(envelope.origin, true);
        false
    }

    /// Counts a frame of `validator`'s dropped over quota, and charges it if it is `at_fault`.
    fn over_quota(&mut self, validator: ValidatorId, at_fault: bool) {
        if let Some(peer) = self.peers.get_mut(&validator) {
            peer.stats.over_quota += 1;
        }
        if at_fault {
            self.report_behavior(validator, PeerBehavior::OverQuota);
        }
    }
}
