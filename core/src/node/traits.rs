//! The seed document's network traits, implemented once on [`Node`] (and [`IncomingMessages`]).
//!
//! The seed named these traits; quorumnet adapts them to idiomatic async Rust: every method takes
//! `&self` (the node is a cheap handle to one task, so no `&mut` is needed and clones can be shared
//! across tasks), is `async` through `async_trait` where it talks to the node's task, and returns a
//! typed error ([`NodeError`]) instead of a boolean or a string. Each trait's documentation says what
//! else differs.
//!
//! # Where is `ConsensusMessageEncryption`?
//! Deliberately not a trait: encryption is not a per-message call in quorumnet. Every
//! [`Connection`](crate::transport::Connection) is encrypted and mutually authenticated end to end by
//! its transport (Noise for TCP and WebSocket, TLS 1.3 for QUIC), which the conformance suite tests
//! for every transport; messages are additionally signed by their origin
//! ([`crate::message::Envelope`]), so they stay authentic across forwarders and relays. An
//! engine has nothing to encrypt or decrypt itself.
//!
//! # Where is `RemoteVoteValidator`?
//! A type, not a trait on the node: [`Node::vote_validator`] returns a
//! [`RemoteVoteValidator`](crate::node::vote_validator::RemoteVoteValidator) built from the node's chain
//! id and validator-set source. Verifying a vote and tallying voting power need no I/O and no node
//! state, so they are synchronous calls on a value the engine can keep, clone and use off the node's
//! task.
//!
//! Routing ([`MessageRouter`]): with relays, a relayed validator is an ordinary address
//! (`relay://…`, see [`crate::relay`]) and [`crate::node::routing::choose_address`] picks which of a
//! peer's addresses to dial, moving to the next after each failure; the trait reports the route in
//! use and its quality, and sends on it.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::error::NodeError;
use super::events::{NodeEvent, PeerConnection};
use super::handle::Node;
use super::incoming::{IncomingMessage, IncomingMessages};
use super::stats::NodeStats;
use crate::codec::CodecError;
use crate::identity::ValidatorId;
use crate::message::{ConsensusMessage, Envelope, EquivocationEvidence, Height, MessageId, Round};
use crate::node::liveness::{ClockSkew, RttEstimate, ValidatorTimeout};
use crate::node::reliable::DeliveryStatus;
use crate::node::reputation::PeerBehavior;
use crate::node::routing::{Route, RoutingError};
use crate::relay::{RelayConfig, RelayServer};
use crate::transport::PeerAddress;
use tokio::time::Instant;

/// Byzantine detection (DESIGN.md §5): what the node proved and whom it excludes from quorum.
///
/// Deviation from the seed: detection is not a call the engine makes per message — the node runs it
/// on every envelope it receives, before the engine sees it, and drops what an excluded validator
/// sends about heights after the one it was excluded at. The engine asks who is excluded, reads the
/// proofs, and listens for new ones ([`NodeEvent::Equivocation`]) to leave those validators out of
/// its quorum arithmetic from the next height on (votes already signed for the height being decided
/// may complete a polka an honest validator locked on: they keep counting, or it could never unlock).
#[async_trait]
pub trait ByzantineNetworkDetector: Send + Sync {
    /// Whether `validator` is proven to equivocate or banned.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn is_excluded(&self, validator: ValidatorId) -> Result<bool, NodeError>;

    /// The first verified proof against each validator proven to equivocate.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn equivocation_proofs(&self) -> Result<Vec<EquivocationEvidence>, NodeError>;

    /// The node's events; [`NodeEvent::Equivocation`] is this trait's.
    fn byzantine_events(&self) -> broadcast::Receiver<NodeEvent>;
}

/// Peer reputation (DESIGN.md §5): scores, bans and timed unbans.
///
/// Deviation from the seed: the node scores peers itself from what they send (the rules are
/// [`charge_for`](crate::node::reputation::charge_for)'s); [`report`](Self::report) is for what only the
/// engine can judge, such as a proposal whose block is invalid.
#[async_trait]
pub trait PeerReputation: Send + Sync {
    /// `peer`'s score: 0 neutral, lower is worse.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn reputation(&self, peer: ValidatorId) -> Result<f64, NodeError>;

