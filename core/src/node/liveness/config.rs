//! Every number liveness uses, with presets.

use std::time::Duration;

/// Heartbeat interval, liveness timeout, partition debounce and the RTT and clock-skew bounds.
///
/// Start from a preset — [`recommended`](Self::recommended) for production, [`local`](Self::local) for
/// many validators in one process, [`test`](Self::test) for unit tests — and change single fields with
/// struct update syntax.
///
/// ```
/// use std::time::Duration;
/// use quorumnet_core::node::liveness::LivenessConfig;
///
/// let config = LivenessConfig { heartbeat_interval: Duration::from_secs(2), ..LivenessConfig::recommended() };
/// assert!(config.liveness_timeout > config.heartbeat_interval);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LivenessConfig {
    /// How often this node broadcasts its signed heartbeat.
    pub heartbeat_interval: Duration,
    /// Silence after which a validator is reported [`NoHeartbeat`](super::ValidatorTimeout::NoHeartbeat).
    /// Several intervals, so one lost or late heartbeat is not a timeout.
    pub liveness_timeout: Duration,
    /// How long reachable voting power must stay below (or back above) the quorum before
    /// [`NetworkPartition`](super::LivenessEvent::NetworkPartition) (or
    /// [`PartitionHealed`](super::LivenessEvent::PartitionHealed)) is reported, so it does not flap.
    pub partition_debounce: Duration,
    /// How often the node pings each connected peer to measure the round trip.
    pub ping_interval: Duration,
    /// Pings awaiting a pong per peer; no further ping is sent to that peer until one is answered or
    /// goes stale.
    pub max_outstanding_pings: usize,
    /// A pong later than this after its ping is stale: ignored, its ping forgotten.
    pub ping_timeout: Duration,
    /// Heartbeat samples per validator whose median is the clock-skew estimate.
    pub skew_window: usize,
    /// A validator whose clock-skew estimate exceeds this (either way) is reported
    /// [`ClockSkewed`](super::LivenessEvent::ClockSkewed): its timestamps, and an engine's
    /// time-based rules, cannot be trusted to this precision.
    pub max_clock_skew: Duration,
}

impl LivenessConfig {
    /// Production values for validators over a WAN.
    pub fn recommended() -> Self {
        LivenessConfig {
            // A heartbeat is a signed envelope of ~3.4 KB plus 32 B per validator it hears (~6.9 KB at
            // 100 validators): once a second that is ~680 KB/s received per validator at 100
            // (`cargo bench --bench node -- heartbeat`), and detects a crash in seconds.
            heartbeat_interval: Duration::from_secs(1),
            // Five missed heartbeats: survives a lost one and a few seconds of a link reset.
            liveness_timeout: Duration::from_secs(5),
            // Two heartbeat intervals: a single validator flapping near the threshold is not a partition.
            partition_debounce: Duration::from_secs(2),
            // A 16-byte frame per peer every two seconds: negligible, and SRTT (which weighs each sample
            // 1/8) follows a changed route within half a minute.
            ping_interval: Duration::from_secs(2),
            // A ping per few seconds needs no more than a handful in flight.
            max_outstanding_pings: 4,
            // Far beyond any WAN round trip: a later answer measures a stall, not the network.
            ping_timeout: Duration::from_secs(10),
            // About half a minute of heartbeats: the median ignores a few delayed by gossip or GC.
            skew_window: 31,
            // NTP keeps servers within tens of ms; half a second off is a broken clock, and the bound
            // CometBFT's proposer-based timestamps assume by default (precision 505 ms).
            max_clock_skew: Duration::from_millis(500),
        }
    }

    /// Many validators in one process (devnet, simulation).
    pub fn local() -> Self {
        LivenessConfig {
            // Fast detection in a devnet, where heartbeat bytes are free.
            heartbeat_interval: Duration::from_millis(500),
            liveness_timeout: Duration::from_millis(2_500),
            partition_debounce: Duration::from_secs(1),
            ping_interval: Duration::from_secs(1),
            max_outstanding_pings: 4,
            ping_timeout: Duration::from_secs(5),
            skew_window: 15,
            max_clock_skew: Duration::from_millis(500),
        }
    }

    /// Small numbers for unit tests: timeouts reachable in a few virtual seconds.
    pub fn test() -> Self {
        LivenessConfig {
            heartbeat_interval: Duration::from_millis(100),
            // Three intervals.
            liveness_timeout: Duration::from_millis(300),
            partition_debounce: Duration::from_millis(200),
            ping_interval: Duration::from_millis(200),
            max_outstanding_pings: 2,
            ping_timeout: Duration::from_secs(1),
            skew_window: 5,
            // Below the 250 ms offsets the liveness tests give a node.
            max_clock_skew: Duration::from_millis(100),
        }
    }
}

impl Default for LivenessConfig {
    fn default() -> Self {
        Self::recommended()
    }
}
