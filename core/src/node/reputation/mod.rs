//! Peer reputation as a pure state machine (DESIGN.md §5): scored behaviours, decay toward neutral,
//! disconnect and ban thresholds, timed unban.
//!
//! - [`PeerBehavior`]: what a peer did, with its documented [`weight`](PeerBehavior::weight). Who is
//!   charged is the caller's choice and follows one rule: invalid bytes go to the peer whose
//!   authenticated link carried them (the forwarder), provable misbehaviour (equivocation, a validly
//!   signed impersonation) to the origin.
//! - [`PeerReputation`]: per-peer scores in virtual time and the [`Verdict`] each report leads to.
//!
//! Liveness facts (silence, timeouts, acks from a node that is not the destination) are kept in a
//! separate component clamped at [`ReputationConfig::liveness_floor`], above the disconnect
//! threshold: however long an honest validator is unreachable, they alone never disconnect or ban it.
//!
//! Not yet wired to the actor or to the `Admission` handle (no driver): see the brief's step 3.

mod behavior;
mod score;

pub use behavior::PeerBehavior;
pub use score::{PeerReputation, ReputationConfig, Verdict};