    /// Scores `behavior` against `peer`.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn report(&self, peer: ValidatorId, behavior: PeerBehavior) -> Result<(), NodeError>;

    /// Bans `peer` for `duration`; returns when the ban ends.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn ban_peer(&self, peer: ValidatorId, duration: Duration) -> Result<Instant, NodeError>;

    /// Lifts `peer`'s ban; whether it was banned.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn unban_peer(&self, peer: ValidatorId) -> Result<bool, NodeError>;
}

/// Sends a message to every validator.
///
/// Deviation from the seed: one method for every message kind (the kind is in the message), returning
/// the message's [`MessageId`] (for receipts and tracing) rather than nothing; the node signs it (the
/// engine never handles envelopes or sequence numbers).
#[async_trait]
pub trait MessageBroadcaster: Send + Sync {
    /// Signs `message` and sends it directly to every connected validator, gossip covering the rest.
    ///
    /// # Errors
    /// [`NodeError::NotOurMessage`] for a message naming another author; [`NodeError::Stopped`].
    async fn broadcast(&self, message: &ConsensusMessage) -> Result<MessageId, NodeError>;
}

/// Routes: how a validator is reached (directly or through a relay) and how well, and sends on it.
///
/// Deviation from the seed: routes are not chosen per message — the transport layer holds one
/// authenticated link per validator, over whichever address dialing picked
/// ([`choose_address`](crate::node::routing::choose_address)), so `find_route` reports that link's
/// route and `send_via_route` sends on it; a relay is a transport
/// ([`crate::relay::RelayServer`]), which `register_as_relay` starts on the node's own
/// transport.
#[async_trait]
pub trait MessageRouter: Send + Sync {
    /// The current route to `dest`, `None` with no link and no dialable address.
    ///
    /// # Errors
    /// [`RoutingError::NotAValidator`], [`RoutingError::Node`].
    async fn find_route(&self, dest: ValidatorId) -> Result<Option<Route>, RoutingError>;

    /// Sends `message` to `dest` on its route, reliably; returns its id for
    /// [`ReliableMessaging::wait_for_ack`].
    ///
    /// # Errors
    /// [`RoutingError::NoRoute`], [`RoutingError::NotAValidator`], [`RoutingError::Node`].
    async fn send_via_route(&self, dest: ValidatorId, message: &ConsensusMessage) -> Result<MessageId, RoutingError>;

    /// Re-broadcasts another validator's verified `envelope`; returns its id.
    ///
    /// # Errors
    /// [`RoutingError::NotForwarded`], [`RoutingError::Node`].
    async fn forward_message(&self, envelope: Envelope) -> Result<MessageId, RoutingError>;

    /// Runs a relay on this node's transport at `listen`, until the returned server is dropped.
    ///
    /// # Errors
    /// [`RoutingError::CannotHostRelay`] (run [`RelayServer::spawn`] directly), [`RoutingError::Listen`],
    /// [`RoutingError::Node`].
    async fn register_as_relay(&self, listen: &PeerAddress, config: RelayConfig) -> Result<RelayServer, RoutingError>;
}

/// Encodes and decodes consensus messages.
///
/// Deviation from the seed: synchronous (no I/O), and decoding returns a typed [`CodecError`]. The
/// encoding is fixed by the wire protocol (CBOR, WIRE.md), not pluggable. Signing is not part of it:
/// [`MessageBroadcaster::broadcast`] signs, so the engine can never reuse a sequence number.
pub trait ConsensusMessageCodec {
    /// The message's wire encoding (an envelope's payload).
    fn encode_message(&self, message: &ConsensusMessage) -> Vec<u8>;

    /// Decodes a payload, strictly (no trailing bytes, bounded sizes).
    ///
    /// # Errors
    /// [`CodecError`] naming what was wrong.
    fn decode_message(&self, bytes: &[u8]) -> Result<ConsensusMessage, CodecError>;
}

