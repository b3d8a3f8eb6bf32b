//! The node runtime (DESIGN.md §5): what runs between a consensus engine and its peers'
//! [`Connection`]s, turning authenticated connections into broadcast, gossip, reliable delivery,
//! liveness and byzantine detection.
//!
//! # The node
//! [`Node::builder`] assembles a node from a key pair, a chain id, a
//! [`ValidatorSetSource`](crate::validator::ValidatorSetSource), transports and listen addresses, and
//! returns a [`Node`] handle (cheap to clone) and the engine's [`IncomingMessages`]. One task owns all
//! state; handles talk to it through a bounded command channel.
//!
//! - **Connections** ([`connections`]): one link per validator of the current set,
//!   dialed at its addresses (newest signed address record, else the set's), jittered exponential
//!   backoff, a deterministic tie-break on simultaneous dial (the connection dialed by the lower id
//!   wins), validator-set changes applied live (joined → admitted and dialed; left → refused,
//!   disconnected, forgotten). Reported as [`NodeEvent`]s.
//! - **Broadcast**: [`Node::broadcast`] signs an [`Envelope`](crate::message::Envelope) (sequence numbers
//!   start at the boot wall clock in µs and increase by one per message), encodes it once and queues
//!   it to every connected validator at its [`Priority`](priority::Priority) — and keeps it for gossip.
//! - **Receive**: verify against the set in force at the message's height → dedupe → deliver an
//!   [`IncomingMessage`] → forward by [`GossipPolicy`](gossip::GossipPolicy) (push to a fanout, `Have`
//!   to others). `Have` → `Want` → envelopes; periodic digests repair what pushing missed.
//! - **Reliable delivery** ([`reliable`]): [`Node::send_reliable`] sends a message to one validator on
//!   the direct link, retransmitted with backoff until that validator itself acknowledges it or its
//!   deadline passes; [`Node::wait_for_ack`] and [`Node::delivery_status`] follow it by id.
//! - **Votes**: [`Node::vote_validator`] checks a vote against the set in force at its height and
//!   counts voting power.
//! - **Observability**: a `tracing` span per node, per link and per dial; counters per peer and per
//!   message kind ([`Node::stats`]).
//!
//! # Guarantees
//! - Every queue and map is bounded: commands, events, incoming messages, link events, accepted
//!   connections, waiting sends per peer, gossip caches (see [`NodeConfig`]). While the engine's
//!   channel is full, the node takes no more frames from its links (which stop reading their
//!   connections): local work first, remote peers slowed by backpressure.
//! - A message is marked seen only after its signature verified.
//! - Deterministic in simulation: one task, `biased` selects, ordered maps, randomness from a seed
//!   ([`NodeBuilder::seed`]), time from a [`Clock`] ([`VirtualClock`] under `tokio::time::pause`).
//!
//! # Non-guarantees
//! - Delivery is best effort (direct send plus gossip and repair): a validator unreachable for longer
//!   than the stores remember misses messages; per-message receipts are reliable delivery's job.
//! - Messages this node broadcast are not delivered back to its own engine.
//!
//! # Pieces
//! - [`priority`]: traffic priorities (`Vote > Proposal > Liveness > Discovery > Bulk`) and the one
//!   table bounding each priority's outbound queue.
//! - [`link`]: [`link::PeerLink`], the per-peer link over one authenticated connection.
//! - [`gossip`]: the pure, deterministic data structures and decisions of gossip.
//! - [`reliable`]: [`reliable::DeliveryTracker`], the pure state of reliable delivery (acks from the
//!   destination only, per-message backoff across reconnects, deadlines, a bound per peer).
//! - [`liveness`]: heartbeat schedule, [`liveness::LivenessMonitor`] (timeouts, stall and partition
//!   signals), RTT and clock-skew estimators.
//! - [`vote_validator`]: [`vote_validator::RemoteVoteValidator`], votes checked against the set in
//!   force at their height and counted by voting power.
//! - [`jittered_backoff`]: the one backoff formula of every retry schedule.
//! - [`traits`]: the seed's traits, implemented on [`Node`] — and where `ConsensusMessageEncryption`
//!   went (it is a property of every connection).
//!
//! [`Connection`]: crate::transport::Connection

mod actor;
mod backoff;
mod builder;
mod clock;
mod config;
pub mod connections;
mod error;
mod events;
mod handle;
mod incoming;
mod linked_peers;
mod receive;
mod reliable_driver;
mod stats;
mod verification_cache;

pub mod byzantine;
pub mod gossip;
pub mod link;
pub mod liveness;
pub mod priority;
pub mod proposal_parts;
pub mod rate_limit;
pub mod reliable;
pub mod reputation;
pub mod routing;
pub mod topology;
pub mod traits;
pub mod vote_validator;

pub use backoff::jittered_backoff;
pub use builder::NodeBuilder;
pub use clock::{Clock, SystemClock, VirtualClock};
pub use config::NodeConfig;
pub use error::{BuildError, NodeError};
pub use events::{Direction, DisconnectReason, Misbehaviour, NodeEvent, PeerConnection};
pub use handle::Node;
pub use incoming::{IncomingMessage, IncomingMessages};
pub use stats::{CachePeaks, KindCounters, NodeStats, PeerStats};
pub use traits::{
    ByzantineNetworkDetector, ConsensusMessageCodec, ConsensusMessageReceiver, GossipProtocol, HeartbeatProtocol,
    LivenessMonitor, MessageBroadcaster, MessageRouter, NetworkTiming, PeerConnectionManager, PeerReputation,
    ReliableMessaging, ValidatorDiscovery,
};
pub use verification_cache::{VerificationCache, VerificationCacheStats};
