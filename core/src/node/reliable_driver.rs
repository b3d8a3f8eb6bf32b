//! The actor's side of reliable delivery: it drives the pure [`DeliveryTracker`] of
//! [`crate::node::reliable`], and the [`Node`] methods an engine calls.
//!
//! - [`Node::send_reliable`] signs the message and asks the actor to track it for one destination and
//!   put it on the direct link to that destination as a `Frame::Reliable` — never on gossip, and never
//!   through another validator: the ack must come from the destination itself over its own
//!   authenticated link (WIRE.md §5). A destination not connected now gets the message when its link
//!   comes back.
//! - A `Frame::Ack { id }` read from peer `p`'s link → [`DeliveryTracker::on_ack`]`(p, id)`: only the
//!   destination's own ack delivers. Another validator's ack is refused, counted
//!   ([`ReliableStats::rejected_acks`]) and reported ([`ReliableEvent::AckRejected`]).
//! - Each message's first retransmission waits at least the destination's round-trip timeout
//!   (`SRTT + 4·RTTVAR` from pings, once measured), then backs off exponentially from there.
//! - The retransmission timer is one branch of the actor's `biased` select, at
//!   [`DeliveryTracker::next_wakeup`]: expire what passed its deadline, then retransmit what is due.
//! - A link coming up makes that peer's pending messages due at once; a validator leaving the set
//!   fails its pending messages.
//! - Every ending is a [`NodeEvent::Reliable`]; retransmissions and timeouts are traced.
//!
//! Jitter comes from an rng of its own, derived from the node's seed: reliable traffic never shifts
//! the random choices gossip and the connection manager make.

use rand::rngs::StdRng;
use rand::SeedableRng as _;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::actor::{Actor, Command};
use super::error::NodeError;
use super::events::NodeEvent;
use super::handle::Node;
use crate::identity::ValidatorId;
use crate::message::{ConsensusMessage, Envelope, Frame, MessageId};
use crate::node::priority::{payload_kind, Priority};
use crate::node::reliable::{
    AckOutcome, DeliveryStatus, DeliveryTracker, DeliveryWaiter, ReliableConfig, ReliableEvent, ReliableStats,
    Retransmit,
};

/// What the actor keeps for reliable delivery.
pub(crate) struct Reliable {
    tracker: DeliveryTracker,
    rng: StdRng,
    /// Counters the tracker does not keep itself (`pending` and `rejected_acks` are read from it).
    stats: ReliableStats,
}

impl Reliable {
    /// A tracker with `config`; jitter drawn from an rng derived from the node's rng `seed`.
    pub fn new(config: ReliableConfig, seed: &[u8; 32]) -> Self {
        let seed = blake3::derive_key("quorumnet/1 reliable-delivery jitter", seed);
        Reliable {
            tracker: DeliveryTracker::new(config),
            rng: StdRng::from_seed(seed),
            stats: ReliableStats::default(),
        }
    }
}

/// A reliable-delivery request from a handle.
pub(crate) enum ReliableCommand {
    Send { to: ValidatorId, envelope: Envelope, reply: oneshot::Sender<Result<MessageId, NodeError>> },
    Status { to: ValidatorId, id: MessageId, reply: oneshot::Sender<Option<DeliveryStatus>> },
    Waiter { to: ValidatorId, id: MessageId, reply: oneshot::Sender<Option<DeliveryWaiter>> },
    RetransmitUnacked(oneshot::Sender<usize>),
}

impl Actor {
    pub(crate) fn on_reliable_command(&mut self, command: ReliableCommand) {
        match command {
            ReliableCommand::Send { to, envelope, reply } => {
                let _ = reply.send(self.send_reliable(to, envelope));
            }
            ReliableCommand::Status { to, id, reply } => {
                let _ = reply.send(self.reliable.tracker.status(to, &id));
            }
            ReliableCommand::Waiter { to, id, reply } => {
                let _ = reply.send(self.reliable.tracker.waiter(to, &id));
            }
            ReliableCommand::RetransmitUnacked(reply) => {
                let now = self.clock.now();
                let all = self.reliable.tracker.retransmit_unacked(now, &mut self.reliable.rng);
                let _ = reply.send(all.len());
                self.transmit(all);
            }
        }
    }

