use super::PeerBehavior;
use crate::identity::ValidatorId;
use crate::node::events::{Misbehaviour, NodeEvent};
use crate::node::liveness::LivenessEvent;
use crate::node::reliable::ReliableEvent;

/// Whom a node event charges, and with what: the one place the node's scoring rules live.
///
/// - Invalid bytes (a bad signature, an unknown origin, an undecodable payload, a broken wire
///   protocol) are charged to the peer whose authenticated link carried them: the forwarder. It could
///   have checked them and did not (or made them up).
/// - A validly signed payload naming another validator as its author is provable misbehaviour of
///   the envelope's origin (its signature is on it): [`PeerBehavior::Impersonation`], charged to the
///   origin, whoever forwarded it.
/// - Equivocation evidence is charged to the equivocator.
/// - Liveness facts — a validator timed out, a reliable send timed out, an ack from a validator that
///   is not the destination — are charged lightly, in the clamped liveness component.
///
/// Everything else (connections, address changes, partitions, deliveries) charges nobody.
///
/// ```
/// use quorumnet_core::identity::ValidatorId;
/// use quorumnet_core::node::reputation::{charge_for, PeerBehavior};
/// use quorumnet_core::node::{Misbehaviour, NodeEvent};
///
/// let (forwarder, origin, named) = (ValidatorId([1; 32]), ValidatorId([2; 32]), ValidatorId([3; 32]));
/// let forged = NodeEvent::PeerMisbehaved { peer: forwarder, misbehaviour: Misbehaviour::InvalidSignature };
/// assert_eq!(charge_for(&forged), Some((forwarder, PeerBehavior::InvalidSignature)));
/// let impersonation = NodeEvent::PeerMisbehaved {
///     peer: forwarder,
///     misbehaviour: Misbehaviour::AuthorMismatch { origin, named },
/// };
/// assert_eq!(charge_for(&impersonation), Some((origin, PeerBehavior::Impersonation)));
/// ```
pub fn charge_for(event: &NodeEvent) -> Option<(ValidatorId, PeerBehavior)> {
    match event {
        NodeEvent::PeerMisbehaved { peer, misbehaviour } => Some(match misbehaviour {
            Misbehaviour::InvalidSignature => (*peer, PeerBehavior::InvalidSignature),
            Misbehaviour::UnknownOrigin(_) => (*peer, PeerBehavior::UnknownOrigin),
            Misbehaviour::UndecodablePayload => (*peer, PeerBehavior::UndecodablePayload),
            Misbehaviour::ProtocolViolation(_) => (*peer, PeerBehavior::ProtocolViolation),
            Misbehaviour::AuthorMismatch { origin, .. } => (*origin, PeerBehavior::Impersonation),
            Misbehaviour::Replay { .. } => (*peer, PeerBehavior::Replay),
            Misbehaviour::InvalidEvidence { reporter, .. } => (*reporter, PeerBehavior::InvalidEvidence),
        }),
        NodeEvent::Equivocation(evidence) => Some((evidence.first.origin, PeerBehavior::Equivocation)),
        NodeEvent::Liveness(LivenessEvent::TimedOut { validator, .. }) => Some((*validator, PeerBehavior::Silence)),
        NodeEvent::Reliable(ReliableEvent::TimedOut { peer, .. }) => Some((*peer, PeerBehavior::Timeout)),
        NodeEvent::Reliable(ReliableEvent::AckRejected { from, .. }) => {
            Some((*from, PeerBehavior::AckFromNonDestination))
        }
        _ => None,
    }
}
