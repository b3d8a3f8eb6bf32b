//! The actor's side of reputation: it feeds the pure [`ReputationTable`](super::ReputationTable) and
//! carries out its verdicts through the live [`Admission`](crate::transport::Admission) handle every
//! transport consults.
//!
//! - Every [`NodeEvent`] the node emits passes through [`charge_for`](super::charge_for), the one
//!   table of who is charged with what; a new valid envelope credits the peer that brought it, and a
//!   frame over its rate limit charges the peer that sent it ([`Actor::report_behavior`]).
//! - [`Verdict::Disconnect`] closes the peer's link (redialed with backoff while its score recovers);
//!   [`Verdict::Ban`] bans it in the admission handle — so no transport completes a handshake with it,
//!   whether it redials or comes in another way — closes its link and stops dialing it, and reports
//!   [`NodeEvent::PeerBanned`].
//! - The timed unban is one of the actor's deadlines ([`Actor::next_unban_at`]): the ban is lifted in
//!   the admission handle, [`NodeEvent::PeerUnbanned`] reported, and the peer dialed afresh.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{PeerBehavior, Verdict};
use crate::identity::ValidatorId;
use crate::node::actor::{Actor, Command};
use crate::node::error::NodeError;
use crate::node::events::{DisconnectReason, NodeEvent};
use crate::node::handle::Node;

/// A reputation question or operator action from a handle.
pub(crate) enum ReputationCommand {
    Score { peer: ValidatorId, reply: oneshot::Sender<f64> },
    Ban { peer: ValidatorId, duration: Duration, reply: oneshot::Sender<Instant> },
    Unban { peer: ValidatorId, reply: oneshot::Sender<bool> },
    Banned(oneshot::Sender<Vec<(ValidatorId, Instant)>>),
    Report { peer: ValidatorId, behavior: PeerBehavior },
}

impl Actor {
    pub(crate) fn on_reputation_command(&mut self, command: ReputationCommand) {
        let now = self.clock.now();
        match command {
            ReputationCommand::Score { peer, reply } => {
                let _ = reply.send(self.reputation.score(&peer, now));
            }
            ReputationCommand::Ban { peer, duration, reply } => {
                let Verdict::Ban { until } = self.reputation.ban_peer(peer, duration, now) else {
                    unreachable!("ban_peer always bans")
                };
                self.enforce_ban(peer, None, until);
                let _ = reply.send(until);
            }
            ReputationCommand::Unban { peer, reply } => {
                let was_banned = self.reputation.unban_peer(&peer);
                if was_banned {
                    self.lift_ban(peer);
                }
                let _ = reply.send(was_banned);
            }
            ReputationCommand::Banned(reply) => {
                let _ = reply.send(self.reputation.bans(now));
            }
            ReputationCommand::Report { peer, behavior } => self.report_behavior(peer, behavior),
        }
    }

    /// Scores `behavior` against `peer` and carries out the verdict. This node is never scored.
    pub(crate) fn report_behavior(&mut self, peer: ValidatorId, behavior: PeerBehavior) {
        if peer == self.me {
            return;
        }
        let now = self.clock.now();
        let was_banned = self.reputation.is_banned(&peer, now);
        match self.reputation.record(peer, behavior, now) {
            Verdict::Keep => {}
            Verdict::Disconnect => {
                tracing::info!(peer = %peer.short(), ?behavior, "reputation at the disconnect threshold");
                self.disconnect_for(peer, DisconnectReason::LowReputation);
            }
            Verdict::Ban { until } if !was_banned => self.enforce_ban(peer, Some(behavior), until),
            Verdict::Ban { .. } => {}
        }
    }

    /// Refuses `peer` on every transport, drops its link and its dials, and reports the ban.
    fn enforce_ban(&mut self, peer: ValidatorId, behavior: Option<PeerBehavior>, until: Instant) {
        tracing::warn!(peer = %peer.short(), ?behavior, "peer banned");
        self.exclude_after(peer, self.liveness.position.0);
        self.admission.ban(peer);
        self.disconnect_for(peer, DisconnectReason::Banned);
        self.emit(NodeEvent::PeerBanned { peer, behavior, until });
    }

    fn lift_ban(&mut self, peer: ValidatorId) {
        tracing::info!(peer = %peer.short(), "ban lifted");
        self.end_exclusion(&peer);
        self.admission.unban(peer);
        self.emit(NodeEvent::PeerUnbanned { peer });
        self.dial_afresh(peer);
    }

    /// When the next timed unban is due.
    pub(crate) fn next_unban_at(&self) -> Option<Instant> {
        self.reputation.next_unban()
    }

    /// Lifts every ban that has run out.
    pub(crate) fn unbans_due(&mut self) {
        for peer in self.reputation.expire_bans(self.clock.now()) {
            self.lift_ban(peer);
        }
    }

    /// Whether `peer` is banned now.
    pub(crate) fn is_banned(&self, peer: &ValidatorId) -> bool {
        self.reputation.is_banned(peer, self.clock.now())
    }
}

/// Peer reputation (DESIGN.md §5): scores, bans, timed unbans. The node scores its peers itself from
/// what they send (see [`crate::node::reputation`]); these are the operator's and the engine's
/// handles on it.
impl Node {
    /// `peer`'s current score: 0 is neutral, −500 disconnects and −1 000 bans (the defaults of
    /// [`ReputationConfig`](super::ReputationConfig)).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn reputation(&self, peer: ValidatorId) -> Result<f64, NodeError> {
        self.ask(|reply| Command::Reputation(ReputationCommand::Score { peer, reply })).await
    }

    /// Bans `peer` for `duration` (extending a longer ban never shortens it): its link is closed, it is
    /// not dialed, and every transport refuses its handshakes until the ban runs out or
    /// [`unban_peer`](Self::unban_peer). Returns when the ban ends.
    ///
    /// ```no_run
    /// # async fn ban(node: quorumnet_core::node::Node, peer: quorumnet_core::identity::ValidatorId)
    /// #     -> Result<(), quorumnet_core::node::NodeError> {
    /// let until = node.ban_peer(peer, std::time::Duration::from_secs(3600)).await?;
    /// assert!(node.banned_peers().await?.contains(&(peer, until)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn ban_peer(&self, peer: ValidatorId, duration: Duration) -> Result<Instant, NodeError> {
        self.ask(|reply| Command::Reputation(ReputationCommand::Ban { peer, duration, reply })).await
    }

    /// Lifts `peer`'s ban now and resets its score to neutral; it is admitted (if a validator) and
    /// dialed again. Returns whether it was banned.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn unban_peer(&self, peer: ValidatorId) -> Result<bool, NodeError> {
        self.ask(|reply| Command::Reputation(ReputationCommand::Unban { peer, reply })).await
    }

    /// The peers banned now, with when each ban ends, in id order.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn banned_peers(&self) -> Result<Vec<(ValidatorId, Instant)>, NodeError> {
        self.ask(|reply| Command::Reputation(ReputationCommand::Banned(reply))).await
    }

    /// Reports what the engine found `peer` doing (e.g. a proposal whose block is invalid:
    /// [`PeerBehavior::ProtocolViolation`]), scored like the node's own findings.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn report_peer(&self, peer: ValidatorId, behavior: PeerBehavior) -> Result<(), NodeError> {
        self.command(Command::Reputation(ReputationCommand::Report { peer, behavior })).await
    }
}
