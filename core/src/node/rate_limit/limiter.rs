use std::collections::HashMap;

use tokio::time::Instant;

use super::TokenBucket;
use crate::identity::ValidatorId;
use crate::node::gossip::fifo::IdHashState;
use crate::node::priority::Priority;

/// One priority's limit: sustained bytes per second and burst bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained rate, bytes per second.
    pub rate: u64,
    /// Bucket size, bytes.
    pub burst: u64,
}

/// The inbound limits per priority: per peer (every frame its link carries) and per origin (the new
/// envelopes a validator signed, however they came).
///
/// Both are needed because peers forward each other's messages. A per-peer limit alone cannot tell
/// an honest relay passing on a flood it admitted from the flooder; the per-origin limit contains a
/// flood at the first honest hop, so what honest peers forward stays far below their per-peer limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Per peer, indexed by [`Priority::rank`].
    pub limits: [RateLimit; Priority::COUNT],
    /// Per origin, indexed by [`Priority::rank`]: well below the per-peer limits, so a peer relaying
    /// a few validators' full allowance stays within its own.
    pub origin_limits: [RateLimit; Priority::COUNT],
}

impl RateLimitConfig {
    /// Production: well above what one honest validator sends (a vote is ≈ 3.5 KB on the wire and a
    /// validator sends a few per round; a proposal can be megabytes), far below what a flooder could.
    ///
    /// Per origin: 256 KB/s of votes (≈ 70 a second, a burst of 37), 16 MB/s of proposals with a
    /// 16 MiB burst (a 4 MiB block four times in a row), a heartbeat's worth of liveness several times
    /// a second, address records a few times a minute.
    pub fn recommended() -> Self {
        Self::from_pairs(
            [
                (Priority::Vote, 2_000_000, 512 * 1024),
                (Priority::Proposal, 8_000_000, 4 * 1024 * 1024),
                (Priority::Liveness, 64 * 1024, 32 * 1024),
                (Priority::Discovery, 64 * 1024, 64 * 1024),
                (Priority::Bulk, 4_000_000, 1024 * 1024),
            ],
            [
                (Priority::Vote, 256 * 1024, 128 * 1024),
                (Priority::Proposal, 16_000_000, 16 * 1024 * 1024),
                (Priority::Liveness, 64 * 1024, 32 * 1024),
                (Priority::Discovery, 16 * 1024, 64 * 1024),
                (Priority::Bulk, 4_000_000, 4 * 1024 * 1024),
            ],
        )
    }

    /// Tests: small buckets, so a flood is cut after a few frames.
    pub fn test() -> Self {
        let small = [
            (Priority::Vote, 200_000, 64 * 1024),
            (Priority::Proposal, 400_000, 256 * 1024),
            (Priority::Liveness, 16 * 1024, 8 * 1024),
            (Priority::Discovery, 16 * 1024, 16 * 1024),
            (Priority::Bulk, 200_000, 64 * 1024),
        ];
        Self::from_pairs(small, small)
    }

    /// Validators whose relayed traffic the per-peer limits of [`recommended`](Self::recommended)
    /// cover; [`relaying_for`](Self::relaying_for) scales them beyond.
    pub const PER_PEER_LIMITS_COVER: usize = 100;

    /// These limits with the per-peer ones scaled for a set of `validators`: a peer relays every
    /// origin's messages and announces every origin's ids, so what an honest peer sends grows with
    /// the set. At a thousand validators on eight links each, a peer's `Have` frames alone came to
    /// ~64 KB per height per link, past the `Liveness` bucket; frames over it that are not relayed
    /// envelopes are charged to the peer, and honest relays were disconnected and banned a few
    /// heights into the run. Per-origin limits stay: one validator's own traffic does not grow with
    /// the set.
    ///
    /// ```
    /// use quorumnet_core::node::priority::Priority;
    /// use quorumnet_core::node::rate_limit::RateLimitConfig;
    ///
    /// let base = RateLimitConfig::recommended();
    /// let scaled = base.relaying_for(1000);
    /// let vote = Priority::Vote.rank();
    /// assert_eq!(scaled.limits[vote].rate, 10 * base.limits[vote].rate);
    /// assert_eq!(scaled.origin_limits, base.origin_limits);
    /// assert_eq!(base.relaying_for(40), base);
    /// ```
    pub fn relaying_for(&self, validators: usize) -> Self {
        let factor = validators.div_ceil(Self::PER_PEER_LIMITS_COVER).max(1) as u64;
        let mut scaled = *self;
        for limit in &mut scaled.limits {
            limit.rate = limit.rate.saturating_mul(factor);
            limit.burst = limit.burst.saturating_mul(factor);
        }
        scaled
    }

