//! Byzantine validators on the devnet's simulated network: peers that put misbehaving bytes on real
//! connections, so tests and `quorumnet devnet --byzantine` see what honest nodes conclude from bytes
//! alone — never from a call that tells a node what a peer did.
//!
//! A [`Byzantine`] actor holds one validator's key (the devnet crashes that validator first, see
//! [`Devnet::start_byzantine`](super::Devnet::start_byzantine)) and dials every other validator of
//! the set on the [`MemoryNetwork`], as a node would: straight back after a node cut it off, with
//! growing backoff while dials fail or are refused (a ban). It does not listen at its own
//! `mem://v{i}`: honest nodes' dials to it fail as they would to a crashed validator, so the
//! connection it dialed is the only one of each pair and no tie-break replaces it. It reads every
//! frame its peers send, learns heights and rounds from the proposals and votes among them, and
//! answers with what its [`ByzantineKind`] sends.
//!
//! It never answers pings nor sends heartbeats: honest nodes see it silent at the liveness level
//! whatever its kind (a liveness fact, scored lightly and never alone a disconnect).
//!
//! Impersonation comes in two kinds, because honest nodes tell them apart: a key outside the set
//! cannot complete a handshake, so its envelopes only arrive relayed — the relay's fault, an
//! [`Impersonator`](ByzantineKind::Impersonator) — while a validator signing a payload that names
//! another validator is provably the signer's fault, a [`Masquerader`](ByzantineKind::Masquerader).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::identity::{ChainId, Keypair, Signature, ValidatorId};
use crate::memory::{MemoryNetwork, MemoryTransport};
use crate::message::{BlockHash, ConsensusMessage, Envelope, Frame, Height, MessageId, Round, Vote};
use crate::node::priority::Priority;
use crate::node::rate_limit::RateLimit;
use crate::node::NodeConfig;
use crate::transport::{
    Admission, Connection, PeerAddress, Transport, TransportConfig, TransportContext, TransportError,
};
use crate::validator::ValidatorSet;

/// How a byzantine validator misbehaves: what bytes it sends, and what honest nodes should conclude.
///
/// Every kind reads and discards what it is not interested in, so its peers' sends never stall on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ByzantineKind {
    /// For each height and round it sees, signs a pre-vote and a pre-commit for the round's proposed
    /// block (a made-up one if it saw no proposal) and another pair for nil, under distinct sequence
    /// numbers, and sends the first pair to every other peer (by index in the set) and the second to
    /// the rest. Each honest node holds one version until gossip brings it the other.
    ///
    /// Honest nodes conclude: equivocation, with evidence anyone holding the set can verify; the
    /// equivocator is banned, excluded from quorum everywhere (the finder gossips the proof), and its
    /// votes stop counting in every engine from the height after the one it was caught at.
    Equivocator,
    /// An [`Equivocator`](Self::Equivocator) that first sends, for each round, a validly signed nil
    /// pre-vote for a height a million ahead: engines drop it, but an equivocation detector that keeps
    /// only the heights just below the highest it has seen moves its window past the heights this
    /// validator equivocates at.
    ///
    /// Honest nodes should conclude what they do of an equivocator. (They do not yet: see the ignored
    /// test `a_vote_far_ahead_blinds_the_equivocation_detector` in `tests/devnet_byzantine.rs`.)
    BlindingEquivocator,
    /// Forwards forged votes of honest validators: each vote it receives rewritten to another block
    /// (nil for a block, a made-up block for nil) under the origin's original signature. A copy
    /// changed only in its signature would keep the genuine message's id and, arriving after it, be
    /// dropped unverified as a duplicate; a rewritten vote is a new message that cannot verify.
    ///
    /// Honest nodes conclude: invalid signatures, charged to the forwarder (never to the validator
    /// the vote names): disconnected at five, banned at ten.
    Forger,
    /// Floods every peer with validly signed, distinct pre-votes for rounds far ahead (signed once,
    /// into a pool it cycles through), at [`ByzantineConfig::spam_multiple`] times the vote quota
    /// (bytes per second) it is told the honest nodes enforce.
    ///
    /// Honest nodes conclude: over quota. They drop the excess before decoding it, count it per peer
    /// and charge it (−2 a frame): disconnected, then banned. (What they admit they forward, and the
    /// next honest node charges them for it: see the ignored test
    /// `honest_relays_are_never_charged_for_forwarding_a_flood` in `tests/devnet_byzantine.rs`.)
    Spammer,
    /// Connects and sends nothing at all.
    ///
    /// Honest nodes conclude: a silent validator — liveness facts only (no heartbeat, no votes), never
    /// a ban or a disconnect for reputation; consensus goes on without its power.
    Silent,
    /// Relays votes signed by a key outside the validator set and naming that key (a key not in the set
    /// cannot connect itself: every handshake it tries first is refused at admission). One outsider
    /// vote for each honest vote it receives, same height, round and phase.
    ///
    /// Honest nodes conclude: envelopes of an unknown origin, charged to the forwarder (−20 each):
    /// disconnected at 25, banned at 50.
    Impersonator,
    /// For each height and round it sees, signs with its own key a nil pre-vote naming the honest
    /// validator it learnt the round from as its author.
    ///
    /// Honest nodes conclude: impersonation, the signer's provable fault (its signature is on a payload
    /// naming someone else): banned at the first one; the validator it names is not charged.
    Masquerader,
    /// Forwards each envelope of another origin it receives to every peer but the origin and the peer
    /// it came from, with one signature byte flipped: the same message id as the genuine copy. Given
    /// faster links than honest validators have, its copies arrive before the genuine ones.
    ///
    /// Honest nodes conclude: invalid signatures, charged to the forwarder (disconnected at five,
    /// banned at ten) — and still deliver the genuine copy when it arrives, because a message is
    /// marked seen only once verified. A corrupted copy arriving after the genuine one is a duplicate,
    /// dropped unverified: it costs nobody anything.
    CorruptForwarder,
    /// Records the first envelopes it receives and sends each of them again to every peer
    /// [`ByzantineConfig::replay_after`] later: once honest seen-caches have forgotten them, so they
    /// are not exact duplicates any more.
    ///
    /// Honest nodes conclude: a replay, charged to the forwarder (disconnected at 25, banned at 50),
    /// for each envelope more than the replay window below its origin's newest; one within the window
    /// is a late message, which the engine drops as stale and which costs nobody anything.
    Replayer,
}

