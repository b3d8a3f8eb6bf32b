//! The actor's side of the inbound rate limits: every frame a link hands the node passes
//! [`Actor::admit_frame`] before anything else is done with it (no decoding of its payload, no
//! signature check), so a flood costs this node a token-bucket lookup per frame and nothing it could
//! forward. What a limit drops is never queued: the link already applies backpressure, and the
//! dropped frame is counted ([`PeerStats::over_quota`](crate::node::PeerStats::over_quota)) and
//! charged to the peer that sent it ([`PeerBehavior::OverQuota`]).
//!
//! An envelope this node asked the peer for (an outstanding `Want`) passes whatever its bucket holds:
//! a repair answer is this node's own request, bounded by what it asked, and never the sender's fault.

use crate::message::Frame;
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
        if let Frame::Envelope(envelope) = &inbound.frame {
            if self.policy.asked(&envelope.id(), &from) {
                return true;
            }
        }
        if let Some(peer) = self.peers.get_mut(&from) {
            peer.stats.over_quota += 1;
        }
        tracing::trace!(peer = %from.short(), ?priority, "over quota: frame dropped");
        self.report_behavior(from, PeerBehavior::OverQuota);
        false
    }
}