/// Gossip: redundancy and repair behind broadcast.
///
/// Deviation from the seed: there is no separate "gossip this message" call that bypasses broadcast —
/// every broadcast message is also gossiped (seed decision 1), and forwarding, `Have`/`Want` repair and
/// digests run inside the node. The trait exposes publishing and the counters that measure gossip's
/// cost.
#[async_trait]
pub trait GossipProtocol: Send + Sync {
    /// Publishes `message` (the same as [`MessageBroadcaster::broadcast`]).
    ///
    /// # Errors
    /// As [`MessageBroadcaster::broadcast`].
    async fn gossip(&self, message: &ConsensusMessage) -> Result<MessageId, NodeError>;

    /// The node's counters: per peer and kind, duplicates, stored messages, outstanding wants.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn gossip_stats(&self) -> Result<NodeStats, NodeError>;
}

/// Where validators are: the validator set's addresses, overridden by signed address records.
///
/// Deviation from the seed: discovery is scoped to the validator set (no open peer discovery: only
/// admitted validators may connect), and a validator's addresses travel as a signed, versioned record
/// (WIRE.md §6) gossiped like any message.
#[async_trait]
pub trait ValidatorDiscovery: Send + Sync {
    /// Where the node would dial `validator` now.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn addresses_of(&self, validator: ValidatorId) -> Result<Vec<PeerAddress>, NodeError>;

    /// Signs and broadcasts this node's addresses.
    ///
    /// # Errors
    /// [`NodeError::InvalidRecord`], [`NodeError::Stopped`].
    async fn announce_addresses(&self, addresses: Vec<PeerAddress>) -> Result<MessageId, NodeError>;
}

/// Connections to the validators.
///
/// Deviation from the seed: the node connects to every validator of the current set by itself
/// (with backoff, tie-break and live set changes); `connect` only skips a backoff, and state changes
/// are pushed as [`NodeEvent`]s instead of polled.
#[async_trait]
pub trait PeerConnectionManager: Send + Sync {
    /// The live connections, in peer id order.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn connections(&self) -> Result<Vec<PeerConnection>, NodeError>;

    /// Dials `peer` now if it is a validator not connected.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn connect(&self, peer: ValidatorId) -> Result<(), NodeError>;

    /// Closes the connection to `peer` (redialed after backoff while it is a validator).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn disconnect(&self, peer: ValidatorId) -> Result<(), NodeError>;

    /// Subscribes to connection events.
    fn events(&self) -> broadcast::Receiver<NodeEvent>;
}

/// Verified messages for the engine.
///
/// Deviation from the seed: implemented by [`IncomingMessages`], the single consumer of the node's
/// bounded channel, so `receive` takes `&mut self`; it returns the proven origin, forwarding peer,
/// receive time and id with the message, and `None` once the node has stopped.
#[async_trait]
pub trait ConsensusMessageReceiver: Send {
    /// The next verified message.
    async fn receive(&mut self) -> Option<IncomingMessage>;
}

/// Signed heartbeats and who is alive.
///
/// Deviation from the seed: the node sends its signed heartbeat by itself on
/// [`LivenessConfig::heartbeat_interval`](crate::node::liveness::LivenessConfig::heartbeat_interval)
/// — there is no "send a heartbeat now" call — so the engine only tells it the height and round to
/// report ([`set_consensus_position`](Self::set_consensus_position)). Heartbeats are consumed by the
/// node, not delivered to the engine. RTT and clock skew per validator, which the seed did not offer,
/// are here too, for tuning round timeouts.
#[async_trait]
pub trait HeartbeatProtocol: Send + Sync {
    /// The height and round every following heartbeat reports.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn set_consensus_position(&self, height: Height, round: Round) -> Result<(), NodeError>;

    /// Whether `validator` is heard within the liveness timeout and not timed out.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn is_validator_alive(&self, validator: ValidatorId) -> Result<bool, NodeError>;

    /// How long ago `validator`'s last heartbeat arrived, if one has.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn last_heartbeat_age(&self, validator: ValidatorId) -> Result<Option<Duration>, NodeError>;

    /// Changes the silence after which a validator times out.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn set_liveness_timeout(&self, timeout: Duration) -> Result<(), NodeError>;

