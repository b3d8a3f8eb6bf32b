//! [`HeartbeatSchedule`]: when this node broadcasts its next heartbeat.

use std::time::Duration;

use tokio::time::Instant;

/// A fixed-interval schedule that never bursts: after a stall it fires once and resumes from `now`,
/// rather than sending every heartbeat it missed.
///
/// ```
/// use std::time::Duration;
/// use tokio::time::Instant;
/// use quorumnet_core::node::liveness::HeartbeatSchedule;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let start = Instant::now();
/// let mut schedule = HeartbeatSchedule::new(Duration::from_secs(1), start);
/// assert!(schedule.poll(start)); // the first heartbeat goes out at once
/// assert!(!schedule.poll(start + Duration::from_millis(999)));
/// assert!(schedule.poll(start + Duration::from_secs(1)));
/// // Ten seconds of stall: one heartbeat, not ten.
/// assert!(schedule.poll(start + Duration::from_secs(11)));
/// assert!(!schedule.poll(start + Duration::from_secs(11)));
/// assert_eq!(schedule.next_at(), start + Duration::from_secs(12));
/// # });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct HeartbeatSchedule {
    interval: Duration,
    next_at: Instant,
}

impl HeartbeatSchedule {
    /// A schedule whose first heartbeat is due at `now`.
    pub fn new(interval: Duration, now: Instant) -> Self {
        HeartbeatSchedule { interval, next_at: now }
    }

    /// Whether a heartbeat is due at `now`; if so, the next one is scheduled an interval later (from the
    /// due time if on schedule, from `now` after a stall).
    pub fn poll(&mut self, now: Instant) -> bool {
        if now < self.next_at {
            return false;
        }
        let on_schedule = self.next_at + self.interval;
        self.next_at = if on_schedule > now { on_schedule } else { now + self.interval };
        true
    }

    /// When the next heartbeat is due: the actor's timer.
    pub fn next_at(&self) -> Instant {
        self.next_at
    }

    /// The interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Changes the interval; the next heartbeat moves to at most one new interval from `now`.
    pub fn set_interval(&mut self, interval: Duration, now: Instant) {
        self.interval = interval;
        self.next_at = self.next_at.min(now + interval);
    }
}
