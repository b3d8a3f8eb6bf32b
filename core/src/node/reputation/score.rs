use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::PeerBehavior;
use crate::identity::ValidatorId;

/// Thresholds and decay of a [`ReputationTable`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReputationConfig {
    /// A score at or below this disconnects the peer (it may redial once its score recovers).
    pub disconnect_below: f64,
    /// A score at or below this bans the peer for [`ban_duration`](Self::ban_duration).
    pub ban_below: f64,
    /// The lowest the liveness component goes; above `disconnect_below`, so liveness alone never
    /// disconnects or bans.
    pub liveness_floor: f64,
    /// The highest a score goes: good history cannot offset a provable fault.
    pub ceiling: f64,
    /// Scores halve toward neutral every `half_life`.
    pub half_life: Duration,
    /// How long a ban lasts before the timed unban.
    pub ban_duration: Duration,
}

impl Default for ReputationConfig {
    /// −500 disconnect, −1 000 ban, liveness floor −200, ceiling +100, 10 min half-life, 1 h bans.
    fn default() -> Self {
        ReputationConfig {
            disconnect_below: -500.0,
            ban_below: -1000.0,
            liveness_floor: -200.0,
            ceiling: 100.0,
            half_life: Duration::from_secs(600),
            ban_duration: Duration::from_secs(3600),
        }
    }
}

/// What a report leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to do.
    Keep,
    /// Close the peer's connections; it may come back.
    Disconnect,
    /// Ban the peer until the instant given (refuse it at admission on every transport).
    Ban {
        /// When the timed unban lifts it.
        until: Instant,
    },
}

/// One peer's score: faults and liveness kept apart so the liveness part can be clamped.
#[derive(Clone, Copy, Debug)]
struct Score {
    faults: f64,
    liveness: f64,
    at: Instant,
}

/// Per-peer reputation in virtual time.
///
/// ```
/// use quorumnet_core::identity::ValidatorId;
/// use quorumnet_core::node::reputation::{PeerBehavior, ReputationTable, ReputationConfig, Verdict};
/// use tokio::time::Instant;
///
/// let mut reputation = ReputationTable::new(ReputationConfig::default());
/// let (peer, now) = (ValidatorId([1; 32]), Instant::now());
/// assert_eq!(reputation.record(peer, PeerBehavior::InvalidSignature, now), Verdict::Keep);
/// assert!(matches!(reputation.record(peer, PeerBehavior::Equivocation, now), Verdict::Ban { .. }));
/// assert!(reputation.is_banned(&peer, now));
/// ```
#[derive(Debug)]
pub struct ReputationTable {
    config: ReputationConfig,
    scores: BTreeMap<ValidatorId, Score>,
    bans: BTreeMap<ValidatorId, Instant>,
}

impl ReputationTable {
    /// Empty: every peer neutral.
    pub fn new(config: ReputationConfig) -> Self {
        ReputationTable { config, scores: BTreeMap::new(), bans: BTreeMap::new() }
    }

    /// Scores `behavior` against `peer` at `now` and says what to do. A banned peer stays banned; a
    /// provable fault bans at once.
    pub fn record(&mut self, peer: ValidatorId, behavior: PeerBehavior, now: Instant) -> Verdict {
        let config = self.config;
        let mut score = self.decayed(&peer, now);
        if behavior.is_liveness() {
            score.liveness = (score.liveness + behavior.weight()).max(config.liveness_floor);
        } else {
            score.faults = (score.faults + behavior.weight()).min(config.ceiling - score.liveness.min(0.0));
        }
        self.scores.insert(peer, score);
        let total = score.faults + score.liveness;
        if let Some(&until) = self.bans.get(&peer) {
            return Verdict::Ban { until };
        }
        if behavior.is_provable() || total <= config.ban_below {
            return self.ban_peer(peer, config.ban_duration, now);
        }
        if total <= config.disconnect_below {
            return Verdict::Disconnect;
        }
        Verdict::Keep
    }

    /// `peer`'s score at `now` (0 is neutral).
    pub fn score(&self, peer: &ValidatorId, now: Instant) -> f64 {
        let score = self.decayed(peer, now);
        score.faults + score.liveness
    }

    /// Bans `peer` for `duration` from `now` (an operator's ban, or a score past the threshold).
    pub fn ban_peer(&mut self, peer: ValidatorId, duration: Duration, now: Instant) -> Verdict {
        let until = now + duration;
        let until = *self.bans.entry(peer).and_modify(|t| *t = (*t).max(until)).or_insert(until);
        Verdict::Ban { until }
    }

    /// Lifts `peer`'s ban and resets its score to neutral; whether it was banned.
    pub fn unban_peer(&mut self, peer: &ValidatorId) -> bool {
        self.scores.remove(peer);
        self.bans.remove(peer).is_some()
    }

