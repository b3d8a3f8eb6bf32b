//! [`Node`]: the cheap-to-clone handle an engine holds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;

use super::actor::Command;
use super::builder::NodeBuilder;
use super::clock::Clock;
use super::error::NodeError;
use super::events::{NodeEvent, PeerConnection};
use super::liveness::driver::Liveness;
use super::stats::NodeStats;
use crate::identity::{ChainId, Keypair, ValidatorId};
use crate::message::{AddressRecord, ConsensusMessage, Envelope, Height, MessageId, Proposal, ProposalHeader, Round};
use crate::node::liveness::{ClockSkew, LivenessEvent, RttEstimate, ValidatorTimeout};
use crate::node::vote_validator::RemoteVoteValidator;
use crate::transport::PeerAddress;
use crate::validator::ValidatorSetSource;

/// A running node: broadcast messages, watch connections, read counters. See the [module
/// documentation](super) for what it does.
///
/// Cheap to clone; every clone talks to the same task through one bounded command channel. The node
/// stops on [`Node::shutdown`] or when the last clone is dropped (then every link is closed).
#[derive(Clone)]
pub struct Node {
    shared: Arc<Shared>,
}

/// Signs this node's messages, for the handles and for the node's task (heartbeats) alike, from one
/// sequence counter.
pub(crate) struct Signer {
    pub keypair: Arc<Keypair>,
    pub chain: ChainId,
    /// The next envelope sequence number: starts at the boot wall clock in µs, +1 per message, so it
    /// strictly increases over the key's lifetime across restarts (WIRE.md §4).
    pub next_seq: AtomicU64,
    pub initial_ttl: u8,
}

impl Signer {
    /// Signs `message` (which must name this node as its author) with the next sequence number.
    pub fn sign(&self, message: &ConsensusMessage) -> Envelope {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        Envelope::sign_message(&self.keypair, self.chain, seq, self.initial_ttl, message)
    }
}

pub(crate) struct Shared {
    pub signer: Arc<Signer>,
    pub commands: mpsc::Sender<Command>,
    pub events: broadcast::Sender<NodeEvent>,
    pub clock: Arc<dyn Clock>,
    /// Where the validator sets come from, for [`Node::vote_validator`].
    pub source: Arc<dyn ValidatorSetSource>,
    /// The last address-record version used, so versions strictly increase even within one µs.
    pub last_record_version: AtomicU64,
    /// Proposals whose block is longer are sent as a header and parts of this size.
    pub part_size: u32,
    pub listen_addresses: Vec<PeerAddress>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("id", &self.id()).field("listening", &self.shared.listen_addresses).finish()
    }
}

impl Node {
    /// A builder: key pair, chain id, validator-set source, transports, listen addresses, config.
    pub fn builder() -> NodeBuilder {
        NodeBuilder::new()
    }

    pub(crate) fn from_shared(shared: Shared) -> Self {
        Node { shared: Arc::new(shared) }
    }

    /// This node's validator id.
    pub fn id(&self) -> ValidatorId {
        self.shared.signer.keypair.validator_id()
    }

    /// The chain it signs and verifies for.
    pub fn chain_id(&self) -> ChainId {
        self.shared.signer.chain
    }

    /// The addresses it listens on, as the transports report them (a port 0 resolved).
    pub fn listen_addresses(&self) -> &[PeerAddress] {
        &self.shared.listen_addresses
    }

