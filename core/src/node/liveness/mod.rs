//! Liveness (DESIGN.md §5): heartbeats, who is alive, RTT and clock skew, stalls and partitions.
//!
//! Pure, deterministic components — time is passed in — that the node's actor drives:
//!
//! - [`HeartbeatSchedule`]: when to broadcast the next signed `Heartbeat` (height, round, our wall
//!   clock, the validators we hear), every [`LivenessConfig::heartbeat_interval`].
//! - [`LivenessMonitor`]: last heartbeat per validator, [`ValidatorTimeout`]s (no heartbeat, lost
//!   connection, and the engine's own no-votes and round timeouts), responsive-again, the "more than 1/3
//!   timed out" stall signal and partition detection by reachable voting power, as [`LivenessEvent`]s.
//! - [`RttEstimator`]: smoothed round trip per peer from `Ping`/`Pong`.
//! - [`SkewEstimator`]: each validator's clock offset from its heartbeats, corrected by RTT/2;
//!   [`SkewBound`] reports a validator whose clock is off by more than a bound.
//! - [`quorum_round_trip`]: the round trip within which a quorum of the voting power answers, from the
//!   measured RTTs: what an engine's step timeouts follow.
//!
//! RTT, skew and the quorum round trip are exposed so an engine can tune its round timeouts: a round
//! timeout shorter than the slowest quorum member's [`RttEstimate::timeout`] only produces nil votes.
//!
//! # Non-guarantees
//! - Silence is a liveness fact, never a fault: nothing here scores, disconnects or bans.
//! - Partition sides are this node's view: `side_b` is who *this node* cannot reach, which may differ
//!   from what the other side sees.

mod config;
pub(crate) mod driver;
pub mod eclipse;
mod heartbeat;
mod monitor;
mod quorum_rtt;
mod rtt;
mod skew;

pub use config::LivenessConfig;
pub use heartbeat::{heard_by, HeartbeatSchedule};
pub use monitor::{LivenessEvent, LivenessMonitor, ValidatorTimeout};
pub use quorum_rtt::{quorum_round_trip, quorum_round_trip_of};
pub use rtt::{RttEstimate, RttEstimator};
pub use skew::{ClockSkew, SkewBound, SkewEstimator};
