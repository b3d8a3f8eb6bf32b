//! A simulated validator network for the node tests: N nodes on one seeded `MemoryNetwork`, in
//! virtual time, each with a `VirtualClock`, and one collector of every delivery.
//! The same harness runs real nodes over tcp-noise on loopback, in real time ([`tcp`]).
#![allow(dead_code, unused_imports, reason = "each test file uses part of the harness and its re-exports")]

pub mod relay;
#[cfg(feature = "tcp-noise")]
pub mod tcp;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use quorumnet::devnet::cluster;
pub use quorumnet::devnet::cluster::{keys, memory_address as address, set_listing, set_of, WALL_BASE_MICROS};
use quorumnet::identity::{ChainId, Keypair, ValidatorId};
use quorumnet::memory::{LinkConfig, MemoryNetwork, MemoryTransport};
use quorumnet::message::{BlockHash, ConsensusMessage, Envelope, Height, MessageId, Proposal, Round, Vote};
use quorumnet::node::{IncomingMessages, Node, NodeBuilder, NodeConfig, NodeEvent};
use quorumnet::transport::{Admission, Connection, Transport, TransportConfig, TransportContext, TransportError};
use quorumnet::validator::{ListValidatorSetSource, ValidatorSet, ValidatorSetSource};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

/// The first event of `events` that `pick` maps to something, within `within` (virtual time under
/// `tokio::time::pause`); fails the test if none comes. Events lost to lag are skipped.
pub async fn next_event<T>(
    events: &mut broadcast::Receiver<NodeEvent>,
    within: Duration,
    mut pick: impl FnMut(NodeEvent) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(found) = pick(event) {
                        return found;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the node stopped"),
            }
        }
    };
    tokio::time::timeout(within, wait).await.expect("the awaited event")
}

pub fn chain() -> ChainId {
    ChainId::from_network_name("node-tests")
}

/// One delivery: when (since the simulation started), which node, which message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub at: Duration,
    pub node: usize,
    pub id: MessageId,
    pub origin: ValidatorId,
}

/// Validator `i`'s peers in a seeded random `degree`-regular topology of `n` validators: every
/// validator has exactly `degree` links. It starts from the circulant graph (each linked to the
/// `degree / 2` nearest on either side of a ring, plus the opposite one for an odd degree) and
/// randomises it by degree-preserving double-edge swaps, keeping only swaps that leave it connected.
pub fn random_regular_topology(n: usize, degree: usize, seed: u64) -> Vec<BTreeSet<usize>> {
    use rand::{Rng as _, SeedableRng as _};
    assert!(degree < n && (n * degree) % 2 == 0, "no {degree}-regular graph on {n} vertices");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut peers = vec![BTreeSet::new(); n];
    for (i, linked) in peers.iter_mut().enumerate() {
        for k in 1..=degree / 2 {
            linked.insert((i + k) % n);
            linked.insert((i + n - k) % n);
        }
        if degree % 2 == 1 {
            linked.insert((i + n / 2) % n);
        }
    }
    for _ in 0..20 * n * degree {
        // Edges a–b and c–d become a–d and c–b.
        let (a, c) = (rng.gen_range(0..n), rng.gen_range(0..n));
        let b = *peers[a].iter().nth(rng.gen_range(0..degree)).unwrap();
        let d = *peers[c].iter().nth(rng.gen_range(0..degree)).unwrap();
        if [b, c, d].contains(&a) || [a, b, d].contains(&c) || peers[a].contains(&d) || peers[c].contains(&b) {
            continue;
        }
        let swap = |peers: &mut Vec<BTreeSet<usize>>, (a, b, c, d): (usize, usize, usize, usize)| {
            peers[a].remove(&b);
            peers[b].remove(&a);
            peers[c].remove(&d);
            peers[d].remove(&c);
            peers[a].insert(d);
            peers[d].insert(a);
            peers[c].insert(b);
            peers[b].insert(c);
        };
        swap(&mut peers, (a, b, c, d));
        if !connected(&peers) {
            swap(&mut peers, (a, d, c, b)); // undo: a–d, c–b back to a–b, c–d
        }
    }
    debug_assert!(peers.iter().all(|linked| linked.len() == degree));
    peers
}

