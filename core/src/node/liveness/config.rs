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
    /// How often this node broadcasts its signed heartbeat, in a set of at most
    /// [`heartbeat_scale_from`](Self::heartbeat_scale_from) validators.
    pub heartbeat_interval: Duration,
    /// Beyond this many validators, the heartbeat interval, liveness timeout and partition debounce
    /// grow with √(validators / this) ([`for_validators`](Self::for_validators)). Every validator
    /// receives every other's heartbeats, so at a fixed interval the heartbeat bytes each receives
    /// grow with N; this way they grow with √N, and crash detection slows by as much (at 100
    /// validators with the recommended values: a heartbeat every 2.5 s, a timeout of 12.5 s). Set
    /// it to `usize::MAX` for a fixed interval.
    pub heartbeat_scale_from: usize,
    /// Silence after which a validator is reported [`NoHeartbeat`](super::ValidatorTimeout::NoHeartbeat).
    /// Several intervals, so one lost or late heartbeat is not a timeout.
    pub liveness_timeout: Duration,
    /// How long reachable voting power must stay below (or back above) the quorum before
    /// [`NetworkPartition`](super::LivenessEvent::NetworkPartition) (or
    /// [`PartitionHealed`](super::LivenessEvent::PartitionHealed)) is reported, so it does not flap.
    pub partition_debounce: Duration,
    /// The shortest time between two settlings of the stall, partition and eclipse signals. Zero
    /// settles them on every change of their inputs. Each settling is a pass over the set, and a
    /// node takes N heartbeats per interval, so at a thousand validators settling on each costs a
    /// million steps per interval per node; [`for_validators`](Self::for_validators) sets it beyond
    /// [`SETTLE_ON_EVERY_CHANGE_UP_TO`](Self::SETTLE_ON_EVERY_CHANGE_UP_TO) validators. A change
    /// is then decided at most this much later: the signals are debounced far longer anyway.
    pub settle_every: Duration,
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
            // A heartbeat is a signed envelope of ~3.4 KB (its hears bitmap adds a bit per validator):
            // once a second from each of 16 validators is ~54 KB/s received per validator
            // (`cargo bench --bench node -- heartbeat`), and detects a crash in seconds.
            heartbeat_interval: Duration::from_secs(1),
            // Up to 16 validators at the interval; at 100, every 2.5 s: ~140 KB/s of heartbeats
            // received per validator instead of ~340 KB/s.
            heartbeat_scale_from: 16,
            // Five missed heartbeats: survives a lost one and a few seconds of a link reset.
            liveness_timeout: Duration::from_secs(5),
            // Two heartbeat intervals: a single validator flapping near the threshold is not a partition.
            partition_debounce: Duration::from_secs(2),
            settle_every: Duration::ZERO,
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
            heartbeat_scale_from: 16,
            liveness_timeout: Duration::from_millis(2_500),
            partition_debounce: Duration::from_secs(1),
            settle_every: Duration::ZERO,
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
            heartbeat_scale_from: 16,
            // Three intervals.
            liveness_timeout: Duration::from_millis(300),
            partition_debounce: Duration::from_millis(200),
            settle_every: Duration::ZERO,
            ping_interval: Duration::from_millis(200),
            max_outstanding_pings: 2,
            ping_timeout: Duration::from_secs(1),
            skew_window: 5,
            // Below the 250 ms offsets the liveness tests give a node.
            max_clock_skew: Duration::from_millis(100),
        }
    }
}

impl LivenessConfig {
    /// Validators up to which [`for_validators`](Self::for_validators) keeps
    /// [`settle_every`](Self::settle_every); beyond, the signals are settled at most eight times per
    /// heartbeat interval. At 100 validators settling on every change was 9 % of a devnet's CPU
    /// (each lost connection, or heartbeat with new `hears`, a pass over the set — over up to n² ids
    /// while fewer than a quorum are heard directly), where the partition debounce is seconds.
    pub const SETTLE_ON_EVERY_CHANGE_UP_TO: usize = 32;

    /// The values in force for a set of `validators`: this config beyond
    /// [`heartbeat_scale_from`](Self::heartbeat_scale_from) validators with the heartbeat interval,
    /// liveness timeout and partition debounce multiplied by √(validators / heartbeat_scale_from);
    /// unchanged up to it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use quorumnet_core::node::liveness::LivenessConfig;
    ///
    /// let config = LivenessConfig::recommended();
    /// assert_eq!(config.for_validators(16), config);
    /// let at_100 = config.for_validators(100);
    /// assert_eq!(at_100.heartbeat_interval, Duration::from_millis(2_500));
    /// assert_eq!(at_100.liveness_timeout, Duration::from_millis(12_500));
    /// assert_eq!(at_100.ping_interval, config.ping_interval, "pings go to direct peers only");
    /// assert_eq!(config.for_validators(32).settle_every, Duration::ZERO);
    /// assert_eq!(at_100.settle_every, Duration::from_micros(312_500), "an eighth of the interval");
    /// assert_eq!(config.for_validators(1_600).settle_every, Duration::from_millis(1_250));
    /// ```
    pub fn for_validators(&self, validators: usize) -> LivenessConfig {
        let mut config = self.clone();
        if validators > self.heartbeat_scale_from {
            let factor = (validators as f64 / self.heartbeat_scale_from.max(1) as f64).sqrt();
            config.heartbeat_interval = self.heartbeat_interval.mul_f64(factor);
            config.liveness_timeout = self.liveness_timeout.mul_f64(factor);
            config.partition_debounce = self.partition_debounce.mul_f64(factor);
        }
        if validators > Self::SETTLE_ON_EVERY_CHANGE_UP_TO {
            config.settle_every = config.settle_every.max(config.heartbeat_interval / 8);
        }
        config
    }
}

impl Default for LivenessConfig {
    fn default() -> Self {
        Self::recommended()
    }
}
