//! What can go wrong building or using a node.

use crate::codec::CodecError;
use crate::identity::ValidatorId;
use crate::message::MessageId;
use crate::node::link::InvalidConfig;
use crate::node::reliable::SendError;
use crate::transport::{PeerAddress, TransportError};

/// An operation on a running [`Node`](super::Node) failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The node's task has ended ([`Node::shutdown`](super::Node::shutdown), or a panic): build a new node.
    #[error("the node has shut down")]
    Stopped,
    /// A node signs only messages that name it as their author.
    #[error("the message names validator {named} as its author, but this node is {node}: a node signs only its own messages")]
    NotOurMessage {
        /// The validator the message names.
        named: ValidatorId,
        /// This node.
        node: ValidatorId,
    },
    /// An address record that peers would reject (too many or too long addresses).
    #[error("invalid address record: {0}")]
    InvalidRecord(#[from] CodecError),
    /// `send_reliable` refused the message: the destination has too many unacknowledged ones
    /// (backpressure), or this message is already pending for it. The inner error says what to do.
    #[error(transparent)]
    TooManyUnacked(#[from] SendError),
    /// Reliable messages go to another validator of the current set.
    #[error(
        "{peer} is not another validator of the current set: send reliable messages to a validator this node links to"
    )]
    NotAPeer {
        /// The destination asked for.
        peer: ValidatorId,
    },
    /// No reliable delivery of this message to this peer is known.
    #[error("no reliable delivery of {id} to {peer} is known: it was never sent there, or finished so long ago it was forgotten (ReliableConfig::max_finished)")]
    UnknownDelivery {
        /// The destination.
        peer: ValidatorId,
        /// The message.
        id: MessageId,
    },
}

/// [`NodeBuilder::build`](super::NodeBuilder::build) could not start the node.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A required builder field was not set.
    #[error("the node builder needs {0}: call NodeBuilder::{0}(...)")]
    Missing(&'static str),
    /// No transport for a listen address's scheme.
    #[error("no transport for {addr}: add one with the scheme {scheme:?} (available: {available})")]
    NoTransport {
        /// The address.
        addr: PeerAddress,
        /// Its scheme.
        scheme: String,
        /// The schemes the builder has transports for.
        available: String,
    },
    /// Two transports for one scheme.
    #[error("two transports for the scheme {0:?}: give the builder one per scheme")]
    DuplicateScheme(String),
    /// A transport could not be built.
    #[error("building a transport failed: {0}")]
    Transport(TransportError),
    /// Listening on an address failed.
    #[error("listening on {addr} failed: {source}")]
    Listen {
        /// The address.
        addr: PeerAddress,
        /// Why.
        source: TransportError,
    },
    /// The link configuration cannot work with the transports' frame limit.
    #[error(transparent)]
    InvalidConfig(#[from] InvalidConfig),
    /// A shared [`VerificationCache`](super::VerificationCache) on a node with a real transport.
    #[error("a verification cache is for simulations only, but the transport {scheme:?} reaches real peers: a node on a network must verify every signature itself; build it without NodeBuilder::verification_cache")]
    VerificationCacheOnNetwork {
        /// The transport's scheme.
        scheme: String,
    },
}
