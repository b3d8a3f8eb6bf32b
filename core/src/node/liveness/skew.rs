//! [`SkewEstimator`]: how far each validator's wall clock is from ours, from its heartbeats.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use super::LivenessEvent;
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
/// A heartbeat delayed by more than the round trip would skew the median if enough of them were
/// taken, and they come in bunches: a link that stalls (a cut, a partition, a retransmission
/// backoff) delivers what it held in one burst when it recovers, and gossip repair hands a
/// reconnected peer the heartbeats it missed, each stamped seconds ago. So a sample is taken only
/// once the next heartbeat of the same validator has arrived, and only if the two arrived at least
/// half as far apart as they were sent: of a bunch, only the last (the freshest) can count. A
/// validator whose clock really stepped sends heartbeats that arrive as spaced as they were sent,
/// and its new offset is taken. The estimate lags by one heartbeat.
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
/// assert_eq!(skew.estimate(&peer), None, "taken once the next heartbeat shows it was not delayed");
/// // The next one, sent a second later, arrives a second later.
/// skew.on_heartbeat(peer, 2_250_000, 2_050_000, Duration::from_millis(100));
/// assert_eq!(skew.estimate(&peer).unwrap().offset_micros, 250_000);
/// ```
#[derive(Debug)]
pub struct SkewEstimator {
    window: usize,
    samples: BTreeMap<ValidatorId, PeerSamples>,
}

/// One validator's samples, and its latest heartbeat's, waiting for the next to tell whether it was
/// delayed.
#[derive(Debug, Default)]
struct PeerSamples {
    taken: VecDeque<i64>,
    pending: Option<Pending>,
}

/// A sample not yet taken: when its heartbeat was sent (their clock) and arrived (ours).
#[derive(Clone, Copy, Debug)]
struct Pending {
    sample: i64,
    sent: u64,
    arrived: u64,
}

impl Pending {
    /// Whether this heartbeat was on time, judged by `next`: the two arrived at least half as far
    /// apart as they were sent (a delayed heartbeat arrives close to the ones after it).
    fn on_time(&self, next: &Pending) -> bool {
        2 * next.arrived.saturating_sub(self.arrived) >= next.sent - self.sent
    }
}

impl SkewEstimator {
    /// Keeps the last `window` samples per validator (at least one).
    pub fn new(window: usize) -> Self {
        SkewEstimator { window: window.max(1), samples: BTreeMap::new() }
    }

    /// A heartbeat from `validator` stamped `their_micros`, arriving when our wall clock read
    /// `our_micros`, with `rtt` the round trip to it (zero if none was measured yet). Returns the
    /// sample, which is taken, or not, when the next heartbeat arrives (see the
    /// [type documentation](Self)).
    pub fn on_heartbeat(&mut self, validator: ValidatorId, their_micros: u64, our_micros: u64, rtt: Duration) -> i64 {
        let half_rtt = i128::try_from(rtt.as_micros() / 2).unwrap_or(i128::MAX);
        let offset = i128::from(their_micros) + half_rtt - i128::from(our_micros);
        let sample = i64::try_from(offset).unwrap_or(if offset < 0 { i64::MIN } else { i64::MAX });
        let arrived = Pending { sample, sent: their_micros, arrived: our_micros };
        let peer = self.samples.entry(validator).or_default();
        match peer.pending {
            // Older than one already seen: a late copy, and never a sample.
            Some(pending) if their_micros <= pending.sent => return sample,
            Some(pending) if pending.on_time(&arrived) => {
                if peer.taken.len() == self.window {
                    peer.taken.pop_front();
                }
                peer.taken.push_back(pending.sample);
            }
            _ => {}
        }
        peer.pending = Some(arrived);
        sample
    }

    /// `validator`'s skew: the median of its samples (the lower middle one for an even count).
    pub fn estimate(&self, validator: &ValidatorId) -> Option<ClockSkew> {
        let samples = &self.samples.get(validator)?.taken;
        Some(ClockSkew { offset_micros: median(samples)?, samples: samples.len() })
    }

    /// Forgets `validator` (it left the set).
    pub fn forget(&mut self, validator: &ValidatorId) {
        self.samples.remove(validator);
    }
}

/// The median of `samples` (the lower middle one for an even count).
fn median(samples: &VecDeque<i64>) -> Option<i64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted: Vec<i64> = samples.iter().copied().collect();
    sorted.sort_unstable();
    Some(sorted[(sorted.len() - 1) / 2])
}

/// Which validators' clocks are off by more than a bound: turns skew estimates into
/// [`LivenessEvent::ClockSkewed`] / [`LivenessEvent::ClockSkewCleared`], each once per crossing.
///
/// An estimate is judged once its median is over more than half the window, so a few samples
/// delayed by queueing (or the first ones, taken before any RTT was known) cannot raise it.
///
/// ```
/// use std::time::Duration;
/// use quorumnet_core::identity::ValidatorId;
/// use quorumnet_core::node::liveness::{ClockSkew, LivenessEvent, SkewBound};
///
/// let peer = ValidatorId([7; 32]);
/// let mut bound = SkewBound::new(Duration::from_millis(500), 5);
/// assert_eq!(bound.judge(peer, ClockSkew { offset_micros: -900_000, samples: 2 }), None); // too few
/// assert_eq!(
///     bound.judge(peer, ClockSkew { offset_micros: -900_000, samples: 3 }),
///     Some(LivenessEvent::ClockSkewed { validator: peer, offset_micros: -900_000 })
/// );
/// assert_eq!(bound.judge(peer, ClockSkew { offset_micros: -800_000, samples: 4 }), None); // reported
/// assert_eq!(
///     bound.judge(peer, ClockSkew { offset_micros: 1_000, samples: 5 }),
///     Some(LivenessEvent::ClockSkewCleared { validator: peer })
/// );
/// ```
#[derive(Debug)]
pub struct SkewBound {
    max_micros: u64,
    min_samples: usize,
    /// Validators reported skewed and not yet cleared; bounded by the validator set (callers
    /// [`forget`](Self::forget) leavers).
    skewed: BTreeSet<ValidatorId>,
}

impl SkewBound {
    /// Judges estimates against `max` once they cover more than half of `window` samples.
    pub fn new(max: Duration, window: usize) -> Self {
        SkewBound {
            max_micros: u64::try_from(max.as_micros()).unwrap_or(u64::MAX),
            min_samples: window / 2 + 1,
            skewed: BTreeSet::new(),
        }
    }

    /// `validator`'s latest estimate: the event if it crossed the bound either way.
    pub fn judge(&mut self, validator: ValidatorId, skew: ClockSkew) -> Option<LivenessEvent> {
        if skew.samples < self.min_samples {
            return None;
        }
        let over = skew.offset_micros.unsigned_abs() > self.max_micros;
        match (over, self.skewed.contains(&validator)) {
            (true, false) => {
                self.skewed.insert(validator);
                Some(LivenessEvent::ClockSkewed { validator, offset_micros: skew.offset_micros })
            }
            (false, true) => {
                self.skewed.remove(&validator);
                Some(LivenessEvent::ClockSkewCleared { validator })
            }
            _ => None,
        }
    }

    /// Forgets `validator` (it left the set).
    pub fn forget(&mut self, validator: &ValidatorId) {
        self.skewed.remove(validator);
    }
}
