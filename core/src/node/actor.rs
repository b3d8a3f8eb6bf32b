//! The node's one task: it owns every piece of state (peers, links, gossip caches, address book,
//! counters) and handles, one at a time and in a fixed order of preference, commands from the handles,
//! validator-set changes, dial results, accepted connections, timers and link events.
//!
//! Determinism: every choice is made here, on one task, from ordered maps and a seeded rng; the
//! `select!` is `biased`, so for the same inputs at the same virtual times the same things happen in
//! the same order.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use rand::rngs::StdRng;
use tokio::sync::{broadcast, mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::clock::Clock;
use super::config::NodeConfig;
use super::events::{Direction, NodeEvent, PeerConnection};
use super::handle::Signer;
use super::incoming::IncomingMessage;
use super::linked_peers::LinkedPeers;
use super::liveness::driver::{Liveness, LivenessCommand};
use super::reliable_driver::{Reliable, ReliableCommand};
use super::stats::{CachePeaks, KindCounters, NodeStats, PeerStats};
use crate::identity::{ChainId, ValidatorId};
use crate::message::{Envelope, Frame, Height, MessageKind, Round};
use crate::node::byzantine::driver::{Byzantine, ByzantineCommand};
use crate::node::gossip::{AddressBook, GossipPolicy, MessageStore, PeerKnowledge, SeenCache};
use crate::node::link::{LinkEvent, PeerLink, SendError};
use crate::node::priority::Priority;
use crate::node::rate_limit::InboundLimiter;
use crate::node::reputation::driver::ReputationCommand;
use crate::node::reputation::ReputationTable;
use crate::transport::{Admission, Connection, PeerAddress, Transport};
use crate::validator::{ValidatorSet, ValidatorSetSource};

/// What a [`Node`](super::Node) handle asks the task.
pub(crate) enum Command {
    /// Send a signed envelope of ours to every connected validator and keep it for gossip.
    Broadcast {
        envelope: Envelope,
        kind: MessageKind,
    },
    /// Send our own large proposal as its signed header and parts (`node::proposal_parts`).
    BroadcastProposal {
        header: Envelope,
        parts: Vec<Envelope>,
    },
    Connections(oneshot::Sender<Vec<PeerConnection>>),
    Stats(oneshot::Sender<NodeStats>),
    AddressesOf(ValidatorId, oneshot::Sender<Vec<PeerAddress>>),
    Connect(ValidatorId),
    /// The engine's latest height and round, for heartbeats.
    SetPosition(Height, Round),
    /// A liveness question or change.
    Liveness(LivenessCommand),
    /// A reliable send, status question or retransmission request.
    Reliable(ReliableCommand),
    /// A score question, a ban or unban, or an engine's report.
    Reputation(ReputationCommand),
    /// An exclusion question.
    Byzantine(ByzantineCommand),
    /// A route question, a forward, or a relay to host.
    Routing(super::routing::RoutingCommand),
    Disconnect(ValidatorId),
    Shutdown(oneshot::Sender<()>),
}

/// A finished dial.
pub(crate) struct DialOutcome {
    pub peer: ValidatorId,
    pub address: PeerAddress,
    pub result: Result<Box<dyn Connection>, String>,
}

/// The receiving ends the task selects over.
pub(crate) struct Inputs {
    pub commands: mpsc::Receiver<Command>,
    pub set_changes: watch::Receiver<Arc<ValidatorSet>>,
    pub dialed: mpsc::Receiver<DialOutcome>,
    pub accepted: mpsc::Receiver<Box<dyn Connection>>,
    pub link_events: mpsc::Receiver<LinkEvent>,
}

/// Link events handled per turn of the run loop at most, before commands and timers are looked at
/// again: local work waits behind at most this many frames.
const LINK_EVENT_BATCH: usize = 32;

/// The live link to a peer.
pub(crate) struct ActiveLink {
    pub link: Arc<PeerLink>,
    pub direction: Direction,
    pub address: Option<PeerAddress>,
    pub since: Instant,
    /// Permits for sends waiting on a full vote or proposal queue.
    pub waiting_sends: Arc<Semaphore>,
}

/// Everything the task knows about one validator of the current set.
#[derive(Default)]
pub(crate) struct Peer {
    pub link: Option<ActiveLink>,
    /// The dial in flight, aborted when dropped.
    pub dialing: Option<AbortOnDrop>,
    /// Consecutive failed dials or lost links since the last connection came up.
    pub attempts: u32,
    /// When to dial next, if not connected.
    pub next_dial: Option<Instant>,
    pub stats: PeerStats,
}

/// A task aborted when this is dropped.
pub(crate) struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Counters that are not per peer.
#[derive(Default)]
pub(crate) struct Totals {
    pub broadcast: u64,
    pub delivered: u64,
    pub undeliverable: u64,
    pub stale: u64,
    pub verified: u64,
    /// Bytes of our own proposals (whole, headers and parts) queued to peers.
    pub proposal_upload_bytes: u64,
    /// Proposal headers and parts refused for not matching (signed by their proposer).
    pub parts_refused: u64,
}

pub(crate) struct Actor {
    pub me: ValidatorId,
    /// Signs the node's own heartbeats.
    pub signer: Arc<Signer>,
    pub liveness: Liveness,
    pub reliable: Reliable,
    pub chain: ChainId,
    pub config: NodeConfig,
    pub clock: Arc<dyn Clock>,
    pub rng: StdRng,
    pub source: Arc<dyn ValidatorSetSource>,
    pub set: Arc<ValidatorSet>,
    pub admission: Admission,
    pub book: AddressBook,
    pub transports: BTreeMap<String, Arc<dyn Transport>>,
    /// One entry per validator of the current set except this node. Ordered: iteration is observable.
    pub peers: BTreeMap<ValidatorId, Peer>,
    /// The peers whose `link` is up, kept with it: every envelope asks for them, and scanning a
    /// thousand peers for a handful of links cost more than handling the envelope.
    pub linked: LinkedPeers,
    /// No dial is due before this ([`next_dial_at`](Self::next_dial_at)).
    pub dial_hint: Option<Instant>,
    /// Which of them the node links to.
    pub link_plan: super::topology::LinkPlan,
    pub seen: SeenCache,
    /// Equivocation among verified envelopes, and the proofs against those excluded.
    pub byzantine: Byzantine,
    /// Peer scores and bans.
    pub reputation: ReputationTable,
    /// Inbound token buckets per peer and priority.
    pub limiter: InboundLimiter,
    /// Token buckets per origin and priority, for new envelopes.
    pub origin_limiter: InboundLimiter,
    pub store: MessageStore,
    /// What each peer is known to hold.
    pub knowledge: PeerKnowledge,
    /// Ids already announced to each peer in a digest since the last full digest.
    pub announced: PeerKnowledge,
    pub digest_ticks: u32,
    pub policy: GossipPolicy,
    /// Large proposals being reassembled from their parts.
    pub parts: crate::node::proposal_parts::Assembly<crate::node::proposal_parts::driver::HeldHeader>,
    pub totals: Totals,
    /// Shared with the other nodes of a simulation, if any ([`super::VerificationCache`]).
    pub verification_cache: Option<Arc<super::VerificationCache>>,
    pub incoming: mpsc::Sender<IncomingMessage>,
    pub events: broadcast::Sender<NodeEvent>,
    pub link_events: mpsc::Sender<LinkEvent>,
    pub dialed: mpsc::Sender<DialOutcome>,
    pub _accept_loops: Vec<AbortOnDrop>,
}

impl Actor {
    /// Runs until shut down or every handle is dropped, then closes every link.
    pub async fn run(mut self, mut inputs: Inputs) {
        // Each node ticks at a phase of its own (from its id): the digest scans of validators
        // started together would otherwise all run at one instant, a burst of CPU that delays
        // whatever is broadcast just then.
        let interval = self.config.digest_interval;
        let phase = interval.mul_f64(f64::from(self.me.spread() % 65_536) / 65_536.0);
        let mut digest_timer = tokio::time::interval_at(Instant::now() + phase, interval);
        digest_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let incoming = self.incoming.clone();
        let mut set_open = true;
        let initial = inputs.set_changes.borrow_and_update().clone();
        self.apply_set(initial, false);
        // One timer for every deadline, re-armed only when the earliest moves: a fresh `sleep` per
        // deadline per turn of the loop costs a timer-wheel insert and removal each, on every frame.
        let timer = tokio::time::sleep_until(self.next_deadline());
        tokio::pin!(timer);
        let shutdown_ack = loop {
            let deadline = self.next_deadline();
            if deadline != timer.deadline() {
                timer.as_mut().reset(deadline);
            }
            // Local work first: while the engine's channel is full, leave link events where they are.
            let can_deliver = incoming.is_closed() || incoming.capacity() > 0;
            tokio::select! {
                biased;
                command = inputs.commands.recv() => match command {
                    None => break None,
                    Some(Command::Shutdown(ack)) => break Some(ack),
                    Some(command) => self.on_command(command),
                },
                changed = inputs.set_changes.changed(), if set_open => match changed {
                    Ok(()) => {
                        let set = inputs.set_changes.borrow_and_update().clone();
                        self.apply_set(set, true);
                    }
                    Err(_) => set_open = false,
                },
                Some(outcome) = inputs.dialed.recv() => self.on_dialed(outcome),
                Some(conn) = inputs.accepted.recv() => self.on_accepted(conn),
                _ = digest_timer.tick() => self.send_digests(),
                () = &mut timer => self.timers_due(),
                permit = incoming.reserve(), if !can_deliver => drop(permit),
                Some(event) = inputs.link_events.recv(), if can_deliver => {
                    self.on_link_event(event);
                    self.drain_link_events(&mut inputs, &incoming);
                }
            }
        };
        self.close_all().await;
        if let Some(ack) = shutdown_ack {
            let _ = ack.send(());
        }
    }

    /// Handles link events already queued, up to [`LINK_EVENT_BATCH`], while no command waits and the
    /// engine's channel has room: one turn of the run loop polls every input, which per frame cost
    /// more than handling a vote does.
    fn drain_link_events(&mut self, inputs: &mut Inputs, incoming: &mpsc::Sender<IncomingMessage>) {
        for _ in 1..LINK_EVENT_BATCH {
            if !inputs.commands.is_empty() || !(incoming.is_closed() || incoming.capacity() > 0) {
                return;
            }
            match inputs.link_events.try_recv() {
                Ok(event) => self.on_link_event(event),
                Err(_) => return,
            }
        }
    }

    /// The earliest of the node's timers: dials, deferred wants and announcements, liveness and
    /// reliable delivery, unbans and links on demand.
    fn next_deadline(&mut self) -> Instant {
        [
            self.next_dial_at(),
            self.policy.next_want_due(),
            self.policy.next_announce_due(),
            self.next_reliable_wakeup(),
            self.next_unban_at(),
            self.next_topology_wakeup(),
        ]
        .into_iter()
        .flatten()
        .fold(self.next_liveness_wakeup(), Instant::min)
    }

    /// Runs every timer that is due, in a fixed order.
    fn timers_due(&mut self) {
        let now = self.clock.now();
        let due = |deadline: Option<Instant>| deadline.is_some_and(|at| at <= now);
        if due(self.next_dial_at()) {
            self.dial_due();
        }
        if due(self.policy.next_want_due()) {
            self.send_due_wants();
        }
        if due(self.policy.next_announce_due()) {
            self.send_due_announcements();
        }
        if self.next_liveness_wakeup() <= now {
            self.liveness_due();
        }
        if due(self.next_reliable_wakeup()) {
            self.reliable_due();
        }
        if due(self.next_unban_at()) {
            self.unbans_due();
        }
        if due(self.next_topology_wakeup()) {
            self.topology_due();
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Broadcast { envelope, kind } => self.broadcast(envelope, kind),
            Command::BroadcastProposal { header, parts } => self.broadcast_proposal(header, parts),
            Command::Connections(reply) => {
                let _ = reply.send(self.connections());
            }
            Command::Stats(reply) => {
                let _ = reply.send(self.stats());
            }
            Command::AddressesOf(id, reply) => {
                let _ = reply.send(self.book.addresses_of(&id).to_vec());
            }
            Command::Connect(peer) => self.connect_now(peer),
            Command::Disconnect(peer) => self.disconnect(peer),
            Command::SetPosition(height, round) => self.liveness.position = (height, round),
            Command::Liveness(command) => self.on_liveness_command(command),
            Command::Reliable(command) => self.on_reliable_command(command),
            Command::Reputation(command) => self.on_reputation_command(command),
            Command::Byzantine(command) => self.on_byzantine_command(command),
            Command::Routing(command) => self.on_routing_command(command),
            Command::Shutdown(_) => unreachable!("handled by the run loop"),
        }
    }

    /// Seed decision 1: send our envelope directly to every connected validator, and keep it so
    /// gossip (digests, answers to wants) covers those we are not connected to.
    fn broadcast(&mut self, envelope: Envelope, kind: MessageKind) {
        self.totals.broadcast += 1;
        self.send_own(envelope, kind);
    }

    /// Sends our own envelope to every connected validator and keeps it for gossip: the engine's
    /// broadcasts and the node's heartbeats alike (only the former count in `NodeStats::broadcast`).
    pub(crate) fn send_own(&mut self, envelope: Envelope, kind: MessageKind) {
        let id = envelope.id();
        let now = self.clock.now();
        self.seen.record(id, now);
        self.store.insert_identified(id, envelope.clone());
        let frame = Frame::Envelope(envelope);
        let priority = Priority::of(&frame);
        let bytes = Bytes::from(frame.encode());
        let connected = self.connected();
        let len = bytes.len() as u64;
        let reached = self.send_envelopes(&connected, bytes, priority, Some(kind));
        if matches!(kind, MessageKind::Proposal | MessageKind::ProposalHeader) {
            self.totals.proposal_upload_bytes += reached as u64 * len;
        }
        self.knowledge.mark_peers(&connected, id);
    }

    /// The peers with a live link, in id order.
    pub fn connected(&self) -> Arc<[ValidatorId]> {
        self.linked.snapshot()
    }

    /// Queues an encoded envelope frame to `peer`, counting it under `kind`, followed by the ids
    /// waiting to be announced to `peer`: they ride in the same write instead of a frame of their own
    /// later.
    pub fn send_envelope(&mut self, peer: &ValidatorId, bytes: Bytes, priority: Priority, kind: Option<MessageKind>) {
        self.send_envelopes(std::slice::from_ref(peer), bytes, priority, kind);
    }

    /// [`send_envelope`](Self::send_envelope) to each of `peers`; the waiting announcements follow
    /// once the envelope is queued for all of them, so they never hold up its later copies. Returns
    /// how many peers it was queued to.
    pub fn send_envelopes(
        &mut self,
        peers: &[ValidatorId],
        bytes: Bytes,
        priority: Priority,
        kind: Option<MessageKind>,
    ) -> usize {
        let len = bytes.len() as u64;
        let mut reached = Vec::with_capacity(peers.len());
        for peer in peers {
            let sent = self.send_frame(peer, bytes.clone(), priority);
            if sent {
                reached.push(*peer);
            }
            if let Some(counters) = self.kind_counters(peer, kind) {
                if sent {
                    counters.sent += 1;
                    counters.sent_bytes += len;
                } else {
                    counters.dropped += 1;
                }
            }
        }
        for peer in &reached {
            let waiting = self.policy.take_announcements(peer, &self.knowledge);
            if !waiting.is_empty() {
                self.send_haves(peer, &waiting);
            }
        }
        reached.len()
    }

    /// Queues a control frame (digest, want, ack, pong) to `peer`; returns whether it was queued.
    pub fn send_control(&mut self, peer: &ValidatorId, frame: &Frame) -> bool {
        let sent = self.send_frame(peer, Bytes::from(frame.encode()), Priority::of(frame));
        if !sent {
            if let Some(peer) = self.peers.get_mut(peer) {
                peer.stats.control_dropped += 1;
            }
        }
        sent
    }

    /// Queues `bytes` on `peer`'s link without ever making the task wait: a full vote or proposal
    /// queue hands the frame to a waiting task (bounded per peer); beyond that, or from a full queue
    /// that drops, the frame is dropped. Returns whether it was queued or is waiting.
    fn send_frame(&mut self, peer: &ValidatorId, bytes: Bytes, priority: Priority) -> bool {
        let Some(active) = self.peers.get(peer).and_then(|peer| peer.link.as_ref()) else { return false };
        match active.link.try_send_encoded(bytes.clone(), priority) {
            Ok(()) => true,
            Err(SendError::Full(_)) => match active.waiting_sends.clone().try_acquire_owned() {
                Ok(permit) => {
                    spawn_waiting_send(active.link.clone(), bytes, priority, permit);
                    true
                }
                Err(_) => false,
            },
            Err(error) => {
                tracing::debug!(peer = %peer.short(), %error, "frame not queued");
                false
            }
        }
    }

    /// The counters of `kind` at `peer`, if `peer` is a current validator.
    pub fn kind_counters(&mut self, peer: &ValidatorId, kind: Option<MessageKind>) -> Option<&mut KindCounters> {
        self.peers.get_mut(peer).map(|peer| peer.stats.kinds.entry(kind).or_default())
    }

    /// Reports `event` to subscribers, then scores whatever it charges a peer with.
    /// The charge is scored after the event went out, so a ban it leads to is reported after its cause.
    pub fn emit(&mut self, event: NodeEvent) {
        let charge = crate::node::reputation::charge_for(&event);
        // No subscriber is fine: events are for whoever listens.
        let _ = self.events.send(event);
        if let Some((peer, behavior)) = charge {
            self.report_behavior(peer, behavior);
        }
    }

    fn connections(&self) -> Vec<PeerConnection> {
        self.peers
            .iter()
            .filter_map(|(id, peer)| {
                peer.link.as_ref().map(|active| PeerConnection {
                    peer: *id,
                    direction: active.direction,
                    address: active.address.clone(),
                    link: active.link.id(),
                    since: active.since,
                })
            })
            .collect()
    }

    fn stats(&self) -> NodeStats {
        NodeStats {
            peers: self
                .peers
                .iter()
                .map(|(id, peer)| {
                    let link = peer.link.as_ref().map(|active| Box::new(active.link.stats()));
                    (*id, PeerStats { link, ..peer.stats.clone() })
                })
                .collect(),
            broadcast: self.totals.broadcast,
            delivered: self.totals.delivered,
            undeliverable: self.totals.undeliverable,
            stale: self.totals.stale,
            verified: self.totals.verified,
            proposal_upload_bytes: self.totals.proposal_upload_bytes,
            parts_refused: self.totals.parts_refused,
            duplicates: self.seen.total_duplicates(),
            stored: self.store.len(),
            cache_peaks: CachePeaks {
                store_entries: self.store.peak().0,
                store_bytes: self.store.peak().1,
                seen_entries: self.seen.peak_len(),
                knowledge_ids: self.knowledge.peak_ids().max(self.announced.peak_ids()),
            },
            outstanding_wants: self.policy.outstanding_wants(),
            reliable: self.reliable_stats(),
        }
    }

    /// Closes every link, flushing each for at most the link's close timeout, all at once.
    async fn close_all(&mut self) {
        let mut closing = JoinSet::new();
        for peer in std::mem::take(&mut self.peers).into_values() {
            if let Some(active) = peer.link {
                closing.spawn(async move { active.link.close().await });
            }
        }
        while closing.join_next().await.is_some() {}
    }
}

/// Waits on a full queue in a task of its own, holding one of the peer's waiting-send permits.
fn spawn_waiting_send(link: Arc<PeerLink>, bytes: Bytes, priority: Priority, permit: OwnedSemaphorePermit) {
    tokio::spawn(async move {
        let _ = link.send_encoded(bytes, priority).await;
        drop(permit);
    });
}
