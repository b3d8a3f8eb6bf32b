//! Every number reliable delivery uses, with presets.

use std::time::Duration;

/// Retransmission schedule, deadline and bounds of [`DeliveryTracker`](super::DeliveryTracker).
///
/// Start from a preset — [`recommended`](Self::recommended) for production, [`local`](Self::local) for
/// many validators in one process, [`test`](Self::test) for unit tests that want to reach every bound —
/// and change single fields with struct update syntax.
///
/// ```
/// use std::time::Duration;
/// use quorumnet_core::node::reliable::ReliableConfig;
///
/// let config = ReliableConfig { deadline: Duration::from_secs(60), ..ReliableConfig::recommended() };
/// assert_eq!(config.max_unacked_per_peer, ReliableConfig::recommended().max_unacked_per_peer);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ReliableConfig {
    /// Wait before the first retransmission; doubled after each one.
    pub retransmit_min: Duration,
    /// Longest wait between two retransmissions.
    pub retransmit_max: Duration,
    /// Each wait is multiplied by a factor drawn from `1 ± retransmit_jitter` (clamped to `0..=1`), so
    /// the retransmissions of a burst do not stay synchronised.
    pub retransmit_jitter: f64,
    /// How long after `send` a message still unacknowledged is given up as
    /// [`TimedOut`](super::DeliveryStatus::TimedOut).
    pub deadline: Duration,
    /// Messages awaiting an ack from one destination. At the bound, `send` refuses with
    /// [`SendError::TooManyUnacked`](super::SendError::TooManyUnacked): the engine is told to slow
    /// down (backpressure) instead of the node buffering without bound for a validator that is down.
    pub max_unacked_per_peer: usize,
    /// Finished deliveries (delivered, failed, timed out) whose status is still answered; the oldest
    /// is forgotten first.
    pub max_finished: usize,
}

impl ReliableConfig {
    /// Production values for validators over a WAN.
    pub fn recommended() -> Self {
        ReliableConfig {
            // A few WAN round trips: an ack normally arrives in well under 250 ms, and a retransmission
            // costs a full envelope (3.3 KB of signature), so do not resend before it could have come.
            retransmit_min: Duration::from_millis(250),
            // Reached after five doublings: a validator that is down for long is probed every ~8 s,
            // and a reconnect makes its messages due at once anyway.
            retransmit_max: Duration::from_secs(8),
            // ±20 %: enough to spread a burst of sends over a few round trips.
            retransmit_jitter: 0.2,
            // Several rounds of a typical BFT engine (rounds of a few seconds): a vote older than that
            // is of no use to its destination.
            deadline: Duration::from_secs(30),
            // Votes and proposals of several rounds for one destination; beyond that the destination is
            // effectively down and the engine should hear about it, not the node's memory.
            max_unacked_per_peer: 256,
            // Statuses of about a minute of reliable traffic to 100 validators.
            max_finished: 16_384,
        }
    }

    /// Many validators in one process (devnet, simulation): loopback round trips are sub-millisecond.
    pub fn local() -> Self {
        ReliableConfig {
            // Loopback acks come back in well under 50 ms even under load.
            retransmit_min: Duration::from_millis(50),
            // Short, so a restarted validator gets its messages quickly.
            retransmit_max: Duration::from_secs(2),
            retransmit_jitter: 0.2,
            // A devnet round is short; ten seconds is many of them.
            deadline: Duration::from_secs(10),
            max_unacked_per_peer: 256,
            // Fewer nodes' worth of memory per process.
            max_finished: 4_096,
        }
    }

    /// Small bounds for unit tests: every limit is reachable in a few calls.
    pub fn test() -> Self {
        ReliableConfig {
            // Round numbers make schedules easy to assert on.
            retransmit_min: Duration::from_millis(100),
            retransmit_max: Duration::from_millis(800),
            // No jitter by default, so schedules are exact; tests of jitter set it.
            retransmit_jitter: 0.0,
            deadline: Duration::from_secs(5),
            max_unacked_per_peer: 4,
            max_finished: 8,
        }
    }
}

impl Default for ReliableConfig {
    fn default() -> Self {
        Self::recommended()
    }
}
