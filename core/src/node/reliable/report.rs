//! What reliable delivery reports: [`ReliableEvent`]s on the node's event stream and
//! [`ReliableStats`] in its counters.

use std::time::Duration;

use crate::identity::ValidatorId;
use crate::message::MessageId;

/// How one reliable delivery ended, or an ack that was refused; emitted as
/// [`NodeEvent::Reliable`](crate::node::NodeEvent::Reliable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReliableEvent {
    /// `peer` acknowledged message `id` over its own authenticated link: the message is
    /// [`Delivered`](super::DeliveryStatus::Delivered).
    Delivered {
        /// The validator whose link carried the ack — always the message's destination.
        peer: ValidatorId,
        /// The message.
        id: MessageId,
        /// From the first transmission to the ack.
        latency: Duration,
        /// Retransmissions it took (0: the first transmission arrived).
        retransmissions: u32,
    },
    /// No ack from `peer` before the deadline ([`ReliableConfig::deadline`](super::ReliableConfig::deadline)).
    TimedOut {
        /// The destination.
        peer: ValidatorId,
        /// The message.
        id: MessageId,
    },
    /// `peer` left the validator set before acknowledging `id`.
    Failed {
        /// The destination.
        peer: ValidatorId,
        /// The message.
        id: MessageId,
    },
    /// `from` acknowledged a message pending for another validator: ignored (the message stays
    /// pending). Only the destination itself may acknowledge; a node in the middle is never believed.
    AckRejected {
        /// The validator whose link carried the ack.
        from: ValidatorId,
        /// The message it claimed to acknowledge.
        id: MessageId,
    },
}

/// Reliable delivery's counters since the node started, in
/// [`NodeStats::reliable`](crate::node::NodeStats::reliable).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReliableStats {
    /// Messages accepted by `send_reliable` (one per destination).
    pub sent: u64,
    /// `send_reliable` calls refused at [`ReliableConfig::max_unacked_per_peer`](super::ReliableConfig::max_unacked_per_peer).
    pub refused: u64,
    /// Retransmissions queued on a live link (a retransmission due while the destination is
    /// disconnected is not counted: it waits for the reconnect).
    pub retransmitted: u64,
    /// Messages acknowledged by their destination.
    pub delivered: u64,
    /// Messages given up because their destination left the validator set.
    pub failed: u64,
    /// Messages given up at their deadline.
    pub timed_out: u64,
    /// Acks from a validator that was not the message's destination: refused.
    pub rejected_acks: u64,
    /// Acks for messages already finished (a retransmission's second ack) or unknown: ignored.
    pub ignored_acks: u64,
    /// Messages awaiting an ack now.
    pub pending: usize,
}
