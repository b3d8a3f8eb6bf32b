//! [`LivenessMonitor`]: which validators are heard, which timed out, and whether the network stalled or
//! split.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::eclipse::{EclipseChange, EclipseSignal};
use super::LivenessConfig;
use crate::identity::ValidatorId;
use crate::message::{HearsBitmap, Height, Round};
use crate::node::clock::earlier;
use crate::validator::ValidatorSet;

/// Why a validator is considered timed out. A liveness fact, never a fault: nothing here scores or
/// bans anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidatorTimeout {
    /// No heartbeat for at least the liveness timeout.
    NoHeartbeat {
        /// How long it had been silent when the timeout was reported.
        silent_for: Duration,
    },
    /// Its connection to this node was lost.
    ConnectionLost,
    /// The engine reports no votes from it at `height`/`round` (via
    /// [`report_timeout`](LivenessMonitor::report_timeout)).
    NoVotes {
        /// The height the engine waited at.
        height: Height,
        /// The round the engine waited in.
        round: Round,
    },
    /// The engine's round timer expired waiting for it (via
    /// [`report_timeout`](LivenessMonitor::report_timeout)).
    RoundTimeout {
        /// The height the engine waited at.
        height: Height,
        /// The round that timed out.
        round: Round,
    },
}

impl ValidatorTimeout {
    /// Whether this timeout means the validator cannot be reached (no heartbeat, lost connection), as
    /// opposed to reachable but not voting. Only unreachable validators count against reachable power,
    /// and only these are cleared by a heartbeat.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ValidatorTimeout::NoHeartbeat { .. } | ValidatorTimeout::ConnectionLost)
    }
}

/// What the monitor reports, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LivenessEvent {
    /// `validator` timed out.
    TimedOut {
        /// The validator.
        validator: ValidatorId,
        /// Why.
        reason: ValidatorTimeout,
    },
    /// A timed-out `validator` was heard again (heartbeat) or marked responsive by the engine.
    ResponsiveAgain {
        /// The validator.
        validator: ValidatorId,
    },
    /// Timed-out validators hold more than a third of the voting power: consensus cannot progress
    /// until some return. Reported once per stall.
    Stalled {
        /// Voting power of the timed-out validators.
        timed_out_power: u64,
        /// Total voting power of the set.
        total_power: u64,
    },
    /// Timed-out power is back to at most a third.
    StallCleared,
    /// Reachable voting power has stayed below the quorum (more than 2/3) for the debounce time.
    NetworkPartition {
        /// The validators this node reaches, itself included (if it is a validator).
        side_a: BTreeSet<ValidatorId>,
        /// The validators it cannot reach.
        side_b: BTreeSet<ValidatorId>,
    },
    /// Reachable voting power has stayed at a quorum for the debounce time after a partition.
    PartitionHealed,
    /// This node hears a quorum, but the validators that hear it — whose heartbeats list it and who
    /// acknowledge what it sends them — hold no quorum, and have not for the debounce (see
    /// [`liveness::eclipse`](super::eclipse)): its direct peers take its traffic and pass none of it
    /// on. It redials the validators that do not hear it.
    Eclipsed {
        /// The validators (heard, with a heartbeat) whose latest heartbeat does not list this node.
        unheard_by: BTreeSet<ValidatorId>,
    },
    /// A quorum hears this node again.
    EclipseCleared,
    /// `validator`'s wall clock is further from ours than
    /// [`LivenessConfig::max_clock_skew`](super::LivenessConfig::max_clock_skew), by the median of
    /// a majority of its skew window. Reported once, until [`ClockSkewCleared`](Self::ClockSkewCleared).
    ClockSkewed {
        /// The validator.
        validator: ValidatorId,
        /// Microseconds its clock is ahead of ours (negative: behind).
        offset_micros: i64,
    },
    /// A [`ClockSkewed`](Self::ClockSkewed) validator's estimate is back within the bound.
    ClockSkewCleared {
        /// The validator.
        validator: ValidatorId,
    },
}

/// What the monitor knows of one other validator.
#[derive(Clone, Debug)]
struct Watched {
    last_heartbeat: Option<Instant>,
    /// Start of the grace period before the first heartbeat (joining the set, or being marked
    /// responsive).
    watched_since: Instant,
    timed_out: Option<ValidatorTimeout>,
    /// The validators its latest heartbeat said it hears, as bits over the monitor's set: compared
    /// and tested per heartbeat without decoding a list of ids.
    hears: HearsBitmap,
    /// A reliable message to it went unacknowledged over a link that stayed up, and no ack from it
    /// came since: whatever its heartbeats say, what this node sends does not reach it.
    ack_missing: bool,
}

