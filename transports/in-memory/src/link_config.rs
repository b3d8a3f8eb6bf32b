//! How one simulated link behaves: latency, jitter, bandwidth, loss (as TCP shows it) and resets.

use std::time::Duration;

/// The behaviour of a simulated link, applied to each direction of every connection over it.
///
/// Start from a preset and change single fields with a reason:
///
/// ```
/// use std::time::Duration;
/// use quorumnet_memory::LinkConfig;
///
/// let slow_wan = LinkConfig { latency: Duration::from_millis(150), ..LinkConfig::wan() };
/// assert_eq!(slow_wan.jitter, LinkConfig::wan().jitter);
/// assert_eq!(LinkConfig::perfect().latency, Duration::ZERO);
/// ```
///
/// What each field does to a frame, in order: the frame waits for the frames before it to be
/// transmitted, takes `len / bandwidth` to transmit, then arrives `latency` plus up to `jitter` later —
/// plus `retransmission_delay` for the fraction `loss` of frames — but never before a frame sent
/// earlier on the same connection and direction (jitter and loss delay later frames, as head-of-line
/// blocking does in TCP, rather than reorder them). Probabilities outside `0.0..=1.0` are clamped;
/// NaN counts as 0.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Extra one-way delay drawn uniformly from `0..=jitter` per frame; never reorders frames.
    pub jitter: Duration,
    /// Bytes per second each direction transmits; `None` transmits instantly.
    pub bandwidth: Option<u64>,
    /// Fraction of frames that are "lost" and retransmitted: they (and, in order, the frames behind
    /// them) arrive `retransmission_delay` late. Frames are never dropped.
    pub loss: f64,
    /// The extra delay of a lost frame: a retransmission timeout.
    pub retransmission_delay: Duration,
    /// Probability that transmitting one frame resets the connection instead.
    pub reset_per_frame: f64,
    /// Mean time between resets of one connection (exponentially distributed), or `None` for none.
    pub mean_time_between_resets: Option<Duration>,
}

impl LinkConfig {
    /// No delay, unlimited bandwidth, no loss, no resets: for conformance and unit tests.
    pub fn perfect() -> Self {
        LinkConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            bandwidth: None,
            loss: 0.0,
            retransmission_delay: Duration::ZERO,
            reset_per_frame: 0.0,
            mean_time_between_resets: None,
        }
    }

    /// A data-centre LAN: 250 µs one way with 50 µs of jitter, 1 Gbit/s, no loss. (Tokio's timer has
    /// millisecond resolution, so sub-millisecond delays round up to the next millisecond tick.)
    pub fn lan() -> Self {
        LinkConfig {
            latency: Duration::from_micros(250),
            jitter: Duration::from_micros(50),
            bandwidth: Some(125_000_000),
            ..Self::perfect()
        }
    }

    /// Validators on different continents: 40 ms one way with 10 ms of jitter, 100 Mbit/s, and 0.1 %
    /// of frames retransmitted after Linux's minimum retransmission timeout of 200 ms.
    pub fn wan() -> Self {
        LinkConfig {
            latency: Duration::from_millis(40),
            jitter: Duration::from_millis(10),
            bandwidth: Some(12_500_000),
            loss: 0.001,
            retransmission_delay: Duration::from_millis(200),
            ..Self::perfect()
        }
    }

    /// Time to put `len` bytes on the wire.
    pub(crate) fn transmission_time(&self, len: usize) -> Duration {
        crate::nic::serialisation_time(len, self.bandwidth)
    }
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self::perfect()
    }
}

/// `p` as a probability `rand` accepts.
pub(crate) fn probability(p: f64) -> f64 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}