    /// Signs `message` and sends it to every connected validator directly, and keeps it for gossip so
    /// validators without a direct link get it through others (seed decision 1). Waits only while the
    /// node's command channel is full. The message is not delivered back to this node's engine.
    ///
    /// A [`Proposal`] whose block is longer than
    /// [`PartsConfig::part_size`](crate::node::proposal_parts::PartsConfig::part_size) is split here,
    /// transparently: the node signs a header committing to the parts' hashes and one envelope per
    /// part, sends each part to a few peers that pass it on (`node::proposal_parts`), and every other
    /// validator's engine receives the same `Proposal`, whole, once. Engines never split blocks nor
    /// see the pieces.
    ///
    /// ```no_run
    /// # async fn propose(node: quorumnet_core::node::Node, mut peer: quorumnet_core::node::IncomingMessages,
    /// #     proposal: quorumnet_core::message::Proposal) {
    /// use quorumnet_core::message::ConsensusMessage;
    ///
    /// // A 1 MiB block: the node sends a header and 18 parts, not 1 MiB to every validator.
    /// assert_eq!(proposal.block.len(), 1 << 20);
    /// let id = node.broadcast(&ConsensusMessage::Proposal(proposal.clone())).await.unwrap();
    /// // At another validator, the engine gets the block whole, named by the header's id.
    /// let incoming = peer.recv().await.unwrap();
    /// assert_eq!((incoming.id, incoming.message), (id, ConsensusMessage::Proposal(proposal)));
    /// # }
    /// ```
    ///
    /// # Returns
    /// The message's id (for a proposal sent in parts, its header's).
    ///
    /// # Errors
    /// [`NodeError::NotOurMessage`] if the message names another validator as its author;
    /// [`NodeError::Stopped`] if the node has shut down.
    pub async fn broadcast(&self, message: &ConsensusMessage) -> Result<MessageId, NodeError> {
        if let ConsensusMessage::Proposal(proposal) = message {
            if proposal.block.len() > self.shared.part_size as usize {
                return self.broadcast_in_parts(proposal).await;
            }
        }
        let envelope = self.sign_own(message)?;
        let id = envelope.id();
        self.command(Command::Broadcast { envelope, kind: message.kind() }).await?;
        Ok(id)
    }

    /// Signs a large proposal's header and parts and has the task send them (`node::proposal_parts`).
    async fn broadcast_in_parts(&self, proposal: &Proposal) -> Result<MessageId, NodeError> {
        let (header, parts) = ProposalHeader::split(proposal, self.shared.part_size);
        let header = self.sign_own(&ConsensusMessage::ProposalHeader(header))?;
        let parts = parts
            .into_iter()
            .map(|part| self.sign_own(&ConsensusMessage::ProposalPart(part)))
            .collect::<Result<_, _>>()?;
        let id = header.id();
        self.command(Command::BroadcastProposal { header, parts }).await?;
        Ok(id)
    }

    /// Signs `message` with the next sequence number, if it names this node as its author.
    pub(super) fn sign_own(&self, message: &ConsensusMessage) -> Result<Envelope, NodeError> {
        let named = message.validator();
        if named != self.id() {
            return Err(NodeError::NotOurMessage { named, node: self.id() });
        }
        Ok(self.shared.signer.sign(message))
    }

    /// A [`RemoteVoteValidator`] for this node's chain and validator-set source: it verifies a vote's
    /// signature and origin against the set in force at the vote's height and counts votes by voting
    /// power ([`check_supermajority`](RemoteVoteValidator::check_supermajority)). The node itself
    /// already drops forged messages before delivery; an engine uses this for votes it gets in other
    /// ways (inside a commit certificate, from a sync peer) and to decide quorums. Cheap: it shares the
    /// node's source, so it follows set changes.
    ///
    /// ```no_run
    /// # fn check(node: quorumnet_core::node::Node, message: quorumnet_core::node::IncomingMessage,
    /// #     others: Vec<quorumnet_core::node::vote_validator::VerifiedVote>) {
    /// let validator = node.vote_validator();
    /// let vote = validator.verify(&message.envelope).expect("a vote from a validator in force at its height");
    /// let mut votes = others;
    /// votes.push(vote);
    /// let tally = validator.check_supermajority(vote.target, &votes).expect("votes for one target");
    /// if tally.is_supermajority() {
    ///     // more than 2/3 of the voting power at that height voted for it
    /// }
    /// # }
    /// ```
    pub fn vote_validator(&self) -> RemoteVoteValidator {
        RemoteVoteValidator::new(self.chain_id(), self.shared.source.clone())
    }

