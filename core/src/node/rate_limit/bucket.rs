use tokio::time::Instant;

/// A token bucket over bytes: `rate` bytes per second, holding at most `burst`.
///
/// A frame larger than the burst costs the whole burst (not its length), so a legitimately large
/// frame (a block proposal) passes from a full bucket instead of never passing.
///
/// ```
/// use quorumnet_core::node::rate_limit::TokenBucket;
/// use std::time::Duration;
/// use tokio::time::Instant;
///
/// let start = Instant::now();
/// let mut bucket = TokenBucket::new(1_000, 2_000, start);
/// assert!(bucket.take(1_500, start));
/// assert!(!bucket.take(1_000, start), "500 left");
/// assert!(bucket.take(1_000, start + Duration::from_millis(500)), "refilled to 1 000");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TokenBucket {
    rate: u64,
    burst: u64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u64, burst: u64, now: Instant) -> Self {
        TokenBucket { rate, burst, tokens: burst as f64, at: now }
    }

    /// Takes `cost` bytes' worth (at most the burst) if the bucket holds them at `now`; whether it did.
    pub fn take(&mut self, cost: u64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate as f64).min(self.burst as f64);
        self.at = self.at.max(now);
        let cost = cost.min(self.burst) as f64;
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}