    /// The smoothed round trip to `peer`, once it answered a ping.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn rtt(&self, peer: ValidatorId) -> Result<Option<RttEstimate>, NodeError>;

    /// How far `peer`'s wall clock is ahead of ours, once a heartbeat came from it directly.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn clock_skew(&self, peer: ValidatorId) -> Result<Option<ClockSkew>, NodeError>;
}

/// What the network costs in time, for an engine that derives its step timeouts from it rather than
/// from a fixed preset (not in the seed: a WAN-grade engine needs it).
///
/// A step that waits for messages from a quorum cannot end sooner than the round trip to the
/// validators completing that quorum; a timeout shorter than that only produces nil votes and extra
/// rounds, and one much longer only slows the recovery from a crashed proposer.
///
/// ```
/// # async fn tune(network: &impl quorumnet_core::node::NetworkTiming) -> Result<(), quorumnet_core::node::NodeError> {
/// use std::time::Duration;
/// let floor = Duration::from_millis(200);
/// let prevote_timeout = match network.quorum_round_trip().await? {
///     Some(rtt) => (rtt * 2).max(floor),
///     None => floor, // nothing measured yet: keep the preset
/// };
/// # let _ = prevote_timeout; Ok(()) }
/// ```
#[async_trait]
pub trait NetworkTiming: Send + Sync {
    /// The round trip within which validators holding a quorum (more than 2/3) of the current set's
    /// voting power answer, from measured RTTs (each validator at `SRTT + 4·RTTVAR`, this node at
    /// zero); `None` until the validators measured hold a quorum.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn quorum_round_trip(&self) -> Result<Option<Duration>, NodeError>;
}

/// Timeouts of validators, stalls and partitions.
///
/// Deviation from the seed: the timeout stream is not a separate channel of `ValidatorTimeout`s but
/// [`NodeEvent::Liveness`] on the node's event stream, carrying every
/// [`LivenessEvent`](crate::node::liveness::LivenessEvent): timeouts with their reason,
/// "responsive again", the "more than 1/3 timed out" stall signal (`Stalled`/`StallCleared`) and
/// partitions. [`timed_out_validators`](Self::timed_out_validators) returns each validator's reason
/// with it. A timeout is a liveness fact, never a fault: nothing is scored or banned for it.
#[async_trait]
pub trait LivenessMonitor: Send + Sync {
    /// The engine's own timeout of `validator` (`NoVotes`, `RoundTimeout`).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn report_timeout(&self, validator: ValidatorId, reason: ValidatorTimeout) -> Result<(), NodeError>;

    /// The engine saw `validator` do its job: its timeout is cleared.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn mark_responsive(&self, validator: ValidatorId) -> Result<(), NodeError>;

    /// The validators timed out now, with why, in id order.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn timed_out_validators(&self) -> Result<Vec<(ValidatorId, ValidatorTimeout)>, NodeError>;

    /// Subscribes to the node's events; liveness reports are [`NodeEvent::Liveness`].
    fn liveness_events(&self) -> broadcast::Receiver<NodeEvent>;
}

/// Messages to one validator, acknowledged by that validator itself.
///
/// Deviations from the seed:
/// - `send_reliable` signs the message (as broadcast does) and returns its [`MessageId`] at once; the
///   engine follows the delivery by id ([`wait_for_ack`](Self::wait_for_ack),
///   [`delivery_status`](Self::delivery_status), or [`NodeEvent::Reliable`] on the event stream)
///   instead of blocking in the send.
/// - The ack is end to end: only an ack arriving over the destination's own authenticated link
///   counts; a node in the middle cannot acknowledge for it. The sender puts the message on the
///   direct link only (relay circuits, which are end to end too, will carry it when they land), never
///   on gossip. The destination verifies it and delivers it to its engine once, but does not store,
///   announce or forward it: a message sent to one validator costs the others nothing. (It is not
///   secret either: the destination's engine may pass it on.)
/// - Retransmission is automatic, with per-message exponential backoff and jitter, and immediate
///   when the destination reconnects; [`retransmit_unacked`](Self::retransmit_unacked) only forces it.
/// - Bounded: at [`ReliableConfig::max_unacked_per_peer`](crate::node::reliable::ReliableConfig::max_unacked_per_peer)
///   unacknowledged messages to one destination, `send_reliable` refuses with
///   [`NodeError::TooManyUnacked`] — backpressure the engine sees — instead of buffering without bound.
/// - Each delivery ends [`Delivered`](DeliveryStatus::Delivered), [`TimedOut`](DeliveryStatus::TimedOut)
///   (no ack before the deadline: the destination stayed down or unreachable) or
///   [`Failed`](DeliveryStatus::Failed) (the destination left the validator set).
#[async_trait]
pub trait ReliableMessaging: Send + Sync {
    /// Signs `message` and sends it to `to`, retransmitting until `to` acknowledges it or the deadline.
    ///
    /// # Errors
    /// [`NodeError::TooManyUnacked`] at the bound; [`NodeError::NotAPeer`];
    /// [`NodeError::NotOurMessage`]; [`NodeError::Stopped`].
    async fn send_reliable(&self, to: ValidatorId, message: &ConsensusMessage) -> Result<MessageId, NodeError>;