fn connected(peers: &[BTreeSet<usize>]) -> bool {
    let mut reached = vec![false; peers.len()];
    let mut stack = vec![0];
    reached[0] = true;
    while let Some(i) = stack.pop() {
        for &j in &peers[i] {
            if !std::mem::replace(&mut reached[j], true) {
                stack.push(j);
            }
        }
    }
    reached.iter().all(|r| *r)
}

pub struct Sim {
    pub network: MemoryNetwork,
    pub seed: u64,
    pub keys: Vec<Arc<Keypair>>,
    pub ids: Vec<ValidatorId>,
    pub config: NodeConfig,
    pub nodes: BTreeMap<usize, Node>,
    pub events: BTreeMap<usize, broadcast::Receiver<NodeEvent>>,
    pub start: Instant,
    deliveries_tx: mpsc::Sender<Delivery>,
    deliveries: mpsc::Receiver<Delivery>,
    /// Every delivery collected so far, in order.
    pub trace: Vec<Delivery>,
    held: BTreeMap<usize, BTreeSet<MessageId>>,
    next_round: u32,
}

impl Sim {
    /// A network of `key_count` validator keys, with no node started yet.
    pub fn new(key_count: usize, seed: u64, link: LinkConfig, config: NodeConfig) -> Self {
        let network = MemoryNetwork::new(seed);
        network.set_default_link(link);
        let keys = keys(key_count);
        let ids = keys.iter().map(|key| key.validator_id()).collect();
        let (deliveries_tx, deliveries) = mpsc::channel(1 << 16);
        Sim {
            network,
            seed,
            keys,
            ids,
            config,
            nodes: BTreeMap::new(),
            events: BTreeMap::new(),
            start: Instant::now(),
            deliveries_tx,
            deliveries,
            trace: Vec::new(),
            held: BTreeMap::new(),
            next_round: 0,
        }
    }

    /// `n` validators in one shared validator set, all started.
    pub async fn start(n: usize, seed: u64, link: LinkConfig, config: NodeConfig) -> Self {
        let mut sim = Sim::new(n, seed, link, config);
        let source = Arc::new(ListValidatorSetSource::new(sim.set(0..n), Height(0), 4));
        for i in 0..n {
            sim.spawn(i, source.clone(), sim.config.clone()).await;
        }
        sim
    }

    /// The set of the validators `indices`, at their usual addresses.
    pub fn set(&self, indices: impl IntoIterator<Item = usize>) -> ValidatorSet {
        let keys: Vec<(usize, &Arc<Keypair>)> = indices.into_iter().map(|i| (i, &self.keys[i])).collect();
        set_of(&keys, address)
    }

    /// Starts (or restarts) validator `index` on the simulated network, listening at
    /// [`address`]`(index)`, and collects its deliveries. Its virtual wall clock reads [`WALL_BASE_MICROS`] plus
    /// the simulation's elapsed time, as a restarted machine's clock would: a restart does not rewind
    /// its envelopes' sequence numbers.
    pub async fn spawn(&mut self, index: usize, source: Arc<dyn ValidatorSetSource>, config: NodeConfig) -> Node {
        let wall = quorumnet::devnet::cluster::wall_micros_since(self.start);
        self.spawn_with_wall_clock(index, source, config, wall).await
    }

    /// [`spawn`](Self::spawn) with a virtual wall clock starting at `wall_base_micros`: a clock offset
    /// from the others' [`WALL_BASE_MICROS`].
    pub async fn spawn_with_wall_clock(
        &mut self,
        index: usize,
        source: Arc<dyn ValidatorSetSource>,
        config: NodeConfig,
        wall_base_micros: u64,
    ) -> Node {
        let network = self.network.clone();
        self.spawn_with(index, source, config, move |builder| {
            cluster::on_memory(builder, &network, index, wall_base_micros)
        })
        .await
    }

