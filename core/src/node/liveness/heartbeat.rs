//! [`HeartbeatSchedule`]: when this node broadcasts its next heartbeat; [`heard_by`]: whom a
//! received one says its sender hears.

use std::time::Duration;

use tokio::time::Instant;

use crate::identity::ValidatorId;
use crate::message::Heartbeat;
use crate::validator::ValidatorSetSource;

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

/// Whom `heartbeat`'s sender hears: its bitmap read against the set `source` has in force at the
/// heartbeat's height — the sender's set, which need not be the receiver's current one. `None` when
/// the bits cannot be read (no set known at that height, or a bitmap made against another set): the
/// heartbeat still shows its sender alive, but says nothing about whom it hears.
///
/// ```
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::message::{Heartbeat, HearsBitmap, Height, Round};
/// use quorumnet_core::node::liveness::heard_by;
/// use quorumnet_core::validator::{ListValidatorSetSource, ValidatorInfo, ValidatorSet};
///
/// let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
/// let set = ValidatorSet::new(keys.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 1))).unwrap();
/// let source = ListValidatorSetSource::new(set.clone(), Height(0), 4);
/// let first = set.ids().next().unwrap();
/// let hears = HearsBitmap::of(&set, |id| *id == first);
/// let heartbeat = Heartbeat { validator: first, height: Height(3), round: Round(0), time_micros: 0, hears };
/// assert_eq!(heard_by(&source, &heartbeat), Some(vec![first]));
/// ```
pub fn heard_by(source: &dyn ValidatorSetSource, heartbeat: &Heartbeat) -> Option<Vec<ValidatorId>> {
    let set = source.at_height(heartbeat.height)?;
    heartbeat.hears.decode(&set).ok()
}