    /// Waits until the delivery of `id` to `to` is final, at most until its deadline.
    ///
    /// # Errors
    /// [`NodeError::UnknownDelivery`]; [`NodeError::Stopped`].
    async fn wait_for_ack(&self, to: ValidatorId, id: MessageId) -> Result<DeliveryStatus, NodeError>;

    /// The delivery's status now; `None` if unknown.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn delivery_status(&self, to: ValidatorId, id: MessageId) -> Result<Option<DeliveryStatus>, NodeError>;

    /// Retransmits every pending message now; returns how many were pending.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    async fn retransmit_unacked(&self) -> Result<usize, NodeError>;
}

#[async_trait]
impl MessageBroadcaster for Node {
    async fn broadcast(&self, message: &ConsensusMessage) -> Result<MessageId, NodeError> {
        Node::broadcast(self, message).await
    }
}

#[async_trait]
impl MessageRouter for Node {
    async fn find_route(&self, dest: ValidatorId) -> Result<Option<Route>, RoutingError> {
        Node::find_route(self, dest).await
    }

    async fn send_via_route(&self, dest: ValidatorId, message: &ConsensusMessage) -> Result<MessageId, RoutingError> {
        Node::send_via_route(self, dest, message).await
    }

    async fn forward_message(&self, envelope: Envelope) -> Result<MessageId, RoutingError> {
        Node::forward_message(self, envelope).await
    }

    async fn register_as_relay(&self, listen: &PeerAddress, config: RelayConfig) -> Result<RelayServer, RoutingError> {
        Node::register_as_relay(self, listen, config).await
    }
}

impl ConsensusMessageCodec for Node {
    fn encode_message(&self, message: &ConsensusMessage) -> Vec<u8> {
        message.encode()
    }

    fn decode_message(&self, bytes: &[u8]) -> Result<ConsensusMessage, CodecError> {
        ConsensusMessage::decode(bytes)
    }
}

#[async_trait]
impl GossipProtocol for Node {
    async fn gossip(&self, message: &ConsensusMessage) -> Result<MessageId, NodeError> {
        Node::broadcast(self, message).await
    }

    async fn gossip_stats(&self) -> Result<NodeStats, NodeError> {
        Node::stats(self).await
    }
}

#[async_trait]
impl ValidatorDiscovery for Node {
    async fn addresses_of(&self, validator: ValidatorId) -> Result<Vec<PeerAddress>, NodeError> {
        Node::addresses_of(self, validator).await
    }

    async fn announce_addresses(&self, addresses: Vec<PeerAddress>) -> Result<MessageId, NodeError> {
        Node::announce_addresses(self, addresses).await
    }
}

#[async_trait]
impl PeerConnectionManager for Node {
    async fn connections(&self) -> Result<Vec<PeerConnection>, NodeError> {
        Node::connections(self).await
    }

    async fn connect(&self, peer: ValidatorId) -> Result<(), NodeError> {
        Node::connect(self, peer).await
    }

    async fn disconnect(&self, peer: ValidatorId) -> Result<(), NodeError> {
        Node::disconnect(self, peer).await
    }

