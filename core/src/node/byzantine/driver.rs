//! The actor's side of byzantine detection: it feeds the pure [`EquivocationDetector`] from the
//! receive path, gossips what it finds, checks what others found, and answers the engine's question
//! "is this validator excluded from quorum?".
//!
//! - A verified envelope goes through the detector after it is marked seen. The first proof against a
//!   validator is reported as [`NodeEvent::Equivocation`] (which bans it, see
//!   [`charge_for`](crate::node::reputation::charge_for)) and gossiped once, signed by this node, as a
//!   [`ConsensusMessage::Evidence`] payload.
//! - A received `Evidence` report is checked against the validator set at the conflicting messages'
//!   height: a valid one excludes the accused here too (and is reported and forwarded like any new
//!   envelope, but never handed to the engine as a message); an invalid one is the reporter's signed
//!   fault ([`Misbehaviour::InvalidEvidence`]) and goes no further. Evidence older than every kept set
//!   is dropped without blame.
//! - Excluded from quorum: proven equivocators and banned validators. Their messages about later
//!   heights than the one this node was deciding when it excluded them (or the proof's, if later) are
//!   dropped before the engine and not forwarded. Messages about that height and earlier ones still
//!   flow, the conflicting copy included: honest validators may already be locked on a polka its
//!   vote completed, and the others can only check that lock, and so reach a quorum again, if they
//!   get the same vote (a devnet partition with an equivocator on both sides stalled for good when
//!   those votes were dropped).

use std::collections::BTreeMap;

use tokio::sync::oneshot;

use super::{DetectorConfig, EquivocationDetector, EquivocationEvidence, ReplayWindow};
use crate::identity::ValidatorId;
use crate::message::{ConsensusMessage, Envelope, EvidenceReport, Height, MessageKind};
use crate::node::actor::{Actor, Command};
use crate::node::error::NodeError;
use crate::node::events::{Misbehaviour, NodeEvent};
use crate::node::handle::Node;

/// What the actor keeps for byzantine detection.
pub(crate) struct Byzantine {
    detector: EquivocationDetector,
    replays: ReplayWindow,
    /// The first verified proof against each equivocator: at most one per validator.
    proofs: BTreeMap<ValidatorId, EquivocationEvidence>,
    /// For each validator excluded (proven or banned), the last height whose messages from it still
    /// count: the height this node was at when it first excluded it, or the proof's if later.
    open_until: BTreeMap<ValidatorId, Height>,
}

impl Byzantine {
    pub fn new(config: DetectorConfig) -> Self {
        Byzantine {
            detector: EquivocationDetector::new(config),
            replays: ReplayWindow::new(config.replay_window),
            proofs: BTreeMap::new(),
            open_until: BTreeMap::new(),
        }
    }
}

/// An exclusion question from a handle.
pub(crate) enum ByzantineCommand {
    IsExcluded { validator: ValidatorId, reply: oneshot::Sender<bool> },
    Proofs(oneshot::Sender<Vec<EquivocationEvidence>>),
}

impl Actor {
    pub(crate) fn on_byzantine_command(&mut self, command: ByzantineCommand) {
        match command {
            ByzantineCommand::IsExcluded { validator, reply } => {
                let _ = reply.send(self.is_excluded(&validator));
            }
            ByzantineCommand::Proofs(reply) => {
                let _ = reply.send(self.byzantine.proofs.values().cloned().collect());
            }
        }
    }

    /// Whether `validator`'s messages are kept from the engine: proven to equivocate, or banned.
    pub(crate) fn is_excluded(&self, validator: &ValidatorId) -> bool {
        self.byzantine.proofs.contains_key(validator) || self.is_banned(validator)
    }

    /// Starts excluding `validator` after `height` (or the height being decided, if later), unless it
    /// already is.
    pub(crate) fn exclude_after(&mut self, validator: ValidatorId, height: Height) {
        let height = height.max(self.liveness.position.0);
        self.byzantine.open_until.entry(validator).or_insert(height);
    }

    /// Forgets a lifted ban's exclusion height, unless a proof keeps the validator excluded.
    pub(crate) fn end_exclusion(&mut self, validator: &ValidatorId) {
        if !self.byzantine.proofs.contains_key(validator) {
            self.byzantine.open_until.remove(validator);
        }
    }

    /// Whether `message` from `origin` is kept from the engine and not forwarded: `origin` is
    /// excluded and the message is about a later height than its exclusion's (or about none).
    fn drops_excluded(&self, origin: &ValidatorId, message: &ConsensusMessage) -> bool {
        if !self.is_excluded(origin) {
            return false;
        }
        let open_until = self.byzantine.open_until.get(origin).copied().unwrap_or(self.liveness.position.0);
        message.height().is_none_or(|height| height > open_until)
    }

