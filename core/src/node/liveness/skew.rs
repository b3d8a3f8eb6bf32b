//! [`SkewEstimator`]: how far each validator's wall clock is from ours, from its heartbeats.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::identity::ValidatorId;

/// A validator's clock offset: its wall clock minus ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockSkew {
    /// Microseconds its clock is ahead of ours (negative: behind). The median of the window.
    pub offset_micros: i64,
    /// Samples the median is over.
    pub samples: usize,
}

/// Clock skew per validator: each heartbeat's `time_micros` against our wall clock at arrival,
/// corrected by half the round trip (the heartbeat was sent about RTT/2 before it arrived), and the
/// median of the last `skew_window` samples.
///
/// The error of one sample is at most RTT/2 when the one-way delay is anywhere within the round trip;
/// the median discards the samples delayed by queueing. Feed only heartbeats received *directly* from
/// their origin: a gossiped copy spent extra hops, which RTT/2 does not cover.
///
/// ```
/// use std::time::Duration;
/// use quorumnet_core::identity::ValidatorId;
/// use quorumnet_core::node::liveness::SkewEstimator;
///
/// let peer = ValidatorId([7; 32]);
/// let mut skew = SkewEstimator::new(5);
/// // Sent at its 1_250_000 µs; arrived 50 ms later, at our 1_050_000 µs; RTT 100 ms.
/// skew.on_heartbeat(peer, 1_250_000, 1_050_000, Duration::from_millis(100));
/// assert_eq!(skew.estimate(&peer).unwrap().offset_micros, 250_000);
/// ```
#[derive(Debug)]
pub struct SkewEstimator {
    window: usize,
    samples: BTreeMap<ValidatorId, VecDeque<i64>>,
}

impl SkewEstimator {
    /// Keeps the last `window` samples per validator (at least one).
    pub fn new(window: usize) -> Self {
        SkewEstimator { window: window.max(1), samples: BTreeMap::new() }
    }

    /// A heartbeat from `validator` stamped `their_micros`, arriving when our wall clock read
    /// `our_micros`, with `rtt` the current round-trip estimate to it (zero if none yet). Returns the
    /// sample.
    pub fn on_heartbeat(&mut self, validator: ValidatorId, their_micros: u64, our_micros: u64, rtt: Duration) -> i64 {
        let half_rtt = i128::try_from(rtt.as_micros() / 2).unwrap_or(i128::MAX);
        let offset = i128::from(their_micros) + half_rtt - i128::from(our_micros);
        let sample = i64::try_from(offset).unwrap_or(if offset < 0 { i64::MIN } else { i64::MAX });
        let samples = self.samples.entry(validator).or_default();
        if samples.len() == self.window {
            samples.pop_front();
        }
        samples.push_back(sample);
        sample
    }

    /// `validator`'s skew: the median of its samples (the lower middle one for an even count).
    pub fn estimate(&self, validator: &ValidatorId) -> Option<ClockSkew> {
        let samples = self.samples.get(validator).filter(|samples| !samples.is_empty())?;
        let mut sorted: Vec<i64> = samples.iter().copied().collect();
        sorted.sort_unstable();
        Some(ClockSkew { offset_micros: sorted[(sorted.len() - 1) / 2], samples: sorted.len() })
    }

    /// Forgets `validator` (it left the set).
    pub fn forget(&mut self, validator: &ValidatorId) {
        self.samples.remove(validator);
    }
}