    fn events(&self) -> broadcast::Receiver<NodeEvent> {
        Node::events(self)
    }
}

#[async_trait]
impl ConsensusMessageReceiver for IncomingMessages {
    async fn receive(&mut self) -> Option<IncomingMessage> {
        self.recv().await
    }
}

#[async_trait]
impl HeartbeatProtocol for Node {
    async fn set_consensus_position(&self, height: Height, round: Round) -> Result<(), NodeError> {
        Node::set_consensus_position(self, height, round).await
    }

    async fn is_validator_alive(&self, validator: ValidatorId) -> Result<bool, NodeError> {
        Node::is_validator_alive(self, validator).await
    }

    async fn last_heartbeat_age(&self, validator: ValidatorId) -> Result<Option<Duration>, NodeError> {
        Node::last_heartbeat_age(self, validator).await
    }

    async fn set_liveness_timeout(&self, timeout: Duration) -> Result<(), NodeError> {
        Node::set_liveness_timeout(self, timeout).await
    }

    async fn rtt(&self, peer: ValidatorId) -> Result<Option<RttEstimate>, NodeError> {
        Node::rtt(self, peer).await
    }

    async fn clock_skew(&self, peer: ValidatorId) -> Result<Option<ClockSkew>, NodeError> {
        Node::clock_skew(self, peer).await
    }
}

#[async_trait]
impl NetworkTiming for Node {
    async fn quorum_round_trip(&self) -> Result<Option<Duration>, NodeError> {
        Node::quorum_round_trip(self).await
    }
}

#[async_trait]
impl LivenessMonitor for Node {
    async fn report_timeout(&self, validator: ValidatorId, reason: ValidatorTimeout) -> Result<(), NodeError> {
        Node::report_timeout(self, validator, reason).await
    }

    async fn mark_responsive(&self, validator: ValidatorId) -> Result<(), NodeError> {
        Node::mark_responsive(self, validator).await
    }

    async fn timed_out_validators(&self) -> Result<Vec<(ValidatorId, ValidatorTimeout)>, NodeError> {
        Node::timed_out_validators(self).await
    }

    fn liveness_events(&self) -> broadcast::Receiver<NodeEvent> {
        Node::events(self)
    }
}

#[async_trait]
impl ReliableMessaging for Node {
    async fn send_reliable(&self, to: ValidatorId, message: &ConsensusMessage) -> Result<MessageId, NodeError> {
        Node::send_reliable(self, to, message).await
    }

    async fn wait_for_ack(&self, to: ValidatorId, id: MessageId) -> Result<DeliveryStatus, NodeError> {
        Node::wait_for_ack(self, to, id).await
    }

    async fn delivery_status(&self, to: ValidatorId, id: MessageId) -> Result<Option<DeliveryStatus>, NodeError> {
        Node::delivery_status(self, to, id).await
    }

    async fn retransmit_unacked(&self) -> Result<usize, NodeError> {
        Node::retransmit_unacked(self).await
    }
}

#[async_trait]
impl ByzantineNetworkDetector for Node {
    async fn is_excluded(&self, validator: ValidatorId) -> Result<bool, NodeError> {
        Node::is_excluded(self, validator).await
    }

    async fn equivocation_proofs(&self) -> Result<Vec<EquivocationEvidence>, NodeError> {
        Node::equivocation_proofs(self).await
    }

    fn byzantine_events(&self) -> broadcast::Receiver<NodeEvent> {
        Node::events(self)
    }
}

#[async_trait]
impl PeerReputation for Node {
    async fn reputation(&self, peer: ValidatorId) -> Result<f64, NodeError> {
        Node::reputation(self, peer).await
    }

    async fn report(&self, peer: ValidatorId, behavior: PeerBehavior) -> Result<(), NodeError> {
        Node::report_peer(self, peer, behavior).await
    }

    async fn ban_peer(&self, peer: ValidatorId, duration: Duration) -> Result<Instant, NodeError> {
        Node::ban_peer(self, peer, duration).await
    }

    async fn unban_peer(&self, peer: ValidatorId) -> Result<bool, NodeError> {
        Node::unban_peer(self, peer).await
    }
}
