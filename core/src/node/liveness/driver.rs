//! The actor's side of liveness: it drives the pure components of [`crate::node::liveness`].
//!
//! - Every [`LivenessConfig::heartbeat_interval`] (scaled to the set's size by
//!   [`LivenessConfig::for_validators`]) the node signs a `Heartbeat` — its latest consensus
//!   position (set by the engine with [`Node::set_consensus_position`](crate::node::Node::set_consensus_position)),
//!   its wall clock, and the validators its monitor has alive — and broadcasts it like any message
//!   (it travels at `Liveness` priority and is gossiped to validators without a direct link).
//! - Verified heartbeats feed the [`LivenessMonitor`], with the validators their sender hears (what
//!   reaches the other side of a lost link, for partition detection); they are consumed by the node, not delivered to
//!   the engine (which reads liveness from the handle and [`NodeEvent::Liveness`]).
//! - Lost links, validator-set changes and the engine's own reports feed it too; its timer is one
//!   branch of the actor's `select!`, at [`LivenessMonitor::next_wakeup`].
//! - Every [`LivenessEvent`] is emitted as [`NodeEvent::Liveness`].
//! - Every [`LivenessConfig::ping_interval`] each connected peer gets a `Ping` (at most
//!   `max_outstanding_pings` unanswered); its `Pong` feeds the [`RttEstimator`]. Heartbeats received
//!   directly from their origin (not gossiped copies) feed the [`SkewEstimator`], corrected by half the path's smallest RTT;
//!   an estimate beyond [`LivenessConfig::max_clock_skew`] is a `ClockSkewed` event ([`SkewBound`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::identity::ValidatorId;
use crate::message::Frame;
use crate::message::{ConsensusMessage, HearsBitmap, Heartbeat, Height, MessageKind, Round};
use crate::node::actor::Actor;
use crate::node::events::NodeEvent;
use crate::node::liveness::{
    quorum_round_trip_of, HeartbeatSchedule, LivenessConfig, LivenessEvent, LivenessMonitor, RttEstimator, SkewBound,
    SkewEstimator,
};
use crate::validator::ValidatorSet;

/// What the actor keeps for liveness.
pub(crate) struct Liveness {
    pub monitor: LivenessMonitor,
    pub schedule: HeartbeatSchedule,
    /// The latest consensus position the engine reported; sent in every heartbeat.
    pub position: (Height, Round),
    pub rtt: RttEstimator,
    pub skew: SkewEstimator,
    pub skew_bound: SkewBound,
    ping_interval: Duration,
    next_ping: Instant,
    /// The configured values, before [`LivenessConfig::for_validators`] scales them to the set.
    config: LivenessConfig,
}

impl Liveness {
    /// Ping nonces start at `first_nonce` (drawn from the node's seeded rng).
    pub fn new(
        me: ValidatorId,
        set: Arc<ValidatorSet>,
        config: &LivenessConfig,
        now: Instant,
        first_nonce: u64,
    ) -> Self {
        let scaled = config.for_validators(set.len());
        Liveness {
            monitor: LivenessMonitor::new(me, set, &scaled, now),
            schedule: HeartbeatSchedule::new(scaled.heartbeat_interval, now),
            position: (Height(0), Round(0)),
            rtt: RttEstimator::new(config, first_nonce),
            skew: SkewEstimator::new(config.skew_window),
            skew_bound: SkewBound::new(config.max_clock_skew, config.skew_window),
            ping_interval: config.ping_interval,
            next_ping: now,
            config: config.clone(),
        }
    }
}

impl Liveness {
    /// The round trip within which a quorum of the current set's voting power answers this node, from
    /// the RTTs measured so far ([`quorum_round_trip_of`]).
    pub fn quorum_round_trip(&self) -> Option<Duration> {
        quorum_round_trip_of(self.monitor.validator_set(), self.monitor.me(), |id| self.rtt.estimate(id))
    }
}

/// A question or change from a handle, run on the actor's liveness state at the actor's `now`; it
/// returns the events it caused.
pub(crate) type LivenessCommand = Box<dyn FnOnce(&mut Liveness, Instant) -> Vec<LivenessEvent> + Send>;

impl Actor {
    /// Emits each liveness event as a [`NodeEvent::Liveness`]. An eclipsed node also dials, afresh,
    /// every validator not hearing it that it has no link to: a path around its peers.
    pub(crate) fn emit_liveness(&mut self, events: Vec<LivenessEvent>) {
        for event in events {
            if let LivenessEvent::Eclipsed { unheard_by } = &event {
                tracing::warn!(unheard_by = unheard_by.len(), "eclipsed: a quorum does not hear this node");
                // `dial_afresh` leaves linked peers alone.
                for validator in unheard_by {
                    self.dial_afresh(*validator);
                }
            }
            self.emit(NodeEvent::Liveness(event));
        }
    }

    pub(crate) fn on_liveness_command(&mut self, command: LivenessCommand) {
        let events = command(&mut self.liveness, self.clock.now());
        self.emit_liveness(events);
    }

    /// When the actor next has liveness work: the next heartbeat, pings, or the monitor's next decision.
    pub(crate) fn next_liveness_wakeup(&self) -> Instant {
        let heartbeat = self.liveness.schedule.next_at().min(self.liveness.next_ping);
        self.liveness.monitor.next_wakeup().map_or(heartbeat, |wakeup| wakeup.min(heartbeat))
    }