impl Watched {
    fn new(now: Instant) -> Self {
        Watched {
            last_heartbeat: None,
            watched_since: now,
            timed_out: None,
            hears: HearsBitmap::default(),
            ack_missing: false,
        }
    }

    /// Since when the validator is silent: its last heartbeat, or the start of its grace period.
    fn silent_since(&self) -> Instant {
        self.last_heartbeat.map_or(self.watched_since, |heard| heard.max(self.watched_since))
    }

    fn is_reachable(&self) -> bool {
        !self.timed_out.is_some_and(|reason| reason.is_unreachable())
    }
}

/// Partition detection with debounce: a change of side is reported only once it has held for
/// `partition_debounce`.
#[derive(Clone, Copy, Debug)]
enum Partition {
    Connected { below_since: Option<Instant> },
    Partitioned { above_since: Option<Instant> },
}

/// The liveness state of the validator set as this node sees it: pure and deterministic, time passed
/// in. Every mutating call returns the [`LivenessEvent`]s it caused; the actor forwards them.
///
/// # Rules
/// - A validator is *timed out* after `liveness_timeout` without a heartbeat (counted from when it was
///   first watched), on a lost connection, or when the engine says so
///   ([`report_timeout`](Self::report_timeout)). A heartbeat clears the unreachable kinds; the engine's
///   own timeouts are cleared by [`mark_responsive`](Self::mark_responsive).
/// - *Stalled* while timed-out validators hold more than a third of the voting power
///   ([`ValidatorSet::is_one_third_plus`]).
/// - *Partitioned* while the power of reachable validators (this node included) is not a
///   supermajority ([`ValidatorSet::is_supermajority`]), i.e. below the quorum: no decision can be
///   made on this side. A validator this node does not hear itself but one it hears does (the `hears`
///   of its latest heartbeat, [`on_heartbeat_hearing`](Self::on_heartbeat_hearing)) is reachable too —
///   messages reach it through that one — so a lost direct link alone is not a partition, and
///   `side_a` is what this node and the validators it hears can reach. DESIGN.md says "< 2/3 reachable"; exactly 2/3 cannot form a quorum either, so
///   it counts as partitioned. Both edges are debounced by `partition_debounce`.
/// - Silence is a liveness fact, never a fault.
///
/// ```
/// use std::time::Duration;
/// use std::sync::Arc;
/// use tokio::time::Instant;
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::node::liveness::{LivenessConfig, LivenessEvent, LivenessMonitor, ValidatorTimeout};
/// use quorumnet_core::validator::{ValidatorInfo, ValidatorSet};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
/// let set = Arc::new(ValidatorSet::new(keys.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 1))).unwrap());
/// let (me, peer) = (keys[0].validator_id(), keys[1].validator_id());
/// let start = Instant::now();
/// let mut monitor = LivenessMonitor::new(me, set, &LivenessConfig::test(), start);
///
/// monitor.on_heartbeat(peer, start);
/// assert!(monitor.is_validator_alive(&peer, start));
/// // 300 ms of silence (the test preset's timeout): timed out.
/// let events = monitor.tick(start + Duration::from_millis(300));
/// assert!(events.contains(&LivenessEvent::TimedOut {
///     validator: peer,
///     reason: ValidatorTimeout::NoHeartbeat { silent_for: Duration::from_millis(300) },
/// }));
/// assert!(!monitor.is_validator_alive(&peer, start + Duration::from_millis(300)));
/// # });
/// ```
#[derive(Debug)]
pub struct LivenessMonitor {
    me: ValidatorId,
    set: Arc<ValidatorSet>,
    liveness_timeout: Duration,
    partition_debounce: Duration,
    watched: BTreeMap<ValidatorId, Watched>,
    stalled: bool,
    partition: Partition,
    eclipse: EclipseSignal,
    /// This node's position in the set, its bit in others' `hears`.
    my_index: Option<usize>,
    /// The shortest time between settlings ([`LivenessConfig::settle_every`]).
    settle_every: Duration,
    /// When the signals were last settled.
    settled_at: Option<Instant>,
    /// A change waits to be settled at `settled_at + settle_every`.
    unsettled: bool,
    /// No validator falls silent before this: the earliest silence deadline when last computed. A
    /// heartbeat only moves a deadline later, so it stays a lower bound until a validator starts being
    /// watched afresh; [`tick`](Self::tick) makes it exact.
    next_silence: Option<Instant>,
}