impl ByzantineKind {
    /// Every kind.
    pub const ALL: [ByzantineKind; 9] = [
        ByzantineKind::Equivocator,
        ByzantineKind::BlindingEquivocator,
        ByzantineKind::Forger,
        ByzantineKind::Spammer,
        ByzantineKind::Silent,
        ByzantineKind::Impersonator,
        ByzantineKind::Masquerader,
        ByzantineKind::CorruptForwarder,
        ByzantineKind::Replayer,
    ];

    /// Its name on the command line (`quorumnet devnet --byzantine equivocate=1`): the verb of what it
    /// does, kebab-case.
    ///
    /// ```
    /// use quorumnet::devnet::byzantine::ByzantineKind;
    ///
    /// assert_eq!(ByzantineKind::BlindingEquivocator.option_name(), "blinding-equivocate");
    /// assert!(ByzantineKind::ALL.iter().all(|k| ByzantineKind::from_option_name(k.option_name()) == Some(*k)));
    /// ```
    pub const fn option_name(self) -> &'static str {
        match self {
            ByzantineKind::Equivocator => "equivocate",
            ByzantineKind::BlindingEquivocator => "blinding-equivocate",
            ByzantineKind::Forger => "forge",
            ByzantineKind::Spammer => "spam",
            ByzantineKind::Silent => "silent",
            ByzantineKind::Impersonator => "impersonate",
            ByzantineKind::Masquerader => "masquerade",
            ByzantineKind::CorruptForwarder => "corrupt-forward",
            ByzantineKind::Replayer => "replay",
        }
    }

    /// The kind an [`option_name`](Self::option_name) or a [`name`](Self::name) stands for.
    pub fn from_option_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.option_name() == name || kind.name() == name)
    }

    /// Whether honest nodes should prove it an equivocator (and so hold evidence against it).
    pub const fn equivocates(self) -> bool {
        matches!(self, ByzantineKind::Equivocator | ByzantineKind::BlindingEquivocator)
    }

    /// Its name in logs and in the devnet's report.
    pub const fn name(self) -> &'static str {
        match self {
            ByzantineKind::Equivocator => "equivocator",
            ByzantineKind::BlindingEquivocator => "blinding-equivocator",
            ByzantineKind::Forger => "forger",
            ByzantineKind::Spammer => "spammer",
            ByzantineKind::Silent => "silent",
            ByzantineKind::Impersonator => "impersonator",
            ByzantineKind::Masquerader => "masquerader",
            ByzantineKind::CorruptForwarder => "corrupt-forwarder",
            ByzantineKind::Replayer => "replayer",
        }
    }

    /// How often it acts on its own rather than in answer to a frame.
    fn tick(self) -> Option<Duration> {
        match self {
            // Fine enough that a flood is a steady rate rather than one burst per tick.
            ByzantineKind::Spammer => Some(Duration::from_millis(10)),
            ByzantineKind::Replayer => Some(Duration::from_millis(250)),
            _ => None,
        }
    }
}

