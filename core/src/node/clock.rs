//! Time as the node sees it: a monotonic clock for timers and ages, and a wall clock for sequence
//! numbers and address-record versions.
//!
//! `tokio::time::pause` controls the monotonic clock but not the wall clock, so a simulation in
//! virtual time uses [`VirtualClock`], whose wall clock is a fixed base plus the virtual time elapsed:
//! the same program then produces the same sequence numbers, and so the same message ids, every run.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Where a node reads the time. Implementations must be monotonic in both readings.
pub trait Clock: Send + Sync + 'static {
    /// Monotonic time, on tokio's clock (virtual under `tokio::time::pause`).
    fn now(&self) -> Instant;

    /// Microseconds since the Unix epoch.
    fn wall_micros(&self) -> u64;
}

/// The operating system's clocks: what a production node uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall_micros(&self) -> u64 {
        // A clock before 1970 reads as the epoch: sequence numbers still increase from there.
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_micros() as u64)
    }
}

/// A wall clock that starts at a fixed value and advances with tokio's (possibly virtual) clock.
///
/// ```
/// use std::time::Duration;
/// use quorumnet_core::node::{Clock, VirtualClock};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let clock = VirtualClock::new(1_000_000);
/// tokio::time::sleep(Duration::from_millis(5)).await;
/// assert_eq!(clock.wall_micros(), 1_005_000);
/// # });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct VirtualClock {
    base_micros: u64,
    start: Instant,
}

impl VirtualClock {
    /// A clock reading `base_micros` now. Must be called within a Tokio runtime with time enabled.
    pub fn new(base_micros: u64) -> Self {
        VirtualClock { base_micros, start: Instant::now() }
    }

    /// [`VirtualClock::new`] behind an `Arc`, as [`NodeBuilder::clock`](super::NodeBuilder::clock) takes it.
    pub fn shared(base_micros: u64) -> Arc<dyn Clock> {
        Arc::new(Self::new(base_micros))
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall_micros(&self) -> u64 {
        self.base_micros.saturating_add(self.start.elapsed().as_micros() as u64)
    }
}

/// The earlier of a deadline that may be unset and an instant: how a lower bound on the next
/// deadline takes in a newly scheduled one.
pub(crate) fn earlier(deadline: Option<Instant>, at: Instant) -> Option<Instant> {
    Some(deadline.map_or(at, |deadline| deadline.min(at)))
}
