//! What the node reports about its peers: connections, disconnections, misbehaviour, address changes.

use tokio::time::Instant;

use crate::identity::ValidatorId;
use crate::node::byzantine::{EquivocationEvidence, EvidenceError};
use crate::node::link::{CloseReason, LinkId, Violation};
use crate::node::liveness::LivenessEvent;
use crate::node::reliable::ReliableEvent;
use crate::node::reputation::PeerBehavior;
use crate::transport::PeerAddress;

/// Who dialed a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// This node dialed the peer.
    Outbound,
    /// The peer dialed this node.
    Inbound,
}

/// One live connection, as [`Node::connections`](super::Node::connections) lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConnection {
    /// The authenticated peer.
    pub peer: ValidatorId,
    /// Who dialed.
    pub direction: Direction,
    /// The address dialed (outbound connections), or the address the transport reports.
    pub address: Option<PeerAddress>,
    /// The link carrying it.
    pub link: LinkId,
    /// When it was established.
    pub since: Instant,
}

/// Why a peer is no longer connected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The link ended; the connection manager redials with backoff while the peer is a validator.
    Link(CloseReason),
    /// The peer left the validator set: disconnected, forgotten, and refused by admission.
    LeftValidatorSet,
    /// [`Node::disconnect`](super::Node::disconnect) was called.
    Requested,
    /// Its reputation fell to the disconnect threshold; it is redialed with backoff (and may dial us)
    /// while its score recovers.
    LowReputation,
    /// It is banned ([`NodeEvent::PeerBanned`]): not redialed, refused at admission until unbanned.
    Banned,
    /// A bounded [`Topology`](crate::node::topology::Topology) no longer needs the link: a link dialed
    /// for reliable delivery whose messages were all acked, or a pick a set change replaced. Not
    /// redialed.
    Unneeded,
}

/// Something a peer did wrong that reputation scoring (a later layer) charges it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// An envelope whose signature does not verify under its origin's key: charged to the forwarder.
    InvalidSignature,
    /// An envelope from an origin outside the validator set in force at its height.
    UnknownOrigin(ValidatorId),
    /// A validly signed envelope whose payload names another validator as its author.
    AuthorMismatch {
        /// The envelope's signer.
        origin: ValidatorId,
        /// The validator the payload names.
        named: ValidatorId,
    },
    /// An envelope whose payload is not a consensus message.
    UndecodablePayload,
    /// The peer broke the wire protocol; its link closed.
    ProtocolViolation(Violation),
    /// A validly signed envelope far older than its origin's latest (outside its sequence window),
    /// which this node did not ask for: re-injected by the forwarder it is charged to.
    Replay {
        /// The envelope's origin.
        origin: ValidatorId,
        /// Its sequence number.
        seq: u64,
    },
    /// A signed evidence report whose evidence proves nothing: charged to its reporter, who signed it.
    InvalidEvidence {
        /// The report's signer.
        reporter: ValidatorId,
        /// What the evidence failed.
        error: EvidenceError,
    },
}

/// What the node reports to [`Node::events`](super::Node::events) subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// A connection to a validator came up (only when there was none: a tie-break replacement of a
    /// duplicate connection is not reported).
    PeerConnected {
        /// The peer.
        peer: ValidatorId,
        /// Who dialed.
        direction: Direction,
        /// The address dialed, or the transport's report of the peer's address.
        address: Option<PeerAddress>,
    },
    /// The connection to a validator ended.
    PeerDisconnected {
        /// The peer.
        peer: ValidatorId,
        /// Why.
        reason: DisconnectReason,
    },
    /// A peer sent something invalid: the hook for reputation scoring.
    PeerMisbehaved {
        /// The peer whose authenticated link carried it (the forwarder).
        peer: ValidatorId,
        /// What it did.
        misbehaviour: Misbehaviour,
    },
    /// A newer signed address record of a validator was applied.
    AddressUpdated {
        /// The validator.
        validator: ValidatorId,
        /// Its addresses now.
        addresses: Vec<PeerAddress>,
    },
    /// The validator set changed; connections follow.
    ValidatorSetChanged {
        /// Validators that joined (sorted).
        joined: Vec<ValidatorId>,
        /// Validators that left (sorted).
        left: Vec<ValidatorId>,
    },
    /// A validator timed out or became responsive again, or the network stalled, split or healed
    /// (see [`crate::node::liveness`]).
    Liveness(LivenessEvent),
    /// A reliable delivery ended (delivered, timed out, failed), or an ack from a validator other than
    /// the destination was refused (see [`crate::node::reliable`]).
    Reliable(ReliableEvent),
    /// A peer is banned — its score reached the ban threshold, it proved itself byzantine, or
    /// [`Node::ban_peer`](super::Node::ban_peer) was called: disconnected, not redialed, and refused at
    /// admission by every transport until `until` (the timed unban) or
    /// [`Node::unban_peer`](super::Node::unban_peer).
    PeerBanned {
        /// The peer.
        peer: ValidatorId,
        /// The behaviour whose report banned it (`None`: an operator's ban).
        behavior: Option<PeerBehavior>,
        /// When the timed unban lifts it.
        until: Instant,
    },
    /// A ban was lifted: the peer is admitted again (if a validator) and redialed.
    PeerUnbanned {
        /// The peer.
        peer: ValidatorId,
    },
    /// A validator was caught signing two conflicting envelopes (first seen here; verifiable with
    /// [`EquivocationEvidence::verify`]). Its later messages are kept from the engine.
    Equivocation(EquivocationEvidence),
}