    fn send_reliable(&mut self, to: ValidatorId, envelope: Envelope) -> Result<MessageId, NodeError> {
        if to == self.me || !self.peers.contains_key(&to) {
            return Err(NodeError::NotAPeer { peer: to });
        }
        // Not resent before an ack could be back: the first wait is at least the round-trip timeout.
        let rto = self.liveness.rtt.estimate(&to).map(|estimate| estimate.timeout());
        let first = self.reliable.tracker.send_with_rto(to, envelope, self.clock.now(), rto).inspect_err(|_| {
            self.reliable.stats.refused += 1;
        })?;
        self.reliable.stats.sent += 1;
        self.keep_link_for_reliable(to);
        let id = first.id;
        self.transmit(vec![first]);
        Ok(id)
    }

    /// When the tracker next has work: a retransmission or a deadline.
    pub(crate) fn next_reliable_wakeup(&self) -> Option<Instant> {
        self.reliable.tracker.next_wakeup()
    }

    /// Gives up what passed its deadline, then retransmits what is due.
    pub(crate) fn reliable_due(&mut self) {
        let now = self.clock.now();
        for (peer, id) in self.reliable.tracker.expire(now) {
            self.reliable.stats.timed_out += 1;
            tracing::info!(peer = %peer.short(), %id, "reliable message timed out: no ack from its destination");
            self.emit(NodeEvent::Reliable(ReliableEvent::TimedOut { peer, id }));
            // Over a link up for the whole deadline the message had every chance: the peer takes our
            // traffic and does not answer, a sign of an eclipse.
            let deadline = self.config.reliable.deadline;
            let link_stayed_up = self
                .peers
                .get(&peer)
                .and_then(|state| state.link.as_ref())
                .is_some_and(|active| now.saturating_duration_since(active.since) >= deadline);
            if link_stayed_up {
                self.liveness_ack_outcome(peer, false);
            }
        }
        let due = self.reliable.tracker.due(now, &mut self.reliable.rng);
        self.transmit(due);
    }

    /// Puts each (re)transmission on its destination's direct link, if it has one; otherwise it waits
    /// for the link to come back ([`reliable_peer_connected`](Self::reliable_peer_connected)).
    fn transmit(&mut self, transmissions: Vec<Retransmit>) {
        for Retransmit { destination, id, envelope, attempt } in transmissions {
            let connected = self.peers.get(&destination).is_some_and(|peer| peer.link.is_some());
            if attempt > 0 {
                tracing::debug!(peer = %destination.short(), %id, attempt, connected, "reliable retransmission");
                if connected {
                    self.reliable.stats.retransmitted += 1;
                }
            }
            if connected {
                let kind = payload_kind(&envelope.payload);
                let frame = Frame::Reliable(envelope);
                let priority = Priority::of(&frame);
                self.send_envelope(&destination, frame.encode().into(), priority, kind);
            }
        }
    }

    /// A `Frame::Ack` read from `from`'s link.
    pub(crate) fn on_ack(&mut self, from: ValidatorId, id: MessageId) {
        match self.reliable.tracker.on_ack(from, id, self.clock.now()) {
            AckOutcome::Delivered { latency, retransmissions } => {
                self.reliable.stats.delivered += 1;
                self.emit(NodeEvent::Reliable(ReliableEvent::Delivered { peer: from, id, latency, retransmissions }));
                // A link on demand lingers from its last ack, not its first message.
                self.keep_link_for_reliable(from);
                self.liveness_ack_outcome(from, true);
            }
            AckOutcome::NotDestination => self.emit(NodeEvent::Reliable(ReliableEvent::AckRejected { from, id })),
            AckOutcome::AlreadyFinished(_) | AckOutcome::Unknown => self.reliable.stats.ignored_acks += 1,
        }
    }

    /// `peer`'s link is up (again): its pending messages are due now.
    pub(crate) fn reliable_peer_connected(&mut self, peer: ValidatorId) {
        self.reliable.tracker.on_peer_reconnected(peer, self.clock.now());
    }

    /// `peer` left the validator set: its pending messages fail.
    pub(crate) fn reliable_peer_removed(&mut self, peer: ValidatorId) {
        for id in self.reliable.tracker.on_peer_removed(peer) {
            self.reliable.stats.failed += 1;
            tracing::info!(peer = %peer.short(), %id, "reliable message failed: its destination left the set");
            self.emit(NodeEvent::Reliable(ReliableEvent::Failed { peer, id }));
        }
    }

    /// Messages to `peer` not acked yet.
    pub(crate) fn reliable_unacked(&self, peer: ValidatorId) -> usize {
        self.reliable.tracker.unacked(peer)
    }

    pub(crate) fn reliable_stats(&self) -> ReliableStats {
        ReliableStats {
            pending: self.reliable.tracker.pending_len(),
            rejected_acks: self.reliable.tracker.rejected_acks(),
            ..self.reliable.stats
        }
    }
}