    fn from_pairs(
        per_peer: [(Priority, u64, u64); Priority::COUNT],
        per_origin: [(Priority, u64, u64); Priority::COUNT],
    ) -> Self {
        let table = |pairs: [(Priority, u64, u64); Priority::COUNT]| {
            let mut limits = [RateLimit { rate: 0, burst: 0 }; Priority::COUNT];
            for (priority, rate, burst) in pairs {
                limits[priority.rank()] = RateLimit { rate, burst };
            }
            limits
        };
        RateLimitConfig { limits: table(per_peer), origin_limits: table(per_origin) }
    }
}

/// Token buckets per peer and priority.
///
/// ```
/// use quorumnet_core::identity::ValidatorId;
/// use quorumnet_core::node::priority::Priority;
/// use quorumnet_core::node::rate_limit::{InboundLimiter, RateLimitConfig};
/// use tokio::time::Instant;
///
/// let mut limiter = InboundLimiter::new(RateLimitConfig::test());
/// let (flooder, honest, now) = (ValidatorId([1; 32]), ValidatorId([2; 32]), Instant::now());
/// let admitted = (0..100).filter(|_| limiter.admit(flooder, Priority::Vote, 3_500, now)).count();
/// assert!(admitted < 100);
/// assert!(limiter.admit(honest, Priority::Vote, 3_500, now), "another peer's bucket is its own");
/// ```
#[derive(Debug)]
pub struct InboundLimiter {
    limits: [RateLimit; Priority::COUNT],
    /// Hashed, not ordered: every frame and every envelope looks its sender up here.
    peers: HashMap<ValidatorId, [TokenBucket; Priority::COUNT], IdHashState>,
}

impl InboundLimiter {
    /// `config`'s per-peer limits; no peer seen yet, each starts with full buckets.
    pub fn new(config: RateLimitConfig) -> Self {
        InboundLimiter { limits: config.limits, peers: HashMap::default() }
    }

    /// `config`'s per-origin limits, keyed by the validator that signed an envelope.
    pub fn per_origin(config: RateLimitConfig) -> Self {
        InboundLimiter { limits: config.origin_limits, peers: HashMap::default() }
    }

    /// Whether a frame of `bytes` from `peer` at `priority` is within quota at `now` (and if so, charged).
    pub fn admit(&mut self, peer: ValidatorId, priority: Priority, bytes: u64, now: Instant) -> bool {
        let limits = self.limits;
        let buckets = self
            .peers
            .entry(peer)
            .or_insert_with(|| limits.map(|limit| TokenBucket::new(limit.rate, limit.burst, now)));
        buckets[priority.rank()].take(bytes, now)
    }

    /// Forgets `peer` (it left the set): memory is one bucket set per current peer.
    pub fn remove(&mut self, peer: &ValidatorId) {
        self.peers.remove(peer);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_flood_is_cut_to_the_sustained_rate_and_other_priorities_are_untouched() {
        let config = RateLimitConfig::test();
        let vote = config.limits[Priority::Vote.rank()];
        let mut limiter = InboundLimiter::new(config);
        let (peer, start) = (ValidatorId([1; 32]), Instant::now());
        // 100× the vote quota for 10 s, in 1 ms steps.
        let per_ms = vote.rate * 100 / 1000;
        let mut admitted = 0u64;
        for ms in 0..10_000u64 {
            let now = start + Duration::from_millis(ms);
            if limiter.admit(peer, Priority::Vote, per_ms, now) {
                admitted += per_ms;
            }
        }
        let allowed = vote.burst + vote.rate * 10;
        assert!(admitted <= allowed, "{admitted} > {allowed}");
        assert!(admitted >= allowed / 2, "the sustained rate still passes: {admitted}");
        assert!(limiter.admit(peer, Priority::Liveness, 100, start + Duration::from_secs(10)));
    }

    #[test]
    fn a_frame_larger_than_the_burst_passes_from_a_full_bucket() {
        let mut limiter = InboundLimiter::new(RateLimitConfig::test());
        let now = Instant::now();
        assert!(limiter.admit(ValidatorId([1; 32]), Priority::Proposal, 10_000_000, now));
        assert!(!limiter.admit(ValidatorId([1; 32]), Priority::Proposal, 1, now), "and empties it");
    }
}