    /// Sends the heartbeat if due, and lets the monitor time out the silent.
    pub(crate) fn liveness_due(&mut self) {
        let now = self.clock.now();
        if self.liveness.schedule.poll(now) {
            self.send_heartbeat(now);
        }
        if now >= self.liveness.next_ping {
            self.liveness.next_ping = now + self.liveness.ping_interval;
            self.send_pings(now);
        }
        let events = self.liveness.monitor.tick(now);
        self.emit_liveness(events);
    }

    fn send_heartbeat(&mut self, now: Instant) {
        let (height, round) = self.liveness.position;
        // Only validators report liveness, and receivers judge a heartbeat by the set in force at its
        // height: a joiner whose engine has not reported a height of its set yet stays quiet.
        if !self.source.at_height(height).is_some_and(|set| set.contains(&self.me)) {
            return;
        }
        // The bits stand for the set in force at the heartbeat's height, where receivers look them up.
        let monitor = &self.liveness.monitor;
        let hears = self.source.at_height(height).map_or_else(HearsBitmap::default, |set| {
            HearsBitmap::of(&set, |id| *id != self.me && monitor.is_validator_alive(id, now))
        });
        let heartbeat = Heartbeat { validator: self.me, height, round, time_micros: self.clock.wall_micros(), hears };
        let envelope = self.signer.sign(&ConsensusMessage::Heartbeat(heartbeat));
        self.send_own(envelope, MessageKind::Heartbeat);
    }

    /// Pings every connected peer that has fewer than `max_outstanding_pings` unanswered.
    fn send_pings(&mut self, now: Instant) {
        for peer in self.connected().iter().copied() {
            if let Some(nonce) = self.liveness.rtt.ping(peer, now) {
                self.send_control(&peer, &Frame::Ping { nonce });
            }
        }
    }

    /// `from` answered ping `nonce`; its frame arrived at `received_at`.
    pub(crate) fn on_pong(&mut self, from: ValidatorId, nonce: u64, received_at: Instant) {
        self.liveness.rtt.on_pong(from, nonce, received_at);
    }

    /// A verified heartbeat, received from `from` (its origin or a forwarder). Only a copy straight from
    /// its origin is a clock-skew sample: a forwarded one spent hops that RTT/2 does not cover. The
    /// sample is corrected by the path's smallest round trip, not the smoothed one: after a stall the
    /// smoothed RTT holds seconds of queueing for a while, and half of it would push every fresh
    /// sample ahead by that much.
    pub(crate) fn on_heartbeat(&mut self, heartbeat: &Heartbeat, from: ValidatorId) {
        let now = self.clock.now();
        if from == heartbeat.validator {
            let rtt = self.liveness.rtt.estimate(&from).map_or(Duration::ZERO, |estimate| estimate.min);
            self.liveness.skew.on_heartbeat(from, heartbeat.time_micros, self.clock.wall_micros(), rtt);
            let crossed =
                self.liveness.skew.estimate(&from).and_then(|skew| self.liveness.skew_bound.judge(from, skew));
            self.emit_liveness(crossed.into_iter().collect());
        }
        let set = self.source.at_height(heartbeat.height).filter(|set| heartbeat.hears.fits(set).is_ok());
        let events = match set {
            Some(set) => self.liveness.monitor.on_heartbeat_bitmap(heartbeat.validator, &heartbeat.hears, &set, now),
            None => {
                tracing::debug!(from = %heartbeat.validator.short(), height = heartbeat.height.0, "heartbeat's hears unreadable");
                self.liveness.monitor.on_heartbeat(heartbeat.validator, now)
            }
        };
        self.emit_liveness(events);
    }

    /// A reliable message to `peer` was acknowledged, or went unacknowledged over a live link.
    pub(crate) fn liveness_ack_outcome(&mut self, peer: ValidatorId, acked: bool) {
        let events = self.liveness.monitor.on_ack_outcome(peer, acked, self.clock.now());
        self.emit_liveness(events);
    }

    /// This node's link to `peer` is gone.
    pub(crate) fn liveness_connection_lost(&mut self, peer: ValidatorId) {
        let events = self.liveness.monitor.on_connection_lost(peer, self.clock.now());
        self.emit_liveness(events);
    }

    /// The validator set changed to `set` (called before `peers` follows it): leavers' RTT and skew are
    /// forgotten, so a validator that returns is measured afresh.
    pub(crate) fn liveness_set_changed(&mut self, set: Arc<ValidatorSet>) {
        for peer in self.peers.keys().filter(|id| !set.contains(id)) {
            self.liveness.rtt.forget(peer);
            self.liveness.skew.forget(peer);
            self.liveness.skew_bound.forget(peer);
        }
        let now = self.clock.now();
        let scaled = self.liveness.config.for_validators(set.len());
        if scaled.heartbeat_interval != self.liveness.schedule.interval() {
            self.liveness.schedule.set_interval(scaled.heartbeat_interval, now);
            self.liveness.monitor.set_timing(&scaled);
        }
        let events = self.liveness.monitor.set_validator_set(set, now);
        self.emit_liveness(events);
    }
}