/// Reliable delivery (DESIGN.md §5, WIRE.md §5 `Reliable` / `Ack`): see [`crate::node::reliable`] for
/// the guarantees and [`ReliableMessaging`](super::ReliableMessaging) for how this differs from the
/// seed's trait.
impl Node {
    /// Signs `message` and sends it to validator `to` alone, on the direct link to it, retransmitting
    /// with backoff (across link resets and reconnects) until `to` itself acknowledges it or
    /// [`ReliableConfig::deadline`] passes. Returns at once; follow the delivery with
    /// [`wait_for_ack`](Self::wait_for_ack), [`delivery_status`](Self::delivery_status) or
    /// [`NodeEvent::Reliable`]. A destination not connected now gets the message when its link is
    /// back. Nobody gossips the message: the destination verifies it, delivers it to its engine and
    /// acknowledges it, but neither stores it for repair nor forwards it (see
    /// [`ReliableMessaging`](super::ReliableMessaging)).
    ///
    /// # Returns
    /// The message's id, for `wait_for_ack` and `delivery_status`.
    ///
    /// # Errors
    /// - [`NodeError::TooManyUnacked`] when `to` already has [`ReliableConfig::max_unacked_per_peer`]
    ///   messages awaiting its ack: backpressure — the node refuses rather than buffers without bound
    ///   for a validator that is down or far behind. Wait for acks or deadlines, then retry.
    /// - [`NodeError::NotAPeer`] when `to` is this node or not in the current validator set.
    /// - [`NodeError::NotOurMessage`], [`NodeError::Stopped`] as for [`broadcast`](Self::broadcast).
    ///
    /// ```no_run
    /// # async fn vote(node: quorumnet_core::node::Node, proposer: quorumnet_core::identity::ValidatorId,
    /// #     vote: quorumnet_core::message::ConsensusMessage) -> Result<(), quorumnet_core::node::NodeError> {
    /// use quorumnet_core::node::reliable::DeliveryStatus;
    ///
    /// let id = node.send_reliable(proposer, &vote).await?;
    /// match node.wait_for_ack(proposer, id).await? {
    ///     DeliveryStatus::Delivered => {}
    ///     other => eprintln!("the proposer did not get our vote: {other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send_reliable(&self, to: ValidatorId, message: &ConsensusMessage) -> Result<MessageId, NodeError> {
        let envelope = self.sign_own(message)?;
        self.ask(|reply| Command::Reliable(ReliableCommand::Send { to, envelope, reply })).await?
    }

    /// Where message `id` stands with destination `to`: `None` if it was never sent there, or finished
    /// so long ago it was forgotten ([`ReliableConfig::max_finished`]).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn delivery_status(&self, to: ValidatorId, id: MessageId) -> Result<Option<DeliveryStatus>, NodeError> {
        self.ask(|reply| Command::Reliable(ReliableCommand::Status { to, id, reply })).await
    }

    /// Waits until the delivery of `id` to `to` is final and returns how it ended:
    /// [`Delivered`](DeliveryStatus::Delivered), [`TimedOut`](DeliveryStatus::TimedOut) at
    /// [`ReliableConfig::deadline`] after the send (a destination that stays down),
    /// [`Failed`](DeliveryStatus::Failed) if `to` left the validator set — or if the node shut down
    /// first. Never waits longer than the deadline.
    ///
    /// # Errors
    /// [`NodeError::UnknownDelivery`] when no such delivery is known (see
    /// [`delivery_status`](Self::delivery_status)); [`NodeError::Stopped`].
    pub async fn wait_for_ack(&self, to: ValidatorId, id: MessageId) -> Result<DeliveryStatus, NodeError> {
        let waiter = self.ask(|reply| Command::Reliable(ReliableCommand::Waiter { to, id, reply })).await?;
        Ok(waiter.ok_or(NodeError::UnknownDelivery { peer: to, id })?.wait().await)
    }

    /// Retransmits every unacknowledged message to every connected destination now (each message's
    /// backoff continues from there). The node already retransmits on its own schedule and when a
    /// destination reconnects; this is for an engine that knows better (e.g. it just saw a round
    /// change).
    ///
    /// # Returns
    /// How many messages were pending (those to disconnected destinations wait for their link).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn retransmit_unacked(&self) -> Result<usize, NodeError> {
        self.ask(|reply| Command::Reliable(ReliableCommand::RetransmitUnacked(reply))).await
    }
}