    /// Starts validator `index` with the transports, listen addresses and clock `transport` adds to
    /// its builder, and collects its deliveries. A validator started again replaces the previous one.
    pub async fn spawn_with(
        &mut self,
        index: usize,
        source: Arc<dyn ValidatorSetSource>,
        config: NodeConfig,
        transport: impl FnOnce(NodeBuilder) -> NodeBuilder,
    ) -> Node {
        let builder = cluster::builder(self.keys[index].clone(), chain(), source, config, self.seed);
        let (node, incoming) = transport(builder).build().await.expect("node starts");
        self.events.insert(index, node.events());
        tokio::spawn(collect(index, incoming, self.deliveries_tx.clone(), self.start));
        self.nodes.insert(index, node.clone());
        node
    }

    /// A raw connection from validator `from` (which runs no node) to node `to`: a peer the test
    /// scripts frame by frame, or reads what the node sends it.
    pub async fn raw_peer(&self, from: usize, to: usize) -> Box<dyn Connection> {
        self.try_raw_peer(from, to).await.expect("admitted: the raw peer is in the node's set")
    }

    /// [`raw_peer`](Self::raw_peer), or why node `to` refused it.
    pub async fn try_raw_peer(&self, from: usize, to: usize) -> Result<Box<dyn Connection>, TransportError> {
        let ctx = TransportContext {
            keypair: self.keys[from].clone(),
            chain_id: chain(),
            admission: Admission::open(),
            config: TransportConfig::test(),
        };
        let raw = MemoryTransport::new(self.network.clone(), ctx);
        raw.dial(&address(to), Some(self.ids[to])).await
    }

    /// A fresh pre-vote by validator `index` (each call a new round, so a new message).
    pub fn vote(&mut self, index: usize, height: u64) -> ConsensusMessage {
        self.next_round += 1;
        ConsensusMessage::PreVote(Vote {
            height: Height(height),
            round: Round(self.next_round),
            validator: self.ids[index],
            block_hash: None,
        })
    }

    /// Validator `author`'s pre-vote at height 1 for `round` and block `[block; 32]`, signed with
    /// sequence number `WALL_BASE_MICROS + seq`: two of these for one round and different blocks are
    /// an equivocation.
    pub fn signed_prevote(&self, author: usize, seq: u64, round: u32, block: u8) -> Envelope {
        let message = ConsensusMessage::PreVote(Vote {
            height: Height(1),
            round: Round(round),
            validator: self.ids[author],
            block_hash: Some(BlockHash([block; 32])),
        });
        Envelope::sign_message(&self.keys[author], chain(), WALL_BASE_MICROS + seq, 3, &message)
    }

    /// A fresh proposal by validator `index` carrying a `block_len`-byte block (each call a new round).
    pub fn proposal(&mut self, index: usize, height: u64, block_len: usize) -> ConsensusMessage {
        self.next_round += 1;
        ConsensusMessage::Proposal(Proposal {
            height: Height(height),
            round: Round(self.next_round),
            proposer: self.ids[index],
            block_hash: BlockHash([self.next_round as u8; 32]),
            pol_round: None,
            block: vec![index as u8; block_len],
        })
    }

    /// Validator `index` broadcasts a fresh pre-vote at `height`; returns its id.
    pub async fn broadcast(&mut self, index: usize, height: u64) -> MessageId {
        let vote = self.vote(index, height);
        self.broadcast_message(index, &vote).await
    }

    /// Validator `index` broadcasts `message`; returns its id.
    pub async fn broadcast_message(&mut self, index: usize, message: &ConsensusMessage) -> MessageId {
        let id = self.nodes[&index].broadcast(message).await.expect("broadcast");
        // The origin holds its own message without a delivery.
        self.held.entry(index).or_default().insert(id);
        id
    }