/// What a [`Byzantine`] actor needs to know about the network it misbehaves on.
///
/// ```
/// use std::sync::Arc;
/// use quorumnet::devnet::byzantine::ByzantineConfig;
/// use quorumnet::devnet::cluster::{keys, memory_address, set_of};
/// use quorumnet::identity::ChainId;
/// use quorumnet::node::NodeConfig;
///
/// let keys = keys(4);
/// let indexed: Vec<_> = keys.iter().enumerate().collect();
/// let set = Arc::new(set_of(&indexed, memory_address));
/// let config = ByzantineConfig::new(ChainId::from_network_name("devnet"), set, &NodeConfig::test(), 1);
/// assert_eq!(config.spam_multiple, 100);
/// ```
#[derive(Clone, Debug)]
pub struct ByzantineConfig {
    /// The chain its envelopes and handshakes are for.
    pub chain: ChainId,
    /// The validator set: whom it dials (every member but itself, at its first address).
    pub set: Arc<ValidatorSet>,
    /// Handshake timeout and frame limit of its dials.
    pub transport: TransportConfig,
    /// Hops its envelopes may travel, as honest nodes' own.
    pub ttl: u8,
    /// The vote quota honest nodes enforce per peer: the [`ByzantineKind::Spammer`] floods at a
    /// multiple of its rate.
    pub vote_quota: RateLimit,
    /// How many times the vote quota's rate the spammer sends.
    pub spam_multiple: u64,
    /// Its first envelope sequence number: above every one its key signed before (a validator's own
    /// node starts at its boot wall clock in µs), so its envelopes are new messages, not replays.
    pub first_seq: u64,
    /// First redial delay; doubled per failure up to [`Self::redial_max`].
    pub redial_min: Duration,
    /// Longest redial delay.
    pub redial_max: Duration,
    /// How long the [`ByzantineKind::Replayer`] waits before replaying what it recorded.
    pub replay_after: Duration,
}

impl ByzantineConfig {
    /// For a network of nodes on `node`'s config: its transport limits, gossip ttl, vote quota and
    /// reconnection backoff; replays a second after the nodes' seen-caches forget an envelope.
    pub fn new(chain: ChainId, set: Arc<ValidatorSet>, node: &NodeConfig, first_seq: u64) -> Self {
        ByzantineConfig {
            chain,
            set,
            transport: node.transport.clone(),
            ttl: node.gossip.initial_ttl,
            vote_quota: node.rate_limits.limits[Priority::Vote.rank()],
            spam_multiple: 100,
            first_seq,
            redial_min: node.reconnect_backoff_min,
            redial_max: node.reconnect_backoff_max,
            replay_after: node.gossip.seen_max_age + Duration::from_secs(1),
        }
    }
}

/// What a [`Byzantine`] actor did, for tests to check it really misbehaved as much as they assume.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ByzantineStats {
    /// Connections it established (first ones and redials).
    pub connections: u64,
    /// Dials refused at the handshake (banned, or not admitted).
    pub refused: u64,
    /// Handshakes the [`ByzantineKind::Impersonator`]'s outsider key tried, and was refused.
    pub outsider_refused: u64,
    /// Frames it sent.
    pub frames_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Frames it meant for a peer but dropped: not connected to it, or its outbox was full.
    pub frames_dropped: u64,
    /// Flood bytes the [`ByzantineKind::Spammer`] sent, over all its connections.
    pub spam_bytes: u64,
    /// How long those connections were flooding, summed (one tick per connection at least).
    pub spam_time: Duration,
}

impl ByzantineStats {
    /// The spammer's mean flood rate per connection, bytes per second (0 if it never flooded).
    pub fn spam_rate(&self) -> f64 {
        let secs = self.spam_time.as_secs_f64();
        if secs > 0.0 {
            self.spam_bytes as f64 / secs
        } else {
            0.0
        }
    }
}