impl LivenessMonitor {
    /// Watches every validator of `set` but `me`, each given one liveness timeout from `now` to be heard.
    pub fn new(me: ValidatorId, set: Arc<ValidatorSet>, config: &LivenessConfig, now: Instant) -> Self {
        let watched = set.ids().filter(|id| *id != me).map(|id| (id, Watched::new(now))).collect();
        let my_index = set.ids().position(|id| id == me);
        LivenessMonitor {
            me,
            my_index,
            set,
            liveness_timeout: config.liveness_timeout,
            partition_debounce: config.partition_debounce,
            watched,
            stalled: false,
            partition: Partition::Connected { below_since: None },
            // Others list this node only after its heartbeat reached them and theirs came back.
            eclipse: EclipseSignal::new(config.partition_debounce + config.liveness_timeout),
            settle_every: config.settle_every,
            settled_at: None,
            unsettled: false,
            next_silence: Some(now + config.liveness_timeout),
        }
    }

    /// Takes `config`'s liveness timeout and partition debounce (for a set whose size changed them,
    /// [`LivenessConfig::for_validators`]); what was decided under the old ones stands.
    pub fn set_timing(&mut self, config: &LivenessConfig) {
        self.liveness_timeout = config.liveness_timeout;
        self.partition_debounce = config.partition_debounce;
        self.settle_every = config.settle_every;
        self.eclipse.set_debounce(config.partition_debounce + config.liveness_timeout);
        self.next_silence = self.earliest_silence();
    }

    /// Follows a new validator set: joiners are watched from `now`, leavers forgotten.
    pub fn set_validator_set(&mut self, set: Arc<ValidatorSet>, now: Instant) -> Vec<LivenessEvent> {
        self.watched.retain(|id, _| set.contains(id));
        for id in set.ids().filter(|id| *id != self.me) {
            self.watched.entry(id).or_insert_with(|| Watched::new(now));
        }
        // The bits of what each validator hears index the old set: carried over to the new one.
        for watched in self.watched.values_mut() {
            let heard: BTreeSet<ValidatorId> =
                watched.hears.decode(&self.set).unwrap_or_default().into_iter().collect();
            watched.hears = HearsBitmap::of(&set, |id| heard.contains(id));
        }
        self.my_index = set.ids().position(|id| id == self.me);
        self.set = set;
        self.next_silence = self.earliest_silence();
        self.evaluate(now, Vec::new())
    }

    /// A heartbeat from `from` (its signature already verified). Heartbeats from outside the set are
    /// ignored.
    pub fn on_heartbeat(&mut self, from: ValidatorId, now: Instant) -> Vec<LivenessEvent> {
        self.heartbeat(from, now, false)
    }

    /// A heartbeat from `from` that says it hears `hears`: [`on_heartbeat`](Self::on_heartbeat), and
    /// `hears` (members of the set only, replacing what it said before) is used for reachability
    /// while `from` is reachable itself.
    pub fn on_heartbeat_hearing(
        &mut self,
        from: ValidatorId,
        hears: &[ValidatorId],
        now: Instant,
    ) -> Vec<LivenessEvent> {
        let hears: BTreeSet<&ValidatorId> = hears.iter().collect();
        let bitmap = HearsBitmap::of(&self.set, |id| hears.contains(id));
        self.heartbeat_hearing(from, bitmap, now)
    }

    /// [`on_heartbeat_hearing`](Self::on_heartbeat_hearing) with the heartbeat's own bitmap and the set
    /// it was made against (the set in force at the heartbeat's height), read without a list of ids
    /// when that is the monitor's set. A bitmap that does not fit `of` counts as a heartbeat only.
    pub fn on_heartbeat_bitmap(
        &mut self,
        from: ValidatorId,
        hears: &HearsBitmap,
        of: &ValidatorSet,
        now: Instant,
    ) -> Vec<LivenessEvent> {
        if hears.fits(of).is_err() {
            return self.on_heartbeat(from, now);
        }
        let same_set = std::ptr::eq(of, &*self.set) || of.ids().eq(self.set.ids());
        if same_set {
            return self.heartbeat_hearing(from, hears.clone(), now);
        }
        let heard: BTreeSet<ValidatorId> = hears.decode(of).unwrap_or_default().into_iter().collect();
        let bitmap = HearsBitmap::of(&self.set, |id| heard.contains(id));
        self.heartbeat_hearing(from, bitmap, now)
    }

