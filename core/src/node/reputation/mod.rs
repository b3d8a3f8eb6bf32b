//! Peer reputation as a pure state machine (DESIGN.md §5): scored behaviours, decay toward neutral,
//! disconnect and ban thresholds, timed unban.
//!
//! - [`PeerBehavior`]: what a peer did, with its documented [`weight`](PeerBehavior::weight). Who is
//!   charged is the caller's choice and follows one rule: invalid bytes go to the peer whose
//!   authenticated link carried them (the forwarder), provable misbehaviour (equivocation, a validly
//!   signed impersonation) to the origin.
//! - [`ReputationTable`]: per-peer scores in virtual time and the [`Verdict`] each report leads to.
//!
//! Liveness facts (silence, timeouts, acks from a node that is not the destination) are kept in a
//! separate component clamped at [`ReputationConfig::liveness_floor`], above the disconnect
//! threshold: however long an honest validator is unreachable, they alone never disconnect or ban it.
//!
//! The driver (`driver.rs`) connects it to the node: every [`NodeEvent`](crate::node::NodeEvent) is
//! charged by [`charge_for`], verdicts are carried out through the live
//! [`Admission`](crate::transport::Admission) handle (a ban holds on every transport and across
//! redials), and [`Node::ban_peer`](crate::node::Node::ban_peer),
//! [`unban_peer`](crate::node::Node::unban_peer), [`reputation`](crate::node::Node::reputation) and
//! [`report_peer`](crate::node::Node::report_peer) are its handles.

mod behavior;
mod charges;
pub(crate) mod driver;
mod score;

pub use behavior::PeerBehavior;
pub use charges::charge_for;
pub use score::{ReputationConfig, ReputationTable, Verdict};