/// A running byzantine validator. Dropping it (or [`stop`](Self::stop)) ends every connection.
///
/// ```no_run
/// use std::time::Duration;
/// use quorumnet::devnet::byzantine::ByzantineKind;
/// use quorumnet::devnet::{Devnet, DevnetConfig};
/// use quorumnet::message::Height;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap().block_on(async {
/// let mut devnet = Devnet::start(DevnetConfig::memory(7, 1)).await.unwrap();
/// let equivocator = devnet.start_byzantine(6, ByzantineKind::Equivocator).await.unwrap();
/// devnet.wait_for_height(Height(5), &[0, 1, 2, 3, 4, 5], Duration::from_secs(60)).await.unwrap();
/// let proofs = devnet.node(0).unwrap().equivocation_proofs().await.unwrap();
/// assert_eq!(proofs[0].accused(), equivocator.id());
/// # });
/// ```
pub struct Byzantine {
    id: ValidatorId,
    kind: ByzantineKind,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Byzantine {
    /// Starts validator `key`'s misbehaviour of `kind` on `network`: one task per other validator of
    /// the set, dialing it and running the connection.
    pub fn spawn(kind: ByzantineKind, key: Arc<Keypair>, network: MemoryNetwork, config: ByzantineConfig) -> Self {
        let id = key.validator_id();
        let peers: Vec<(ValidatorId, Option<PeerAddress>)> =
            config.set.iter().filter(|v| v.id() != id).map(|v| (v.id(), v.addresses.first().cloned())).collect();
        let tactics = Tactics::new(kind, key.clone(), &config, peers.iter().map(|(peer, _)| *peer).collect());
        let shared = Arc::new(Shared {
            kind,
            key,
            config,
            network,
            state: Mutex::new(State { tactics, outboxes: BTreeMap::new(), recent: BTreeMap::new() }),
            stats: Mutex::new(ByzantineStats::default()),
        });
        let span = tracing::debug_span!("byzantine", id = %id.short(), kind = kind.name());
        let tasks = peers
            .into_iter()
            .enumerate()
            .filter_map(|(index, (peer, address))| Some((index, peer, address?)))
            .map(|(index, peer, address)| {
                let run = connect_loop(shared.clone(), index, peer, address);
                tokio::spawn(tracing::Instrument::instrument(run, span.clone()))
            })
            .collect();
        Byzantine { id, kind, shared, tasks }
    }

    /// The validator it runs as.
    pub fn id(&self) -> ValidatorId {
        self.id
    }

    /// What it does.
    pub fn kind(&self) -> ByzantineKind {
        self.kind
    }

    /// What it did so far.
    pub fn stats(&self) -> ByzantineStats {
        lock(&self.shared.stats).clone()
    }

    /// Ends every connection and stops dialing.
    pub fn stop(&self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

impl Drop for Byzantine {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Byzantine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Byzantine").field("id", &self.id).field("kind", &self.kind).finish()
    }
}

/// Frames waiting for one connection's writer; beyond it they are dropped (counted).
const OUTBOX: usize = 1024;
/// Frames remembered per peer and sent again on each new connection to it.
const AGAIN: usize = 16;
/// Message ids and rounds remembered to act once per message and per round.
const REMEMBERED: usize = 8192;
/// Distinct votes in the spammer's pool.
const SPAM_POOL: usize = 512;
/// The spammer's votes are for rounds from here on: far ahead of any the engines are in, so they
/// are dropped by the engines rather than counted, however many arrive.
const SPAM_FIRST_ROUND: u32 = 1_000_000;
/// How far ahead the blinding equivocator's votes are.
const FAR_AHEAD: u64 = 1_000_000;
/// Envelopes the replayer records.
const RECORDED: usize = 256;

struct Shared {
    kind: ByzantineKind,
    key: Arc<Keypair>,
    config: ByzantineConfig,
    network: MemoryNetwork,
    state: Mutex<State>,
    stats: Mutex<ByzantineStats>,
}

struct State {
    tactics: Tactics,
    /// The writer of each connected peer, by index among the peers.
    outboxes: BTreeMap<usize, mpsc::Sender<Bytes>>,
    /// The last [`AGAIN`] frames meant for each peer, connected or not.
    recent: BTreeMap<usize, VecDeque<Bytes>>,
}

/// A poisoned lock means a panic already failed the run; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn transport(&self, key: Arc<Keypair>) -> MemoryTransport {
        let ctx = TransportContext {
            keypair: key,
            chain_id: self.config.chain,
            // Who may connect to us does not matter: we never listen.
            admission: Admission::open(),
            config: self.config.transport.clone(),
        };
        MemoryTransport::new(self.network.clone(), ctx)
    }