    fn heartbeat_hearing(&mut self, from: ValidatorId, hears: HearsBitmap, now: Instant) -> Vec<LivenessEvent> {
        let mut changed = false;
        if let Some(watched) = self.watched.get_mut(&from) {
            changed = hears != watched.hears;
            watched.hears = hears;
        }
        self.heartbeat(from, now, changed)
    }

    /// Records `from`'s heartbeat. The signals are settled again only when it changed their inputs —
    /// its first heartbeat, its reachability, or (`hears_changed`) whom it hears: at 100 validators
    /// a node takes 100 heartbeats per interval, and settling costs a pass over the set each time.
    /// A pending debounce is settled by [`tick`](Self::tick) at [`next_wakeup`](Self::next_wakeup).
    fn heartbeat(&mut self, from: ValidatorId, now: Instant, hears_changed: bool) -> Vec<LivenessEvent> {
        let mut events = Vec::new();
        let mut changed = hears_changed;
        if let Some(watched) = self.watched.get_mut(&from) {
            changed |= watched.last_heartbeat.is_none();
            watched.last_heartbeat = Some(now);
            if watched.timed_out.is_some_and(|reason| reason.is_unreachable()) {
                watched.timed_out = None;
                events.push(LivenessEvent::ResponsiveAgain { validator: from });
                changed = true;
                self.next_silence = earlier(self.next_silence, now + self.liveness_timeout);
            }
        }
        if !changed {
            return events;
        }
        self.evaluate(now, events)
    }

    /// A reliable message to `validator` went unacknowledged (`acked == false`: it timed out over a link
    /// that stayed up) or `validator` acknowledged one: the second sign of an eclipse besides heard-sets
    /// (see [`LivenessEvent::Eclipsed`]). A liveness fact only, like the rest.
    pub fn on_ack_outcome(&mut self, validator: ValidatorId, acked: bool, now: Instant) -> Vec<LivenessEvent> {
        if let Some(watched) = self.watched.get_mut(&validator) {
            watched.ack_missing = !acked;
        }
        self.evaluate(now, Vec::new())
    }

    /// This node's connection to `peer` was lost: it times out at once with
    /// [`ValidatorTimeout::ConnectionLost`] (if it is not timed out already). A heartbeat that still
    /// arrives, relayed by gossip, makes it responsive again.
    pub fn on_connection_lost(&mut self, peer: ValidatorId, now: Instant) -> Vec<LivenessEvent> {
        self.report_timeout(peer, ValidatorTimeout::ConnectionLost, now)
    }

    /// Reports `validator` timed out for `reason` — the engine's own [`ValidatorTimeout::NoVotes`] and
    /// [`ValidatorTimeout::RoundTimeout`] come in here. A validator already timed out keeps its first
    /// reason and nothing is reported again. Validators outside the set are ignored.
    pub fn report_timeout(
        &mut self,
        validator: ValidatorId,
        reason: ValidatorTimeout,
        now: Instant,
    ) -> Vec<LivenessEvent> {
        let mut events = Vec::new();
        if let Some(watched) = self.watched.get_mut(&validator) {
            if watched.timed_out.is_none() {
                watched.timed_out = Some(reason);
                events.push(LivenessEvent::TimedOut { validator, reason });
            }
        }
        self.evaluate(now, events)
    }

    /// The engine saw `validator` do its job: any timeout is cleared (reported as
    /// [`LivenessEvent::ResponsiveAgain`]) and its silence is counted afresh from `now`.
    pub fn mark_responsive(&mut self, validator: ValidatorId, now: Instant) -> Vec<LivenessEvent> {
        let mut events = Vec::new();
        if let Some(watched) = self.watched.get_mut(&validator) {
            watched.watched_since = now;
            if watched.timed_out.take().is_some() {
                events.push(LivenessEvent::ResponsiveAgain { validator });
                self.next_silence = earlier(self.next_silence, now + self.liveness_timeout);
            }
        }
        self.evaluate(now, events)
    }

