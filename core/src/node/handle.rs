//! [`Node`]: the cheap-to-clone handle an engine holds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot};

use super::actor::Command;
use super::builder::NodeBuilder;
use super::clock::Clock;
use super::error::NodeError;
use super::events::{NodeEvent, PeerConnection};
use super::stats::NodeStats;
use crate::identity::{ChainId, Keypair, ValidatorId};
use crate::message::{AddressRecord, ConsensusMessage, Envelope, MessageId};
use crate::transport::PeerAddress;

/// A running node: broadcast messages, watch connections, read counters. See the [module
/// documentation](super) for what it does.
///
/// Cheap to clone; every clone talks to the same task through one bounded command channel. The node
/// stops on [`Node::shutdown`] or when the last clone is dropped (then every link is closed).
#[derive(Clone)]
pub struct Node {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub keypair: Arc<Keypair>,
    pub chain: ChainId,
    pub commands: mpsc::Sender<Command>,
    pub events: broadcast::Sender<NodeEvent>,
    pub clock: Arc<dyn Clock>,
    /// The next envelope sequence number: starts at the boot wall clock in µs, +1 per message, so it
    /// strictly increases over the key's lifetime across restarts (WIRE.md §4).
    pub next_seq: AtomicU64,
    /// The last address-record version used, so versions strictly increase even within one µs.
    pub last_record_version: AtomicU64,
    pub initial_ttl: u8,
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
        self.shared.keypair.validator_id()
    }

    /// The chain it signs and verifies for.
    pub fn chain_id(&self) -> ChainId {
        self.shared.chain
    }

    /// The addresses it listens on, as the transports report them (a port 0 resolved).
    pub fn listen_addresses(&self) -> &[PeerAddress] {
        &self.shared.listen_addresses
    }

    /// Signs `message` and sends it to every connected validator directly, and keeps it for gossip so
    /// validators without a direct link get it through others (seed decision 1). Waits only while the
    /// node's command channel is full. The message is not delivered back to this node's engine.
    ///
    /// # Returns
    /// The message's id.
    ///
    /// # Errors
    /// [`NodeError::NotOurMessage`] if the message names another validator as its author;
    /// [`NodeError::Stopped`] if the node has shut down.
    pub async fn broadcast(&self, message: &ConsensusMessage) -> Result<MessageId, NodeError> {
        let named = message.validator();
        if named != self.id() {
            return Err(NodeError::NotOurMessage { named, node: self.id() });
        }
        let seq = self.shared.next_seq.fetch_add(1, Ordering::Relaxed);
        let envelope =
            Envelope::sign_message(&self.shared.keypair, self.shared.chain, seq, self.shared.initial_ttl, message);
        let id = envelope.id();
        self.command(Command::Broadcast { envelope, kind: message.kind() }).await?;
        Ok(id)
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

    /// Stops the node: closes every link (each flushing for at most its close timeout) and returns
    /// when done. Other clones then get [`NodeError::Stopped`]. Calling it again is a no-op.
    pub async fn shutdown(&self) {
        let (ack, done) = oneshot::channel();
        if self.shared.commands.send(Command::Shutdown(ack)).await.is_ok() {
            let _ = done.await;
        }
    }

    async fn command(&self, command: Command) -> Result<(), NodeError> {
        self.shared.commands.send(command).await.map_err(|_| NodeError::Stopped)
    }

    async fn ask<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.command(command(reply)).await?;
        answer.await.map_err(|_| NodeError::Stopped)
    }
}
