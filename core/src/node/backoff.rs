//! Jittered exponential backoff, shared by everything in the node that retries on a schedule.

use std::time::Duration;

use rand::Rng;

/// `min · 2^attempts`, capped at `max`, times a factor drawn uniformly from `1 ± jitter` (clamped to
/// `0..=1`) with the caller's — in simulations seeded — rng.
///
/// With `jitter == 0` no randomness is drawn, so the schedule is exactly the capped doubling. The
/// exponent saturates at 16, so a huge `attempts` cannot overflow: the cap applies long before.
///
/// ```
/// use std::time::Duration;
/// use rand::{rngs::StdRng, SeedableRng};
/// use quorumnet_core::node::jittered_backoff;
///
/// let mut rng = StdRng::seed_from_u64(7);
/// let (min, max) = (Duration::from_millis(100), Duration::from_secs(1));
/// assert_eq!(jittered_backoff(min, max, 0.0, 3, &mut rng), Duration::from_millis(800));
/// assert_eq!(jittered_backoff(min, max, 0.0, 9, &mut rng), max);
/// let jittered = jittered_backoff(min, max, 0.5, 0, &mut rng);
/// assert!(jittered >= Duration::from_millis(50) && jittered <= Duration::from_millis(150));
/// ```
pub fn jittered_backoff<R: Rng + ?Sized>(
    min: Duration,
    max: Duration,
    jitter: f64,
    attempts: u32,
    rng: &mut R,
) -> Duration {
    let base = nominal_backoff(min, max, attempts);
    let jitter = jitter.clamp(0.0, 1.0);
    let factor = if jitter > 0.0 { rng.gen_range(1.0 - jitter..=1.0 + jitter) } else { 1.0 };
    base.mul_f64(factor)
}

/// `min · 2^attempts` capped at `max`: [`jittered_backoff`] without the jitter.
pub(crate) fn nominal_backoff(min: Duration, max: Duration, attempts: u32) -> Duration {
    min.saturating_mul(1u32 << attempts.min(16)).min(max)
}