    /// Whether `peer` is banned at `now`.
    pub fn is_banned(&self, peer: &ValidatorId, now: Instant) -> bool {
        self.bans.get(peer).is_some_and(|until| *until > now)
    }

    /// The peers banned at `now`, with when each ban ends, in id order.
    pub fn bans(&self, now: Instant) -> Vec<(ValidatorId, Instant)> {
        self.bans.iter().filter(|(_, until)| **until > now).map(|(peer, until)| (*peer, *until)).collect()
    }

    /// Lifts every ban that has run out by `now` (the timed unban); the peers unbanned, to readmit.
    pub fn expire_bans(&mut self, now: Instant) -> Vec<ValidatorId> {
        let expired: Vec<ValidatorId> = self.bans.iter().filter(|(_, until)| **until <= now).map(|(p, _)| *p).collect();
        expired.iter().for_each(|peer| {
            self.unban_peer(peer);
        });
        expired
    }

    /// The earliest ban expiry, for the driver's timer.
    pub fn next_unban(&self) -> Option<Instant> {
        self.bans.values().min().copied()
    }

    /// `peer`'s score decayed to `now`: each component halves toward 0 every half-life.
    fn decayed(&self, peer: &ValidatorId, now: Instant) -> Score {
        let Some(score) = self.scores.get(peer) else { return Score { faults: 0.0, liveness: 0.0, at: now } };
        let elapsed = now.saturating_duration_since(score.at).as_secs_f64();
        let factor = 0.5f64.powf(elapsed / self.config.half_life.as_secs_f64().max(f64::MIN_POSITIVE));
        Score { faults: score.faults * factor, liveness: score.liveness * factor, at: now.max(score.at) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> ValidatorId {
        ValidatorId([7; 32])
    }

    #[test]
    fn liveness_alone_never_disconnects_or_bans_however_long_it_lasts() {
        let mut reputation = ReputationTable::new(ReputationConfig::default());
        let start = Instant::now();
        for i in 0..100_000u64 {
            let now = start + Duration::from_millis(i * 10);
            for behavior in [PeerBehavior::Silence, PeerBehavior::Timeout, PeerBehavior::AckFromNonDestination] {
                assert_eq!(reputation.record(peer(), behavior, now), Verdict::Keep, "report {i}");
            }
        }
        let score = reputation.score(&peer(), start + Duration::from_secs(1000));
        assert!(score > ReputationConfig::default().disconnect_below, "{score}");
    }

    #[test]
    fn invalid_envelopes_disconnect_then_ban_and_a_provable_fault_bans_at_once() {
        let config = ReputationConfig::default();
        let mut reputation = ReputationTable::new(config);
        let now = Instant::now();
        let verdicts: Vec<Verdict> =
            (0..10).map(|_| reputation.record(peer(), PeerBehavior::InvalidSignature, now)).collect();
        assert_eq!(verdicts[..4], [Verdict::Keep; 4]);
        assert_eq!(verdicts[4], Verdict::Disconnect, "-500");
        assert_eq!(verdicts[9], Verdict::Ban { until: now + config.ban_duration }, "-1000");
        let other = ValidatorId([8; 32]);
        // Good history is capped: it cannot absorb an equivocation.
        for _ in 0..10_000 {
            reputation.record(other, PeerBehavior::ValidMessage, now);
        }
        assert!(matches!(reputation.record(other, PeerBehavior::Equivocation, now), Verdict::Ban { .. }));
    }

    #[test]
    fn scores_decay_toward_neutral_and_bans_lift_on_time() {
        let config = ReputationConfig::default();
        let mut reputation = ReputationTable::new(config);
        let now = Instant::now();
        reputation.record(peer(), PeerBehavior::InvalidSignature, now);
        let later = now + config.half_life;
        assert!((reputation.score(&peer(), later) + 50.0).abs() < 1e-6, "halved");
        reputation.ban_peer(peer(), Duration::from_secs(60), now);
        assert!(reputation.is_banned(&peer(), now + Duration::from_secs(59)));
        assert_eq!(reputation.next_unban(), Some(now + Duration::from_secs(60)));
        assert!(reputation.expire_bans(now + Duration::from_secs(59)).is_empty());
        assert_eq!(reputation.expire_bans(now + Duration::from_secs(60)), vec![peer()]);
        assert!(!reputation.is_banned(&peer(), now + Duration::from_secs(60)));
        assert_eq!(reputation.score(&peer(), now), 0.0, "unbanned peers start neutral");
        assert!(!reputation.unban_peer(&peer()), "nothing left to lift");
    }
}
