//! [`RttEstimator`]: round-trip time per peer from `Ping`/`Pong`, smoothed as TCP does (RFC 6298).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::LivenessConfig;
use crate::identity::ValidatorId;

/// A peer's smoothed round-trip time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RttEstimate {
    /// Smoothed RTT (RFC 6298 `SRTT`).
    pub srtt: Duration,
    /// RTT variation (RFC 6298 `RTTVAR`).
    pub rttvar: Duration,
    /// The latest sample.
    pub latest: Duration,
    /// The smallest sample: the path's own round trip, without queueing. A stall (a cut link, a
    /// retransmission backoff) inflates `srtt` for a while; it cannot lower this.
    pub min: Duration,
    /// Samples taken.
    pub samples: u64,
}

impl RttEstimate {
    fn first(sample: Duration) -> Self {
        RttEstimate { srtt: sample, rttvar: sample / 2, latest: sample, min: sample, samples: 1 }
    }

    /// RFC 6298 §2.3: `RTTVAR ← 3/4·RTTVAR + 1/4·|SRTT − R|`, then `SRTT ← 7/8·SRTT + 1/8·R`.
    fn update(&mut self, sample: Duration) {
        let deviation = self.srtt.abs_diff(sample);
        self.rttvar = (self.rttvar * 3 + deviation) / 4;
        self.srtt = (self.srtt * 7 + sample) / 8;
        self.latest = sample;
        self.min = self.min.min(sample);
        self.samples = self.samples.saturating_add(1);
    }

    /// A timeout that a round trip exceeds only rarely: `SRTT + 4·RTTVAR` (RFC 6298's RTO without its
    /// one-second floor, which is TCP's, not a consensus engine's). What an engine adds to its round
    /// timeout per hop.
    pub fn timeout(&self) -> Duration {
        self.srtt + self.rttvar * 4
    }
}

/// Pings awaiting their pongs, and the RTT estimate of every peer answered.
///
/// Pure and deterministic: time is passed in, nonces count up from a caller-chosen start (draw it from
/// the node's seeded rng). Nonces are matched per peer, so one peer cannot answer another's ping.
///
/// # Bounds
/// At most `max_outstanding_pings` per peer: [`ping`](Self::ping) returns `None` at the bound (after
/// forgetting pings older than `ping_timeout`). A pong for an unknown, already answered or stale nonce
/// is ignored and counted ([`ignored_pongs`](Self::ignored_pongs)).
///
/// ```
/// use std::time::Duration;
/// use tokio::time::Instant;
/// use quorumnet_core::identity::ValidatorId;
/// use quorumnet_core::node::liveness::{LivenessConfig, RttEstimator};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let peer = ValidatorId([7; 32]);
/// let mut rtt = RttEstimator::new(&LivenessConfig::test(), 100);
/// let sent = Instant::now();
/// let nonce = rtt.ping(peer, sent).unwrap();
/// assert_eq!(rtt.on_pong(peer, nonce, sent + Duration::from_millis(40)), Some(Duration::from_millis(40)));
/// assert_eq!(rtt.estimate(&peer).unwrap().srtt, Duration::from_millis(40));
/// // The same pong again is ignored.
/// assert_eq!(rtt.on_pong(peer, nonce, sent + Duration::from_millis(41)), None);
/// # });
/// ```
#[derive(Debug)]
pub struct RttEstimator {
    max_outstanding: usize,
    ping_timeout: Duration,
    next_nonce: u64,
    outstanding: BTreeMap<ValidatorId, BTreeMap<u64, Instant>>,
    estimates: BTreeMap<ValidatorId, RttEstimate>,
    ignored_pongs: u64,
}

impl RttEstimator {
    /// No pings yet; the first nonce is `first_nonce`.
    pub fn new(config: &LivenessConfig, first_nonce: u64) -> Self {
        RttEstimator {
            max_outstanding: config.max_outstanding_pings,
            ping_timeout: config.ping_timeout,
            next_nonce: first_nonce,
            outstanding: BTreeMap::new(),
            estimates: BTreeMap::new(),
            ignored_pongs: 0,
        }
    }

    /// Records a ping to `peer` sent at `now` and returns its nonce, or `None` when `peer` already has
    /// the most pings outstanding: send nothing then.
    pub fn ping(&mut self, peer: ValidatorId, now: Instant) -> Option<u64> {
        let timeout = self.ping_timeout;
        let pings = self.outstanding.entry(peer).or_default();
        pings.retain(|_, sent| now.saturating_duration_since(*sent) <= timeout);
        if pings.len() >= self.max_outstanding {
            return None;
        }
        let nonce = self.next_nonce;
        self.next_nonce = self.next_nonce.wrapping_add(1);
        pings.insert(nonce, now);
        Some(nonce)
    }

    /// A pong from `peer` for `nonce`, received at `now`: the round-trip sample it gave, or `None` when
    /// it matched no outstanding ping of `peer` or came later than `ping_timeout`.
    pub fn on_pong(&mut self, peer: ValidatorId, nonce: u64, now: Instant) -> Option<Duration> {
        let sent = self.outstanding.get_mut(&peer).and_then(|pings| pings.remove(&nonce));
        let sample = sent.map(|sent| now.saturating_duration_since(sent)).filter(|rtt| *rtt <= self.ping_timeout);
        let Some(sample) = sample else {
            self.ignored_pongs += 1;
            return None;
        };
        self.estimates
            .entry(peer)
            .and_modify(|estimate| estimate.update(sample))
            .or_insert_with(|| RttEstimate::first(sample));
        Some(sample)
    }

    /// `peer`'s estimate, once it has answered a ping.
    pub fn estimate(&self, peer: &ValidatorId) -> Option<RttEstimate> {
        self.estimates.get(peer).copied()
    }

    /// Pings to `peer` awaiting an answer (stale ones included until the next [`ping`](Self::ping)).
    pub fn outstanding(&self, peer: &ValidatorId) -> usize {
        self.outstanding.get(peer).map_or(0, BTreeMap::len)
    }

    /// Pongs ignored: unknown, repeated or stale nonces.
    pub fn ignored_pongs(&self) -> u64 {
        self.ignored_pongs
    }

    /// Forgets `peer` (it left the set). Its estimate is dropped: a validator that returns is measured
    /// afresh.
    pub fn forget(&mut self, peer: &ValidatorId) {
        self.outstanding.remove(peer);
        self.estimates.remove(peer);
    }
}
