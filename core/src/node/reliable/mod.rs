//! Reliable delivery (DESIGN.md §5, WIRE.md §5 `Reliable` / `Ack`): a message sent to one validator is
//! retransmitted with backoff until that validator itself acknowledges it, or its deadline passes.
//!
//! An engine uses it through [`Node::send_reliable`](crate::node::Node::send_reliable),
//! [`wait_for_ack`](crate::node::Node::wait_for_ack),
//! [`delivery_status`](crate::node::Node::delivery_status) and
//! [`retransmit_unacked`](crate::node::Node::retransmit_unacked) (also as the
//! [`ReliableMessaging`](crate::node::ReliableMessaging) trait); endings are
//! [`NodeEvent::Reliable`](crate::node::NodeEvent::Reliable) events and counters are
//! [`NodeStats::reliable`](crate::node::NodeStats::reliable).
//!
//! This module holds the pure, deterministic part — [`DeliveryTracker`] — with time passed in and
//! jitter drawn from a seeded rng. The node's actor drives it:
//!
//! 1. `send_reliable(to, envelope)` → [`DeliveryTracker::send`] → a `Frame::Reliable` to `to` (or a
//!    [`SendError`] back to the engine: at [`ReliableConfig::max_unacked_per_peer`] the node refuses
//!    rather than buffers — backpressure the engine sees);
//! 2. a `Frame::Ack { id }` read from the link of peer `p` → [`DeliveryTracker::on_ack`]`(p, id)`. Only
//!    `p == destination` delivers: an ack is end to end, never from a node in the middle;
//! 3. at [`DeliveryTracker::next_wakeup`] → [`expire`](DeliveryTracker::expire) then
//!    [`due`](DeliveryTracker::due) → `Frame::Reliable` retransmissions;
//! 4. link to `p` up → [`on_peer_reconnected`](DeliveryTracker::on_peer_reconnected); `p` leaves the
//!    set → [`on_peer_removed`](DeliveryTracker::on_peer_removed);
//! 5. `wait_for_ack` → [`DeliveryTracker::waiter`] → [`DeliveryWaiter::wait`].
//!
//! # Semantics an engine relies on
//! - A destination that stays down (or unreachable) ends [`DeliveryStatus::TimedOut`] at the deadline;
//!   one that leaves the validator set ends [`DeliveryStatus::Failed`] at once.
//! - At the per-destination bound `send_reliable` refuses with a typed error and nothing is queued:
//!   the engine decides whether to wait, drop or send something newer.
//!
//! # Non-guarantees
//! - Delivered means the destination verified and accepted the envelope, not that its engine acted on
//!   it.
//! - A retransmission the destination already has is acked again and otherwise ignored there (it is a
//!   duplicate of a seen message), so a message is delivered to the engine at most once.

mod config;
mod report;
mod tracker;

pub use config::ReliableConfig;
pub use report::{ReliableEvent, ReliableStats};
pub use tracker::{AckOutcome, DeliveryStatus, DeliveryTracker, DeliveryWaiter, Retransmit, SendError};