    /// Waits until each node of `nodes` holds every id of `ids`, or fails after `within` (virtual).
    /// Each delivery costs a map update, not a rescan: the bench measures CPU while this runs.
    pub async fn await_delivered(&mut self, nodes: &[usize], ids: &[MessageId], within: Duration) {
        let deadline = Instant::now() + within;
        let mut missing: BTreeMap<usize, BTreeSet<MessageId>> = nodes
            .iter()
            .map(|n| (*n, ids.iter().filter(|id| !self.holds(*n, id)).copied().collect::<BTreeSet<_>>()))
            .filter(|(_, missing)| !missing.is_empty())
            .collect();
        while !missing.is_empty() {
            match tokio::time::timeout_at(deadline, self.deliveries.recv()).await {
                Ok(Some(delivery)) => {
                    if let Some(left) = missing.get_mut(&delivery.node) {
                        left.remove(&delivery.id);
                        if left.is_empty() {
                            missing.remove(&delivery.node);
                        }
                    }
                    self.record(delivery);
                }
                Ok(None) => unreachable!("the sim holds a sender"),
                Err(_) => {
                    let counts: Vec<(usize, usize)> = missing.iter().map(|(n, left)| (*n, left.len())).collect();
                    panic!("after {within:?}, (node, messages missing) = {counts:?} of {} messages", ids.len())
                }
            }
        }
    }

    /// Waits until `node` is connected to exactly `peers`, or fails after `within` (virtual).
    pub async fn await_connected(&mut self, node: usize, peers: &BTreeSet<usize>, within: Duration) {
        let expected: BTreeSet<ValidatorId> = peers.iter().map(|i| self.ids[*i]).collect();
        let deadline = Instant::now() + within;
        loop {
            let connected: BTreeSet<ValidatorId> =
                self.nodes[&node].connected_peers().await.expect("node runs").into_iter().collect();
            if connected == expected {
                return;
            }
            let events = self.events.get_mut(&node).expect("subscribed");
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Ok(_) | Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(broadcast::error::RecvError::Closed)) => panic!("node {node} stopped"),
                Err(_) => panic!(
                    "after {within:?}, node {node} is connected to {:?}, expected {:?}",
                    self.indices(&connected),
                    peers
                ),
            }
        }
    }

    /// Waits until every started node is connected to every other started node.
    pub async fn await_full_mesh(&mut self, within: Duration) {
        let all: BTreeSet<usize> = self.nodes.keys().copied().collect();
        for node in all.clone() {
            let mut others = all.clone();
            others.remove(&node);
            self.await_connected(node, &others, within).await;
        }
    }

    pub fn indices(&self, ids: &BTreeSet<ValidatorId>) -> Vec<usize> {
        ids.iter().filter_map(|id| self.ids.iter().position(|known| known == id)).collect()
    }

    /// Collects the deliveries that already happened, without waiting.
    pub fn drain(&mut self) {
        while let Ok(delivery) = self.deliveries.try_recv() {
            self.record(delivery);
        }
    }

    fn record(&mut self, delivery: Delivery) {
        self.held.entry(delivery.node).or_default().insert(delivery.id);
        self.trace.push(delivery);
    }

    /// Whether validator `node` holds message `id` (delivered or broadcast itself).
    pub fn holds(&self, node: usize, id: &MessageId) -> bool {
        self.held.get(&node).is_some_and(|held| held.contains(id))
    }

    /// What validator `node` holds (delivered or broadcast itself).
    pub fn held_by(&self, node: usize) -> usize {
        self.held.get(&node).map_or(0, BTreeSet::len)
    }

    pub async fn shutdown(self) {
        for node in self.nodes.values() {
            node.shutdown().await;
        }
    }
}

async fn collect(node: usize, mut incoming: IncomingMessages, out: mpsc::Sender<Delivery>, start: Instant) {
    while let Some(message) = incoming.recv().await {
        let delivery = Delivery { at: message.received_at - start, node, id: message.id, origin: message.origin };
        if out.send(delivery).await.is_err() {
            return;
        }
    }
}
