//! The actor's side of liveness: it drives the pure components of [`crate::node::liveness`].
//!
//! - Every [`LivenessConfig::heartbeat_interval`] the node signs a `Heartbeat` — its latest consensus
//!   position (set by the engine with [`Node::set_consensus_position`](super::Node::set_consensus_position)),
//!   its wall clock, and the validators its monitor has alive — and broadcasts it like any message
//!   (it travels at `Liveness` priority and is gossiped to validators without a direct link).
//! - Verified heartbeats feed the [`LivenessMonitor`]; they are consumed by the node, not delivered to
//!   the engine (which reads liveness from the handle and [`NodeEvent::Liveness`]).
//! - Lost links, validator-set changes and the engine's own reports feed it too; its timer is one
//!   branch of the actor's `select!`, at [`LivenessMonitor::next_wakeup`].
//! - Every [`LivenessEvent`] is emitted as [`NodeEvent::Liveness`].

use std::sync::Arc;

use tokio::time::Instant;

use super::actor::Actor;
use super::events::NodeEvent;
use crate::identity::ValidatorId;
use crate::message::{ConsensusMessage, Heartbeat, Height, MessageKind, Round};
use crate::node::liveness::{HeartbeatSchedule, LivenessConfig, LivenessEvent, LivenessMonitor};
use crate::validator::ValidatorSet;

/// What the actor keeps for liveness.
pub(crate) struct Liveness {
    pub monitor: LivenessMonitor,
    pub schedule: HeartbeatSchedule,
    /// The latest consensus position the engine reported; sent in every heartbeat.
    pub position: (Height, Round),
}

impl Liveness {
    pub fn new(
        me: ValidatorId,
        set: Arc<ValidatorSet>,
        config: &LivenessConfig,
        now: Instant,
        _seed: [u8; 32],
    ) -> Self {
        Liveness {
            monitor: LivenessMonitor::new(me, set, config, now),
            schedule: HeartbeatSchedule::new(config.heartbeat_interval, now),
            position: (Height(0), Round(0)),
        }
    }
}

/// A question or change from a handle, run on the actor's liveness state at the actor's `now`; it
/// returns the events it caused.
pub(crate) type LivenessCommand = Box<dyn FnOnce(&mut Liveness, Instant) -> Vec<LivenessEvent> + Send>;

impl Actor {
    /// Emits each liveness event as a [`NodeEvent::Liveness`].
    pub(crate) fn emit_liveness(&self, events: Vec<LivenessEvent>) {
        for event in events {
            self.emit(NodeEvent::Liveness(event));
        }
    }

    pub(crate) fn on_liveness_command(&mut self, command: LivenessCommand) {
        let events = command(&mut self.liveness, self.clock.now());
        self.emit_liveness(events);
    }

    /// When the actor next has liveness work: the next heartbeat or the monitor's next decision.
    pub(crate) fn next_liveness_wakeup(&self) -> Instant {
        let heartbeat = self.liveness.schedule.next_at();
        self.liveness.monitor.next_wakeup().map_or(heartbeat, |wakeup| wakeup.min(heartbeat))
    }

    /// Sends the heartbeat if due, and lets the monitor time out the silent.
    pub(crate) fn liveness_due(&mut self) {
        let now = self.clock.now();
        if self.liveness.schedule.poll(now) {
            self.send_heartbeat(now);
        }
        let events = self.liveness.monitor.tick(now);
        self.emit_liveness(events);
    }

    fn send_heartbeat(&mut self, now: Instant) {
        if !self.set.contains(&self.me) {
            return; // only validators report liveness
        }
        let (height, round) = self.liveness.position;
        let hears =
            self.set.ids().filter(|id| *id != self.me && self.liveness.monitor.is_validator_alive(id, now)).collect();
        let heartbeat = Heartbeat { validator: self.me, height, round, time_micros: self.clock.wall_micros(), hears };
        let envelope = self.signer.sign(&ConsensusMessage::Heartbeat(heartbeat));
        self.send_own(envelope, MessageKind::Heartbeat);
    }

    /// A verified heartbeat, received from `from` (its origin or a forwarder).
    pub(crate) fn on_heartbeat(&mut self, heartbeat: &Heartbeat, _from: ValidatorId) {
        let now = self.clock.now();
        let events = self.liveness.monitor.on_heartbeat(heartbeat.validator, now);
        self.emit_liveness(events);
    }

    /// This node's link to `peer` is gone.
    pub(crate) fn liveness_connection_lost(&mut self, peer: ValidatorId) {
        let events = self.liveness.monitor.on_connection_lost(peer, self.clock.now());
        self.emit_liveness(events);
    }

    /// The validator set changed to `set`.
    pub(crate) fn liveness_set_changed(&mut self, set: Arc<ValidatorSet>) {
        let events = self.liveness.monitor.set_validator_set(set, self.clock.now());
        self.emit_liveness(events);
    }
}