    /// Screens a verified new `envelope` in DESIGN.md §5's order — equivocation, then (forgery was
    /// `judge`'s) replay — and handles an evidence report it carries; whether the envelope goes no
    /// further (its origin is excluded, it is a replay, or it is invalid evidence). `requested`: it
    /// answers a want of ours or came point to point from its origin, so it is never a replay.
    pub(crate) fn screen_verified(
        &mut self,
        envelope: &Envelope,
        message: &ConsensusMessage,
        from: ValidatorId,
        requested: bool,
    ) -> bool {
        self.byzantine.detector.set_current_height(self.liveness.position.0);
        if let Some(conflict) = self.byzantine.detector.observe(envelope, message) {
            match self.store.get(&conflict.first).cloned() {
                Some(first) => {
                    // A message about no height (an address record) is judged against the latest
                    // set: so is its evidence.
                    let height = message.height().unwrap_or(self.liveness.position.0);
                    self.proven(conflict.with_first(first), height, true);
                }
                // Its first copy left the store (sized for the heights the detector watches): no
                // proof to give, and an unproven conflict convicts nobody.
                None => tracing::debug!(origin = %envelope.origin.short(), "a conflict whose first copy is gone"),
            }
        }
        if self.drops_excluded(&envelope.origin, message) {
            return true;
        }
        if !requested && self.byzantine.replays.is_replay(envelope.origin, envelope.seq) {
            let misbehaviour = Misbehaviour::Replay { origin: envelope.origin, seq: envelope.seq };
            self.emit(NodeEvent::PeerMisbehaved { peer: from, misbehaviour });
            return true;
        }
        if !requested && !self.within_origin_quota(envelope, message.kind()) {
            return true;
        }
        match message {
            ConsensusMessage::Evidence(report) => !self.accept_report(report, from),
            _ => false,
        }
    }

    /// Checks a peer's evidence report; whether it holds (then it is forwarded like any envelope).
    fn accept_report(&mut self, report: &EvidenceReport, from: ValidatorId) -> bool {
        let Some(set) = self.source.at_height(report.height) else {
            self.totals.stale += 1;
            return false;
        };
        match report.evidence.verify(self.chain, &set) {
            Ok(_) => {
                self.proven(report.evidence.clone(), report.height, false);
                true
            }
            Err(error) => {
                let misbehaviour = Misbehaviour::InvalidEvidence { reporter: report.reporter, error };
                self.emit(NodeEvent::PeerMisbehaved { peer: from, misbehaviour });
                false
            }
        }
    }

    /// Records verified `evidence` about messages at `height`; the first proof against a validator
    /// is reported and, if this node `found` it itself, gossiped as a signed report.
    fn proven(&mut self, evidence: EquivocationEvidence, height: Height, found: bool) {
        let accused = evidence.accused();
        if self.byzantine.proofs.contains_key(&accused) {
            return;
        }
        tracing::warn!(accused = %accused.short(), "equivocation proven");
        self.byzantine.proofs.insert(accused, evidence.clone());
        self.exclude_after(accused, height);
        if found {
            let report = EvidenceReport { reporter: self.me, height, evidence: evidence.clone() };
            let envelope = self.signer.sign(&ConsensusMessage::Evidence(report));
            self.send_own(envelope, MessageKind::Evidence);
        }
        self.emit(NodeEvent::Equivocation(evidence));
    }
}

/// Byzantine detection (DESIGN.md §5): what the node found and whom it excludes from quorum.
impl Node {
    /// Whether `validator` is excluded from quorum here: proven to equivocate (by this node or by
    /// verified evidence from another) or banned. The node already keeps its messages about later
    /// heights from the engine; an engine asks to leave its voting power out of its quorum arithmetic
    /// from the next height on too.
    ///
    /// ```no_run
    /// # async fn tally(node: quorumnet_core::node::Node, voter: quorumnet_core::identity::ValidatorId)
    /// #     -> Result<(), quorumnet_core::node::NodeError> {
    /// if node.is_excluded(voter).await? {
    ///     return Ok(()); // do not count it
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn is_excluded(&self, validator: ValidatorId) -> Result<bool, NodeError> {
        self.ask(|reply| Command::Byzantine(ByzantineCommand::IsExcluded { validator, reply })).await
    }

    /// The first verified proof against each validator proven to equivocate, in id order.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn equivocation_proofs(&self) -> Result<Vec<EquivocationEvidence>, NodeError> {
        self.ask(|reply| Command::Byzantine(ByzantineCommand::Proofs(reply))).await
    }
}