    /// Queues each frame for its peer's writer, or counts it dropped; remembers it to send again.
    fn post(&self, frames: Vec<(usize, Bytes)>) {
        if frames.is_empty() {
            return;
        }
        let mut state = lock(&self.state);
        let mut dropped = 0;
        for (peer, frame) in frames {
            let recent = state.recent.entry(peer).or_default();
            recent.push_back(frame.clone());
            if recent.len() > AGAIN {
                recent.pop_front();
            }
            if state.outboxes.get(&peer).is_none_or(|outbox| outbox.try_send(frame).is_err()) {
                dropped += 1;
            }
        }
        drop(state);
        lock(&self.stats).frames_dropped += dropped;
    }

    fn count(&self, update: impl FnOnce(&mut ByzantineStats)) {
        update(&mut lock(&self.stats));
    }
}

/// Dials peer `index` and runs each connection to it until the actor stops, redialing at once after a
/// connection ends (an attacker cut off for its reputation comes straight back) and with growing
/// backoff after a failed or refused dial.
async fn connect_loop(shared: Arc<Shared>, index: usize, peer: ValidatorId, address: PeerAddress) {
    if shared.kind == ByzantineKind::Impersonator {
        try_outsider(&shared, peer, &address).await;
    }
    let transport = shared.transport(shared.key.clone());
    let mut delay = shared.config.redial_min;
    loop {
        match transport.dial(&address, Some(peer)).await {
            Ok(conn) => {
                shared.count(|stats| stats.connections += 1);
                delay = shared.config.redial_min;
                run_connection(&shared, index, conn).await;
            }
            Err(TransportError::Handshake { .. }) => shared.count(|stats| stats.refused += 1),
            Err(error) => tracing::trace!(peer = %peer.short(), %error, "dial failed"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(shared.config.redial_max);
    }
}

/// The impersonator's outsider tries to connect as itself once: admission refuses a key outside the
/// set, which is why the impersonator relays its envelopes instead.
async fn try_outsider(shared: &Shared, peer: ValidatorId, address: &PeerAddress) {
    let outsider = lock(&shared.state).tactics.outsider.clone();
    match shared.transport(outsider).dial(address, Some(peer)).await {
        Err(TransportError::Handshake { .. }) => shared.count(|stats| stats.outsider_refused += 1),
        Err(_) => {}
        Ok(conn) => {
            tracing::warn!(peer = %peer.short(), "a key outside the set was admitted");
            let _ = conn.close().await;
        }
    }
}

/// One connection: first sends again the last frames meant for its peer (an attacker back after a
/// disconnection carries on where it was cut off, even once nothing new comes its way), then reads
/// and reacts to its frames, writes what reactions queue for its peer, and acts on the kind's own
/// ticks. Returns when the connection ends.
async fn run_connection(shared: &Shared, index: usize, conn: Box<dyn Connection>) {
    let (outbox, mut queued) = mpsc::channel(OUTBOX);
    let again: Vec<Bytes> = {
        let mut state = lock(&shared.state);
        state.outboxes.insert(index, outbox);
        state.recent.get(&index).map(|recent| recent.iter().cloned().collect()).unwrap_or_default()
    };
    let mut ticks = shared.kind.tick().map(|every| {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks
    });
    let mut cursor = Cursor::default();
    let mut alive = true;
    for frame in again {
        alive = alive && send(shared, &*conn, frame).await;
    }
    while alive {
        alive = tokio::select! {
            received = conn.recv() => match received {
                Ok(Some(bytes)) => {
                    react(shared, index, &bytes);
                    true
                }
                Ok(None) | Err(_) => false,
            },
            Some(frame) = queued.recv() => send(shared, &*conn, frame).await,
            now = next_tick(&mut ticks) => {
                let frames = lock(&shared.state).tactics.on_tick(now, &mut cursor);
                send_all(shared, &*conn, frames, &mut cursor).await
            }
        };
    }
    lock(&shared.state).outboxes.remove(&index);
}

async fn next_tick(ticks: &mut Option<Interval>) -> Instant {
    match ticks {
        Some(ticks) => ticks.tick().await,
        None => std::future::pending().await,
    }
}

/// Sends one frame; whether the connection still works.
async fn send(shared: &Shared, conn: &dyn Connection, frame: Bytes) -> bool {
    let len = frame.len() as u64;
    let sent = conn.send(frame).await.is_ok();
    if sent {
        shared.count(|stats| {
            stats.frames_sent += 1;
            stats.bytes_sent += len;
        });
    }
    sent
}

/// Sends a tick's frames in order; whether the connection still works. Flood frames are timed.
async fn send_all(shared: &Shared, conn: &dyn Connection, frames: Vec<Bytes>, cursor: &mut Cursor) -> bool {
    let mut bytes = 0;
    for frame in frames {
        let len = frame.len() as u64;
        if !send(shared, conn, frame).await {
            return false;
        }
        bytes += len;
    }
    if shared.kind == ByzantineKind::Spammer && bytes > 0 {
        let tick = shared.kind.tick().unwrap_or_default();
        // A connection's first flood tick counts one tick of time; each later one the time since the
        // last one's sends completed, so sends held up by backpressure lower the rate.
        let sent = Instant::now();
        let time = cursor.last.map_or(tick, |last| sent.saturating_duration_since(last));
        cursor.last = Some(sent);
        shared.count(|stats| {
            stats.spam_bytes += bytes;
            stats.spam_time += time;
        });
    }
    true
}

/// Decodes a frame from peer `index` and queues what the actor's kind answers to it.
fn react(shared: &Shared, index: usize, bytes: &[u8]) {
    if shared.kind == ByzantineKind::Silent {
        return;
    }
    // A peer's bytes it cannot read are simply not acted on: an actor never fails on input.
    let envelope = match Frame::decode(bytes) {
        Ok(Frame::Envelope(envelope) | Frame::Reliable(envelope)) => envelope,
        _ => return,
    };
    let frames = lock(&shared.state).tactics.on_envelope(index, &envelope, Instant::now());
    shared.post(frames);
}

/// What one connection sends on its own: where it is in the spammer's pool and in the replayer's
/// recordings, and when it last flooded.
#[derive(Default)]
struct Cursor {
    next: usize,
    replayed: usize,
    last: Option<Instant>,
}

/// The misbehaviour itself: what the actor sends in answer to what it receives, shared by all its
/// connections (so a message it hears from several peers is acted on once).
struct Tactics {
    kind: ByzantineKind,
    key: Arc<Keypair>,
    /// The impersonator's key outside the set.
    outsider: Arc<Keypair>,
    chain: ChainId,
    ttl: u8,
    flood_per_tick: u64,
    replay_after: Duration,
    peers: Vec<ValidatorId>,
    next_seq: u64,
    outsider_seq: u64,
    seen: Recent<MessageId>,
    rounds: Recent<(Height, Round)>,
    highest: Height,
    proposals: BTreeMap<(Height, Round), BlockHash>,
    pool: Vec<Bytes>,
    recorded: Vec<(Instant, Bytes)>,
}

impl Tactics {
    fn new(kind: ByzantineKind, key: Arc<Keypair>, config: &ByzantineConfig, peers: Vec<ValidatorId>) -> Self {
        let tick = kind.tick().unwrap_or_default();
        let rate = config.vote_quota.rate.saturating_mul(config.spam_multiple);
        let outsider_seed =
            blake3::hash(&[b"quorumnet/devnet/outsider".as_slice(), key.validator_id().as_bytes()].concat());
        Tactics {
            kind,
            outsider: Arc::new(Keypair::from_seed(outsider_seed.as_bytes())),
            key,
            chain: config.chain,
            ttl: config.ttl,
            flood_per_tick: (rate as f64 * tick.as_secs_f64()).ceil() as u64,
            replay_after: config.replay_after,
            peers,
            next_seq: config.first_seq,
            outsider_seq: config.first_seq,
            seen: Recent::new(REMEMBERED),
            rounds: Recent::new(REMEMBERED),
            highest: Height(0),
            proposals: BTreeMap::new(),
            pool: Vec::new(),
            recorded: Vec::new(),
        }
    }

    fn me(&self) -> ValidatorId {
        self.key.validator_id()
    }

    /// What to send, and to which peer (by index), for an envelope peer `from` sent. Each message is
    /// acted on once, however many peers bring it.
    fn on_envelope(&mut self, from: usize, envelope: &Envelope, now: Instant) -> Vec<(usize, Bytes)> {
        if envelope.origin == self.me() || !self.seen.insert(envelope.id()) {
            return Vec::new();
        }
        let Ok(message) = envelope.message() else { return Vec::new() };
        if let ConsensusMessage::Proposal(proposal) = &message {
            self.proposals.insert((proposal.height, proposal.round), proposal.block_hash);
        }
        let new_round = self.new_round(&message);
        match self.kind {
            ByzantineKind::Silent | ByzantineKind::Spammer => Vec::new(),
            ByzantineKind::Replayer => {
                if self.recorded.len() < RECORDED {
                    self.recorded.push((now, envelope_frame(envelope.clone())));
                }
                Vec::new()
            }
            ByzantineKind::Equivocator => new_round.map(|(h, r)| self.equivocate(h, r, false)).unwrap_or_default(),
            ByzantineKind::BlindingEquivocator => {
                new_round.map(|(h, r)| self.equivocate(h, r, true)).unwrap_or_default()
            }
            ByzantineKind::Masquerader => {
                new_round.map(|(h, r)| self.masquerade(h, r, envelope.origin)).unwrap_or_default()
            }
            ByzantineKind::Forger => self.forge(envelope, &message),
            ByzantineKind::CorruptForwarder => self.corrupt(from, envelope),
            ByzantineKind::Impersonator => self.impersonate(&message),
        }
    }

    /// The height and round `message` is in, the first time a message of it arrives (and not for a
    /// height below the highest seen: those are late votes and catch-up).
    fn new_round(&mut self, message: &ConsensusMessage) -> Option<(Height, Round)> {
        let at = match message {
            ConsensusMessage::Proposal(p) => (p.height, p.round),
            ConsensusMessage::PreVote(v) | ConsensusMessage::PreCommit(v) => (v.height, v.round),
            _ => return None,
        };
        if at.0 < self.highest {
            return None;
        }
        self.highest = at.0;
        let floor = Height(self.highest.0.saturating_sub(4));
        self.proposals = self.proposals.split_off(&(floor, Round(0)));
        self.rounds.insert(at).then_some(at)
    }

    fn sign(&mut self, message: &ConsensusMessage) -> Bytes {
        let envelope = Envelope::sign_message(&self.key, self.chain, self.next_seq, self.ttl, message);
        self.next_seq += 1;
        envelope_frame(envelope)
    }

    fn everyone(&self, frame: &Bytes) -> Vec<(usize, Bytes)> {
        (0..self.peers.len()).map(|peer| (peer, frame.clone())).collect()
    }

    /// `frame` for every peer except those of `skip`.
    fn everyone_but(&self, skip: &[usize], frame: &Bytes) -> Vec<(usize, Bytes)> {
        (0..self.peers.len()).filter(|peer| !skip.contains(peer)).map(|peer| (peer, frame.clone())).collect()
    }

    fn index_of(&self, id: &ValidatorId) -> Option<usize> {
        self.peers.iter().position(|peer| peer == id)
    }

    /// Two pairs of votes for `height` and `round`, one pair to every other peer; `blind`: after a vote
    /// far ahead, to everyone.
    fn equivocate(&mut self, height: Height, round: Round, blind: bool) -> Vec<(usize, Bytes)> {
        let block = self.proposals.get(&(height, round)).copied().unwrap_or_else(|| made_up_block(height, round));
        let me = self.me();
        let mut out = Vec::new();
        if blind {
            let far = Height(height.0.saturating_add(FAR_AHEAD));
            let ahead =
                self.sign(&ConsensusMessage::PreVote(Vote { height: far, round, validator: me, block_hash: None }));
            out.extend(self.everyone(&ahead));
        }
        for phase in [ConsensusMessage::PreVote as fn(Vote) -> ConsensusMessage, ConsensusMessage::PreCommit] {
            let vote = |block_hash| Vote { height, round, validator: me, block_hash };
            let (for_block, for_nil) = (self.sign(&phase(vote(Some(block)))), self.sign(&phase(vote(None))));
            for peer in 0..self.peers.len() {
                out.push((peer, if peer % 2 == 0 { for_block.clone() } else { for_nil.clone() }));
            }
        }
        out
    }

    fn masquerade(&mut self, height: Height, round: Round, named: ValidatorId) -> Vec<(usize, Bytes)> {
        let vote = Vote { height, round, validator: named, block_hash: None };
        let frame = self.sign(&ConsensusMessage::PreVote(vote));
        self.everyone(&frame)
    }

    fn forge(&mut self, envelope: &Envelope, message: &ConsensusMessage) -> Vec<(usize, Bytes)> {
        let forged = match message {
            ConsensusMessage::PreVote(vote) => ConsensusMessage::PreVote(rewritten(vote)),
            ConsensusMessage::PreCommit(vote) => ConsensusMessage::PreCommit(rewritten(vote)),
            _ => return Vec::new(),
        };
        let forged = envelope_frame(Envelope { payload: Bytes::from(forged.encode()), ..envelope.clone() });
        let origin: Vec<usize> = self.index_of(&envelope.origin).into_iter().collect();
        self.everyone_but(&origin, &forged)
    }

    fn corrupt(&mut self, from: usize, envelope: &Envelope) -> Vec<(usize, Bytes)> {
        let mut sig = envelope.sig.as_bytes().to_vec();
        let Some(byte) = sig.first_mut() else { return Vec::new() };
        *byte ^= 1;
        let corrupted = envelope_frame(Envelope { sig: Signature::from_bytes(sig), ..envelope.clone() });
        let skip: Vec<usize> = self.index_of(&envelope.origin).into_iter().chain([from]).collect();
        self.everyone_but(&skip, &corrupted)
    }

    fn impersonate(&mut self, message: &ConsensusMessage) -> Vec<(usize, Bytes)> {
        let outsider = self.outsider.validator_id();
        let claim = |vote: &Vote| Vote { validator: outsider, ..vote.clone() };
        let message = match message {
            ConsensusMessage::PreVote(vote) => ConsensusMessage::PreVote(claim(vote)),
            ConsensusMessage::PreCommit(vote) => ConsensusMessage::PreCommit(claim(vote)),
            _ => return Vec::new(),
        };
        let envelope = Envelope::sign_message(&self.outsider, self.chain, self.outsider_seq, self.ttl, &message);
        self.outsider_seq += 1;
        self.everyone(&envelope_frame(envelope))
    }

    /// What a connection sends on its own at a tick: the spammer's next flood frames, the replayer's
    /// recordings that are due.
    fn on_tick(&mut self, now: Instant, cursor: &mut Cursor) -> Vec<Bytes> {
        match self.kind {
            ByzantineKind::Spammer => self.flood(cursor),
            ByzantineKind::Replayer => {
                let due = self
                    .recorded
                    .get(cursor.replayed..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|(at, _)| now.saturating_duration_since(*at) >= self.replay_after);
                let frames: Vec<Bytes> = due.map(|(_, frame)| frame.clone()).collect();
                cursor.replayed += frames.len();
                frames
            }
            _ => Vec::new(),
        }
    }

    /// The next tick's worth of flood frames: at least the rate's bytes, from the pool, signed the
    /// first time a height is known. The votes are for rounds far ahead at two heights above it, which
    /// engines drop without counting them; not at a height far ahead, which would also blind honest
    /// equivocation detectors (see [`ByzantineKind::BlindingEquivocator`]).
    fn flood(&mut self, cursor: &mut Cursor) -> Vec<Bytes> {
        if self.pool.is_empty() {
            if self.highest == Height(0) {
                return Vec::new();
            }
            let height = Height(self.highest.0 + 2);
            let me = self.me();
            self.pool = (0..SPAM_POOL as u32)
                .map(|i| {
                    let round = Round(SPAM_FIRST_ROUND + i);
                    self.sign(&ConsensusMessage::PreVote(Vote { height, round, validator: me, block_hash: None }))
                })
                .collect();
        }
        let mut frames = Vec::new();
        let mut bytes = 0;
        while bytes < self.flood_per_tick {
            let frame = self.pool[cursor.next % self.pool.len()].clone();
            cursor.next = cursor.next.wrapping_add(1);
            bytes += frame.len() as u64;
            frames.push(frame);
        }
        frames
    }
}

/// A vote saying something else: nil for a block, a made-up block for nil.
fn rewritten(vote: &Vote) -> Vote {
    let block_hash = match vote.block_hash {
        Some(_) => None,
        None => Some(made_up_block(vote.height, vote.round)),
    };
    Vote { block_hash, ..vote.clone() }
}

/// A block hash nobody proposed, for a height and round.
fn made_up_block(height: Height, round: Round) -> BlockHash {
    let mut bytes = b"quorumnet/devnet/made-up".to_vec();
    bytes.extend_from_slice(&height.0.to_be_bytes());
    bytes.extend_from_slice(&round.0.to_be_bytes());
    BlockHash(*blake3::hash(&bytes).as_bytes())
}

fn envelope_frame(envelope: Envelope) -> Bytes {
    Bytes::from(Frame::Envelope(envelope).encode())
}

/// A set remembering its last `capacity` insertions.
struct Recent<T> {
    set: HashSet<T>,
    order: VecDeque<T>,
    capacity: usize,
}

impl<T: Copy + Eq + Hash> Recent<T> {
    fn new(capacity: usize) -> Self {
        Recent { set: HashSet::new(), order: VecDeque::new(), capacity }
    }

    /// Whether `item` is new (then it is remembered, forgetting the oldest beyond the capacity).
    fn insert(&mut self, item: T) -> bool {
        if !self.set.insert(item) {
            return false;
        }
        self.order.push_back(item);
        if self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.set.remove(&oldest);
            }
        }
        true
    }
}