    /// Signs and broadcasts this node's address record, so peers dial it at `addresses` from now on.
    /// Its version is the wall clock in µs (strictly above the last one this node used).
    ///
    /// # Errors
    /// [`NodeError::InvalidRecord`] for more than `AddressRecord::MAX_ADDRESSES` addresses or one too
    /// long; [`NodeError::Stopped`].
    pub async fn announce_addresses(&self, addresses: Vec<PeerAddress>) -> Result<MessageId, NodeError> {
        let now = self.shared.clock.wall_micros();
        let version = self
            .shared
            .last_record_version
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| Some(now.max(last + 1)))
            .map_or(now, |last| now.max(last + 1));
        let record = AddressRecord::new(self.id(), version, addresses)?;
        self.broadcast(&ConsensusMessage::AddressRecord(record)).await
    }

    /// Subscribes to connection, misbehaviour and discovery events. Events are buffered per
    /// subscriber up to `NodeConfig::event_capacity`; a subscriber further behind loses the oldest
    /// (`RecvError::Lagged`). Subscribe right after `build` (before awaiting anything) to see every
    /// event from the start.
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.shared.events.subscribe()
    }

    /// The live connections, one per connected validator, in id order.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn connections(&self) -> Result<Vec<PeerConnection>, NodeError> {
        self.ask(Command::Connections).await
    }

    /// The validators connected now, in id order.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn connected_peers(&self) -> Result<Vec<ValidatorId>, NodeError> {
        Ok(self.connections().await?.into_iter().map(|c| c.peer).collect())
    }

    /// The node's counters now.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn stats(&self) -> Result<NodeStats, NodeError> {
        self.ask(Command::Stats).await
    }

    /// Where the node would dial `validator`: its newest verified address record's addresses, else
    /// the validator set's; empty outside the set.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn addresses_of(&self, validator: ValidatorId) -> Result<Vec<PeerAddress>, NodeError> {
        self.ask(|reply| Command::AddressesOf(validator, reply)).await
    }

    /// Dials `peer` now, skipping its backoff, if it is a validator this node is not connected to.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn connect(&self, peer: ValidatorId) -> Result<(), NodeError> {
        self.command(Command::Connect(peer)).await
    }

    /// Closes the connection to `peer`. While it is a validator, the connection manager redials it
    /// after backoff (bans, which keep it out, arrive with reputation).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn disconnect(&self, peer: ValidatorId) -> Result<(), NodeError> {
        self.command(Command::Disconnect(peer)).await
    }

    /// Tells the node the engine's current height and round: every heartbeat from now on carries them.
    /// Until called, heartbeats carry height 0, round 0. (The node does not guess them from the votes it
    /// broadcasts: an engine at a new height may not have voted yet.)
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn set_consensus_position(&self, height: Height, round: Round) -> Result<(), NodeError> {
        self.command(Command::SetPosition(height, round)).await
    }

    /// Whether `validator` is in the set, not timed out, and heard within the liveness timeout (or still
    /// in its first grace period after joining). This node itself is alive while it is a validator.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn is_validator_alive(&self, validator: ValidatorId) -> Result<bool, NodeError> {
        self.liveness(move |liveness, now| (liveness.monitor.is_validator_alive(&validator, now), Vec::new())).await
    }

    /// How long ago `validator`'s last heartbeat arrived; `None` if none has since it joined the set.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn last_heartbeat_age(&self, validator: ValidatorId) -> Result<Option<Duration>, NodeError> {
        self.liveness(move |liveness, now| (liveness.monitor.last_heartbeat_age(&validator, now), Vec::new())).await
    }

    /// Changes the silence after which a validator is reported
    /// [`NoHeartbeat`](ValidatorTimeout::NoHeartbeat) (initially `NodeConfig::liveness.liveness_timeout`).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn set_liveness_timeout(&self, timeout: Duration) -> Result<(), NodeError> {
        self.liveness(move |liveness, _| (liveness.monitor.set_liveness_timeout(timeout), Vec::new())).await
    }

    /// The engine's own timeout of `validator` ([`ValidatorTimeout::NoVotes`],
    /// [`ValidatorTimeout::RoundTimeout`]); reported as [`NodeEvent::Liveness`] unless it is timed out
    /// already. Only [`mark_responsive`](Self::mark_responsive) clears it.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn report_timeout(&self, validator: ValidatorId, reason: ValidatorTimeout) -> Result<(), NodeError> {
        self.liveness(move |liveness, now| ((), liveness.monitor.report_timeout(validator, reason, now))).await
    }

    /// The engine saw `validator` do its job: any timeout is cleared ("responsive again") and its
    /// silence is counted afresh.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn mark_responsive(&self, validator: ValidatorId) -> Result<(), NodeError> {
        self.liveness(move |liveness, now| ((), liveness.monitor.mark_responsive(validator, now))).await
    }

    /// The validators timed out now, with why, in id order.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn timed_out_validators(&self) -> Result<Vec<(ValidatorId, ValidatorTimeout)>, NodeError> {
        self.liveness(|liveness, _| (liveness.monitor.timed_out_validators(), Vec::new())).await
    }

    /// The smoothed round trip to `peer` from pings, once it has answered one (RFC 6298 SRTT and
    /// RTTVAR; [`RttEstimate::timeout`] is what an engine adds to its round timeout per hop).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn rtt(&self, peer: ValidatorId) -> Result<Option<RttEstimate>, NodeError> {
        self.liveness(move |liveness, _| (liveness.rtt.estimate(&peer), Vec::new())).await
    }

    /// The round trip within which validators holding a quorum (more than 2/3) of the current set's
    /// voting power answer this node: its own power counts at zero, every other validator at its
    /// measured [`RttEstimate::timeout`] (`SRTT + 4·RTTVAR`). `None` until the validators measured
    /// hold a quorum. What an engine's step timeouts should follow (see [`NetworkTiming`](super::NetworkTiming)).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn quorum_round_trip(&self) -> Result<Option<Duration>, NodeError> {
        self.liveness(|liveness, _| (liveness.quorum_round_trip(), Vec::new())).await
    }

    /// How far `peer`'s wall clock is ahead of this node's (median over its recent heartbeats received
    /// directly, each corrected by SRTT/2: within about RTT/2), once a direct heartbeat has arrived.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn clock_skew(&self, peer: ValidatorId) -> Result<Option<ClockSkew>, NodeError> {
        self.liveness(move |liveness, _| (liveness.skew.estimate(&peer), Vec::new())).await
    }

    /// Runs `query` on the node's liveness state; the events it returns are emitted.
    async fn liveness<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut Liveness, Instant) -> (T, Vec<LivenessEvent>) + Send + 'static,
    ) -> Result<T, NodeError> {
        self.ask(|reply| {
            Command::Liveness(Box::new(move |liveness, now| {
                let (answer, events) = query(liveness, now);
                let _ = reply.send(answer);
                events
            }))
        })
        .await
    }

    /// Stops the node: closes every link (each flushing for at most its close timeout) and returns
    /// when done. Other clones then get [`NodeError::Stopped`]. Calling it again is a no-op.
    pub async fn shutdown(&self) {
        let (ack, done) = oneshot::channel();
        if self.shared.commands.send(Command::Shutdown(ack)).await.is_ok() {
            let _ = done.await;
        }
    }

    pub(super) async fn command(&self, command: Command) -> Result<(), NodeError> {
        self.shared.commands.send(command).await.map_err(|_| NodeError::Stopped)
    }

    pub(super) async fn ask<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.command(command(reply)).await?;
        answer.await.map_err(|_| NodeError::Stopped)
    }
}