    /// Times out validators silent for the liveness timeout, and settles the stall and partition
    /// signals. Call at [`next_wakeup`](Self::next_wakeup).
    pub fn tick(&mut self, now: Instant) -> Vec<LivenessEvent> {
        let mut events = Vec::new();
        for (id, watched) in &mut self.watched {
            let silent_for = now.saturating_duration_since(watched.silent_since());
            if watched.timed_out.is_none() && silent_for >= self.liveness_timeout {
                let reason = ValidatorTimeout::NoHeartbeat { silent_for };
                watched.timed_out = Some(reason);
                events.push(LivenessEvent::TimedOut { validator: *id, reason });
            }
        }
        self.next_silence = self.earliest_silence();
        self.settle(now, events)
    }

    /// The earliest silence deadline of a validator not timed out.
    fn earliest_silence(&self) -> Option<Instant> {
        let watched = self.watched.values().filter(|watched| watched.timed_out.is_none());
        watched.map(|watched| watched.silent_since() + self.liveness_timeout).min()
    }

    /// When [`tick`](Self::tick) next has something to decide: the earliest silence deadline of a
    /// validator not timed out, or the end of a pending partition or eclipse debounce.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let unsettled = self.settled_at.filter(|_| self.unsettled).map(|at| at + self.settle_every);
        let silence = self.next_silence.into_iter().chain(unsettled);
        let debounce = match self.partition {
            Partition::Connected { below_since: Some(since) } | Partition::Partitioned { above_since: Some(since) } => {
                Some(since + self.partition_debounce)
            }
            _ => None,
        };
        silence.chain(debounce).chain(self.eclipse.settles_at()).min()
    }

    /// Whether `validator` is in the set, not timed out, and heard within the liveness timeout (or still
    /// in its first grace period). This node itself is always alive.
    pub fn is_validator_alive(&self, validator: &ValidatorId, now: Instant) -> bool {
        if *validator == self.me {
            return self.set.contains(validator);
        }
        self.watched.get(validator).is_some_and(|watched| {
            watched.timed_out.is_none() && now.saturating_duration_since(watched.silent_since()) < self.liveness_timeout
        })
    }

    /// How long ago `validator`'s last heartbeat arrived; `None` if none has, or it is not watched.
    pub fn last_heartbeat_age(&self, validator: &ValidatorId, now: Instant) -> Option<Duration> {
        let heard = self.watched.get(validator)?.last_heartbeat?;
        Some(now.saturating_duration_since(heard))
    }

    /// Changes the silence after which a validator times out; takes effect at the next
    /// [`tick`](Self::tick).
    pub fn set_liveness_timeout(&mut self, timeout: Duration) {
        self.liveness_timeout = timeout;
        self.next_silence = self.earliest_silence();
    }

    /// The silence after which a validator times out.
    pub fn liveness_timeout(&self) -> Duration {
        self.liveness_timeout
    }

    /// The validators timed out now, with why, in id order.
    pub fn timed_out_validators(&self) -> Vec<(ValidatorId, ValidatorTimeout)> {
        self.watched.iter().filter_map(|(id, watched)| Some((*id, watched.timed_out?))).collect()
    }

    /// The validator set it watches (the node's current one).
    pub fn validator_set(&self) -> &ValidatorSet {
        &self.set
    }

    /// The node it watches for.
    pub fn me(&self) -> ValidatorId {
        self.me
    }

    /// Voting power of the timed-out validators.
    pub fn timed_out_power(&self) -> u64 {
        self.set.power_of(self.watched.iter().filter(|(_, w)| w.timed_out.is_some()).map(|(id, _)| id))
    }

    /// Voting power of the validators this node reaches, itself included.
    pub fn reachable_power(&self) -> u64 {
        self.set.power_of_set(&self.reachable())
    }

    /// Whether more than a third of the voting power is timed out.
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }

    /// Whether a partition has been reported and not yet healed.
    pub fn is_partitioned(&self) -> bool {
        matches!(self.partition, Partition::Partitioned { .. })
    }

    /// The validators reached (this node included, if in the set), in id order: those it hears, and
    /// those they hear. One hop is enough and keeps to fresh news: a validator's `hears` already
    /// counts what it hears through gossip, and only a validator heard now vouches for others.
    fn reachable(&self) -> BTreeSet<ValidatorId> {
        let heard = self.watched.iter().filter(|(_, watched)| watched.is_reachable());
        let vouched = heard.flat_map(|(_, watched)| watched.hears.decode(&self.set).unwrap_or_default());
        self.heard().into_iter().chain(vouched).collect()
    }

    /// The validators this node hears itself (and itself, if in the set), in id order.
    fn heard(&self) -> BTreeSet<ValidatorId> {
        let me = self.set.contains(&self.me).then_some(self.me);
        let heard = self.watched.iter().filter(|(_, watched)| watched.is_reachable()).map(|(id, _)| *id);
        me.into_iter().chain(heard).collect()
    }

    /// Settles the signals after a change, now or — within [`LivenessConfig::settle_every`] of the
    /// last settling — at [`next_wakeup`](Self::next_wakeup).
    fn evaluate(&mut self, now: Instant, events: Vec<LivenessEvent>) -> Vec<LivenessEvent> {
        if self.settled_at.is_some_and(|at| now < at + self.settle_every) {
            self.unsettled = true;
            return events;
        }
        self.settle(now, events)
    }

    /// Settles the stall, partition and eclipse signals, appending their events.
    fn settle(&mut self, now: Instant, mut events: Vec<LivenessEvent>) -> Vec<LivenessEvent> {
        (self.settled_at, self.unsettled) = (Some(now), false);
        let timed_out_power = self.timed_out_power();
        let stalled = self.set.is_one_third_plus(timed_out_power);
        if stalled != self.stalled {
            self.stalled = stalled;
            events.push(if stalled {
                LivenessEvent::Stalled { timed_out_power, total_power: self.set.total_power() }
            } else {
                LivenessEvent::StallCleared
            });
        }

        // Runs on every heartbeat: the validators vouched for by others' hears (up to n² ids) are
        // looked at only when those heard directly are not a quorum already.
        let heard = self.heard();
        let side_a = if self.set.is_supermajority(self.set.power_of_set(&heard)) { heard } else { self.reachable() };
        let below_quorum = !self.set.is_supermajority(self.set.power_of_set(&side_a));
        let settled = |since: &mut Option<Instant>, changed: bool| {
            if !changed {
                *since = None;
                return false;
            }
            now.saturating_duration_since(*since.get_or_insert(now)) >= self.partition_debounce
        };
        match &mut self.partition {
            Partition::Connected { below_since } => {
                if settled(below_since, below_quorum) {
                    self.partition = Partition::Partitioned { above_since: None };
                    let side_b = self.set.ids().filter(|id| !side_a.contains(id)).collect();
                    events.push(LivenessEvent::NetworkPartition { side_a, side_b });
                }
            }
            Partition::Partitioned { above_since } => {
                if settled(above_since, !below_quorum) {
                    self.partition = Partition::Connected { below_since: None };
                    events.push(LivenessEvent::PartitionHealed);
                }
            }
        }
        let me = self.me;
        let judged =
            self.watched.iter().filter(|(_, watched)| watched.is_reachable() && watched.last_heartbeat.is_some()).map(
                |(id, watched)| {
                    (*id, self.my_index.is_some_and(|i| watched.hears.contains_index(i)) && !watched.ack_missing)
                },
            );
        match self.eclipse.evaluate(&self.set, me, judged, now) {
            Some(EclipseChange::Eclipsed { unheard_by }) => events.push(LivenessEvent::Eclipsed { unheard_by }),
            Some(EclipseChange::Cleared) => events.push(LivenessEvent::EclipseCleared),
            None => {}
        }
        events
    }

    /// Whether this node is eclipsed (see [`LivenessEvent::Eclipsed`]).
    pub fn is_eclipsed(&self) -> bool {
        self.eclipse.is_eclipsed()
    }

    /// Whether this node is eclipsed and `validator` is one of those that do not hear it: its latest
    /// heartbeat does not list this node, or it left a reliable message unacknowledged over a live link.
    pub fn is_eclipsed_from(&self, validator: &ValidatorId) -> bool {
        self.is_eclipsed()
            && self.watched.get(validator).is_none_or(|watched| {
                !self.my_index.is_some_and(|i| watched.hears.contains_index(i)) || watched.ack_missing
            })
    }
}
