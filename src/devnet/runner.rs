//! A devnet: N validators in one process, each a node plus the reference engine, which a test or the
//! CLI can crash, restart, partition (through [`Devnet::network`]) and watch commit.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::byzantine::{Byzantine, ByzantineConfig, ByzantineKind};
use super::churn::{ChurnDriver, ChurnStep};
use super::cluster;
use super::config::{DevnetConfig, TransportKind};
use super::driver;
use super::engine::Engine;
use super::error::DevnetError;
use super::journal::{Journal, JournalState};
use super::mixed;
use super::partition_driver::{self, Member, PartitionDriver, PartitionRecord};
use super::signals::{SignalLog, Signals};
use super::validator_schedule::ValidatorSchedule;
use crate::identity::{ChainId, Keypair, ValidatorId};
use crate::memory::MemoryNetwork;
use crate::message::{BlockHash, Height, Round};
use crate::node::topology::{picks, Topology};
use crate::node::{
    Clock, IncomingMessages, Node, NodeError, NodeStats, SystemClock, VerificationCache, VerificationCacheStats,
    VirtualClock,
};
use crate::relay::{RelayConfig, RelayServer, RelayStats};
use crate::transport::PeerAddress;
use crate::validator::{ListValidatorSetSource, ValidatorSet};

/// The chain every devnet validator is on.
pub const CHAIN_NAME: &str = "quorumnet-devnet";

/// How often [`Devnet::wait_for_height`] looks at the validators' chains.
const POLL: Duration = Duration::from_millis(20);

/// How long [`Devnet::start`] waits for the validators to connect before starting the engines (a
/// chain's genesis time): past it, engines start anyway and catch up once connected.
const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// Signed messages the shared verification cache keeps, with their signatures: about 55 MB, some 80
/// heights of a 100-validator devnet (each checked by every node within a second of being signed).
const VERIFICATION_CACHE_ENTRIES: usize = 16_384;

/// One validator: its node and engine while running, its journal always.
struct Validator {
    node: Option<Node>,
    driver: Option<JoinHandle<Result<(), NodeError>>>,
    journal: Journal,
    listen: Option<PeerAddress>,
    /// Bans and partition signals of its nodes, across restarts.
    signals: Signals,
    /// The task recording them from the running node.
    recorder: Option<JoinHandle<()>>,
    /// The running node's validator-set source (memory), which churn feeds with new sets.
    source: Option<Arc<ListValidatorSetSource>>,
}

impl Validator {
    /// Stops its engine and recorder and hands back its node, if running, for the caller to shut down.
    fn stop_tasks(&mut self) -> Option<Node> {
        if let Some(driver) = self.driver.take() {
            driver.abort();
        }
        if let Some(recorder) = self.recorder.take() {
            recorder.abort();
        }
        self.source = None;
        self.node.take()
    }
}

/// A validator-set change the devnet carried out ([`super::churn`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ChurnApplied {
    /// The first height the new set decides.
    pub height: u64,
    /// When it was carried out (the first commit of the height before), seconds since the start.
    pub at_s: f64,
    /// The validators that left (and stopped).
    pub left: Vec<usize>,
    /// The validators that joined (and started, synced to the height before).
    pub joined: Vec<usize>,
}

/// One commit of one validator, for comparing runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TraceEntry {
    /// When, since the devnet started.
    pub at: Duration,
    /// The validator.
    pub validator: usize,
    /// The height.
    pub height: Height,
    /// The round it was decided in.
    pub round: Round,
    /// The block.
    pub block: BlockHash,
}

/// A running devnet.
///
/// ```
/// use std::time::Duration;
/// use quorumnet::devnet::{Devnet, DevnetConfig};
/// use quorumnet::message::Height;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap().block_on(async {
/// let mut devnet = Devnet::start(DevnetConfig::memory(4, 7)).await.unwrap();
/// devnet.wait_for_height(Height(3), &[0, 1, 2, 3], Duration::from_secs(30)).await.unwrap();
/// assert!(devnet.check_agreement().unwrap() >= 3);
/// devnet.shutdown().await;
/// # });
/// ```
pub struct Devnet {
    config: DevnetConfig,
    keys: Vec<Arc<Keypair>>,
    /// Every validator, with its addresses, whether in the set now or not.
    all: Arc<ValidatorSet>,
    /// The set of each height: the genesis set, then the churn plan's.
    schedule: Arc<ValidatorSchedule>,
    /// When the churn plan's next step is due.
    churn: ChurnDriver,
    /// The steps carried out so far.
    churned: Vec<ChurnApplied>,
    network: MemoryNetwork,
    /// When the nodes were created: restarted nodes' wall clocks go on from it.
    created: Instant,
    /// When the engines started: commit times are measured from it.
    epoch: Instant,
    validators: Vec<Validator>,
    /// Shared by the simulated nodes when [`DevnetConfig::verification_cache`] is on.
    verification_cache: Option<Arc<VerificationCache>>,
    /// The relays' identities (none without NAT-bound validators), admitted by every validator.
    relay_ids: Vec<ValidatorId>,
    /// The running relays, `None` once killed ([`Devnet::kill_relay`]).
    relays: Vec<Option<RelayServer>>,
    /// The byzantine actors of [`DevnetConfig::byzantine`], with the validator each replaces.
    actors: Vec<(usize, Byzantine)>,
    /// The schedule of [`DevnetConfig::partition`], once the engines run.
    partition: Option<PartitionDriver>,
}

impl Devnet {
    /// Starts every validator's node, waits (a bounded time) until they are connected, then starts
    /// their engines together, as validators start at a chain's genesis time.
    ///
    /// With [`DevnetConfig::nat`] above 0 the relays start first, then the NAT-bound validators (so
    /// they hold their reservations before anyone dials them), then the rest. The byzantine actors of
    /// [`DevnetConfig::byzantine`] start last, once the honest engines run: their validators' own
    /// nodes and engines never do.
    ///
    /// # Errors
    /// [`DevnetError::InvalidOptions`] for no validators, NAT-bound validators that cannot be (as
    /// many as the validators, no relay, or off the simulator), or byzantine ones that cannot be (a
    /// third of the power or more, or off the simulator), [`TransportKind::Mixed`] in a build linking
    /// tcp-noise only ([`mixed::check`]), or a [`DevnetConfig::partition`] it cannot apply (see
    /// [`partition_driver::check`]); [`DevnetError::RelayStart`],
    /// [`DevnetError::NodeStart`].
    pub async fn start(config: DevnetConfig) -> Result<Self, DevnetError> {
        if config.validators == 0 {
            return Err(DevnetError::InvalidOptions("a devnet needs at least one validator".into()));
        }
        check_nat(&config)?;
        check_byzantine(&config)?;
        check_churn(&config)?;
        mixed::check(config.transport)?;
        partition_driver::check(&config)?;
        if config.verification_cache && config.transport != TransportKind::Memory {
            let why = "the shared verification cache is for the simulator: nodes on a real transport verify every signature themselves";
            return Err(DevnetError::InvalidOptions(why.into()));
        }
        // A few seconds of every validator's envelopes: each is checked by all nodes within a
        // second of being signed, and a forgotten outcome is only verified again.
        let verification_cache =
            config.verification_cache.then(|| Arc::new(VerificationCache::new(VERIFICATION_CACHE_ENTRIES)));
        let keys = cluster::keys(config.validators);
        let relay_keys = cluster::relay_keys(if config.nat > 0 { config.relays } else { 0 });
        let relay_ids: Vec<ValidatorId> = relay_keys.iter().map(|k| k.validator_id()).collect();
        let first_nat = config.validators - config.nat;
        let indexed: Vec<_> = keys.iter().enumerate().collect();
        let all = Arc::new(cluster::set_listing(&indexed, |i| {
            if i >= first_nat {
                let id = keys[i].validator_id();
                (0..relay_keys.len()).map(|r| cluster::relayed_address(&cluster::relay_memory_address(r), id)).collect()
            } else {
                vec![cluster::memory_address(i)]
            }
        }));
        let schedule = Arc::new(schedule_of(&config, &all, &keys)?);
        let churn = ChurnDriver::new(config.churn.clone());
        let network = MemoryNetwork::new(config.seed);
        network.set_default_link(config.link.clone());
        network.set_validator_bandwidth(config.bandwidth);
        let mut relays = Vec::with_capacity(relay_keys.len());
        for (index, key) in relay_keys.into_iter().enumerate() {
            let chain = ChainId::from_network_name(CHAIN_NAME);
            let admitted = keys.iter().map(|k| k.validator_id());
            let listen = cluster::relay_memory_address(index);
            let transport = config.node.transport.clone();
            let relay =
                cluster::start_memory_relay(&network, key, chain, admitted, &listen, transport, RelayConfig::local())
                    .await
                    .map_err(|source| DevnetError::RelayStart { index, source })?;
            relays.push(Some(relay));
        }
        let validators = (0..config.validators)
            .map(|_| Validator {
                node: None,
                driver: None,
                journal: Journal::default(),
                listen: None,
                signals: Signals::default(),
                recorder: None,
                source: None,
            })
            .collect();
        let now = Instant::now();
        let mut devnet = Devnet {
            config,
            keys,
            all,
            churn,
            churned: Vec::new(),
            schedule,
            network,
            created: now,
            epoch: now,
            validators,
            verification_cache,
            relay_ids,
            relays,
            actors: Vec::new(),
            partition: None,
        };
        let count = devnet.validators.len();
        let mut started = Vec::with_capacity(count);
        let genesis = devnet.schedule.at(Height(0)).clone();
        let honest: Vec<usize> = (first_nat..count)
            .chain(0..first_nat)
            .filter(|&i| !devnet.is_byzantine(i) && genesis.contains(&devnet.keys[i].validator_id()))
            .collect();
        for index in honest {
            started.push((index, devnet.start_node(index).await?));
        }
        devnet.await_connected(CONNECT_WAIT).await;
        devnet.epoch = Instant::now();
        for (index, (incoming, clock)) in started {
            devnet.start_engine(index, incoming, clock);
        }
        let first_byzantine = devnet.first_byzantine();
        for (offset, kind) in devnet.config.byzantine.clone().into_iter().enumerate() {
            let index = first_byzantine + offset;
            let actor = devnet.start_byzantine(index, kind).await?;
            devnet.actors.push((index, actor));
        }
        if let Some(plan) = devnet.config.partition.clone() {
            let members = (0..count).map(|i| devnet.member(i)).collect();
            let network = devnet.network.clone();
            devnet.partition = Some(PartitionDriver::spawn(&plan, network, members, devnet.epoch)?);
        }
        Ok(devnet)
    }

    /// What the shared verification cache did, if it is on ([`DevnetConfig::verification_cache`]).
    pub fn verification_cache_stats(&self) -> Option<VerificationCacheStats> {
        self.verification_cache.as_ref().map(|cache| cache.stats())
    }

    /// What the scheduled partition of [`DevnetConfig::partition`] did so far (`None` without one).
    pub fn partition(&self) -> Option<PartitionRecord> {
        self.partition.as_ref().map(PartitionDriver::record)
    }

    /// Validator `index` as the partition driver sees it (`index` in range).
    fn member(&self, index: usize) -> Member {
        Member {
            id: self.keys[index].validator_id(),
            journal: self.validators[index].journal.clone(),
            byzantine: self.is_byzantine(index),
        }
    }

    /// The simulated network (memory transport), for cutting links and partitions.
    pub fn network(&self) -> &MemoryNetwork {
        &self.network
    }

    /// The validators' ids' keys, in index order (id order).
    pub fn keys(&self) -> &[Arc<Keypair>] {
        &self.keys
    }

    /// How many validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Never: a devnet has at least one validator.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// The options it runs with.
    pub fn config(&self) -> &DevnetConfig {
        &self.config
    }

    /// Time since it started (virtual on a paused clock).
    pub fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// The first validator [`DevnetConfig::byzantine`] replaces (the count of validators when none).
    fn first_byzantine(&self) -> usize {
        self.validators.len() - self.config.nat - self.config.byzantine.len()
    }

    /// Whether validator `index` is one of [`DevnetConfig::byzantine`]'s, run by a byzantine actor
    /// from the start (not one a test replaced later with [`start_byzantine`](Self::start_byzantine)).
    pub fn is_byzantine(&self, index: usize) -> bool {
        (self.first_byzantine()..self.validators.len() - self.config.nat).contains(&index)
    }

    /// The validators that are not [`is_byzantine`](Self::is_byzantine), in index order: those whose
    /// progress and agreement a run is judged by.
    pub fn honest(&self) -> Vec<usize> {
        (0..self.validators.len()).filter(|&index| !self.is_byzantine(index)).collect()
    }

    /// The byzantine actors of [`DevnetConfig::byzantine`], each with the validator it replaces.
    pub fn byzantine(&self) -> &[(usize, Byzantine)] {
        &self.actors
    }

    /// The bans and partition signals validator `index`'s nodes reported so far (see
    /// [`super::signals`]).
    ///
    /// # Errors
    /// [`DevnetError::NoSuchValidator`].
    pub fn signals(&self, index: usize) -> Result<SignalLog, DevnetError> {
        Ok(self.validator(index)?.signals.snapshot())
    }

    /// When the engines started: the origin of the run's times.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Whether validator `index` is NAT-bound: reached only through the relays.
    pub fn is_nat_bound(&self, index: usize) -> bool {
        index >= self.validators.len() - self.config.nat && index < self.validators.len()
    }

    /// How many relays the devnet started (killed ones included).
    pub fn relay_count(&self) -> usize {
        self.relays.len()
    }

    /// What relay `index` holds now, while it runs.
    pub fn relay_stats(&self, index: usize) -> Option<RelayStats> {
        self.relays.get(index).and_then(Option::as_ref).map(RelayServer::stats)
    }

    /// Stops relay `index` abruptly (every link and circuit through it ends). NAT-bound validators
    /// stay reachable through the other relay, if there is one: their peers redial their next address.
    ///
    /// ```
    /// use std::time::Duration;
    /// use quorumnet::devnet::{Devnet, DevnetConfig};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap().block_on(async {
    /// let mut devnet = Devnet::start(DevnetConfig { nat: 1, relays: 2, ..DevnetConfig::memory(4, 7) }).await.unwrap();
    /// assert!(devnet.is_nat_bound(3) && devnet.relay_stats(0).unwrap().reservations == 1);
    /// devnet.kill_relay(0).unwrap();
    /// assert!(devnet.relay_stats(0).is_none());
    /// devnet.shutdown().await;
    /// # });
    /// ```
    ///
    /// # Errors
    /// [`DevnetError::NoSuchRelay`].
    pub fn kill_relay(&mut self, index: usize) -> Result<(), DevnetError> {
        let count = self.relays.len();
        let relay = self.relays.get_mut(index).ok_or(DevnetError::NoSuchRelay { index, count })?;
        drop(relay.take());
        Ok(())
    }

    /// Validator `index`'s node, while it runs.
    pub fn node(&self, index: usize) -> Option<&Node> {
        self.validators.get(index).and_then(|v| v.node.as_ref())
    }

    /// Validator `index`'s journal (chain, position, timeouts).
    ///
    /// # Errors
    /// [`DevnetError::NoSuchValidator`].
    pub fn journal(&self, index: usize) -> Result<JournalState, DevnetError> {
        Ok(self.validator(index)?.journal.snapshot())
    }

    fn validator(&self, index: usize) -> Result<&Validator, DevnetError> {
        let count = self.validators.len();
        self.validators.get(index).ok_or(DevnetError::NoSuchValidator { index, count })
    }

    /// Waits until every running node is connected to the running validators its topology picks
    /// (everyone else on a full mesh), or `within` passed.
    ///
    /// On a bounded topology no node is ever linked to every other: waiting for that held every
    /// large devnet for the whole of `within` (10 virtual seconds of heartbeats and address
    /// records, ~40 % of a 300-validator run's envelopes) before its first height.
    async fn await_connected(&self, within: Duration) {
        let deadline = Instant::now() + within;
        let genesis = self.schedule.at(Height(0));
        let running: BTreeSet<ValidatorId> = (self.validators.iter().zip(&self.keys))
            .filter(|(validator, _)| validator.node.is_some())
            .map(|(_, key)| key.validator_id())
            .collect();
        let topology = &self.config.node.topology;
        let awaited: Vec<(&Node, Vec<ValidatorId>)> = (self.validators.iter().zip(&self.keys))
            .filter_map(|(validator, key)| {
                let node = validator.node.as_ref()?;
                let me = key.validator_id();
                let peers = if *topology == Topology::FullMesh || !genesis.contains(&me) {
                    running.iter().copied().filter(|peer| *peer != me).collect()
                } else {
                    picks(me, genesis.ids(), topology).into_iter().filter(|peer| running.contains(peer)).collect()
                };
                Some((node, peers))
            })
            .collect();
        'poll: while Instant::now() < deadline {
            for (node, peers) in &awaited {
                let connected = node.connected_peers().await.unwrap_or_default();
                if peers.iter().any(|peer| !connected.contains(peer)) {
                    tokio::time::sleep(POLL).await;
                    continue 'poll;
                }
            }
            return;
        }
    }

    /// Starts validator `index`'s node and engine (again, after a crash: the engine resumes from its
    /// journal, as from disk).
    async fn launch(&mut self, index: usize) -> Result<(), DevnetError> {
        let (incoming, clock) = self.start_node(index).await?;
        self.start_engine(index, incoming, clock);
        Ok(())
    }

    /// Starts validator `index`'s node; returns its engine's inbox and clock.
    async fn start_node(&mut self, index: usize) -> Result<(IncomingMessages, Arc<dyn Clock>), DevnetError> {
        let chain = ChainId::from_network_name(CHAIN_NAME);
        let key = self.keys[index].clone();
        let key_id = key.validator_id();
        let (builder, clock): (_, Arc<dyn Clock>) = match self.config.transport {
            TransportKind::Memory => {
                let source = self.node_source();
                self.validators[index].source = Some(source.clone());
                let mut builder = cluster::builder(key, chain, source, self.config.node.clone(), self.config.seed);
                if let Some(cache) = &self.verification_cache {
                    builder = builder.verification_cache(cache.clone());
                }
                // A restarted validator's wall clock goes on from where the others' are, so its
                // sequence numbers keep increasing.
                let wall = cluster::wall_micros_since(self.created);
                let builder = if self.is_nat_bound(index) {
                    let relayed = self.all.get(&key_id).map(|v| v.addresses.clone()).unwrap_or_default();
                    cluster::behind_relays(builder, &self.relay_ids, &self.network, &relayed, wall)
                } else if self.relay_ids.is_empty() {
                    cluster::on_memory(builder, &self.network, index, wall)
                } else {
                    // Dials NAT-bound validators through the relays, listens directly.
                    let builder = cluster::with_relays(builder, &self.relay_ids, &self.network);
                    cluster::on_memory(builder, &self.network, index, wall)
                };
                (builder, VirtualClock::shared(wall))
            }
            kind => {
                // Ports are known once nodes listen: each validator is told the addresses of those
                // already listening and dials them; later ones dial it. A restart listens where it did.
                let indexed: Vec<_> = self.keys.iter().enumerate().collect();
                let set = cluster::set_listing(&indexed, |i| {
                    self.validators[i].listen.clone().filter(|_| i != index).into_iter().collect()
                });
                let source = Arc::new(ListValidatorSetSource::new(set, Height(0), 4));
                let builder = cluster::builder(key, chain, source, self.config.node.clone(), self.config.seed);
                let own = mixed::listening_transport(kind, index);
                let listen = self.validators[index].listen.clone().or_else(|| cluster::loopback_address_of(own));
                let listen = listen.expect("a socket transport has a loopback address");
                (cluster::on_loopback(kind, builder, listen), Arc::new(SystemClock))
            }
        };
        let (node, incoming) =
            builder.build().await.map_err(|source| DevnetError::NodeStart { index, source: Box::new(source) })?;
        let validator = &mut self.validators[index];
        validator.recorder = Some(validator.signals.record(&node));
        validator.listen = node.listen_addresses().first().cloned();
        validator.node = Some(node);
        Ok((incoming, clock))
    }

    /// Starts validator `index`'s engine on its running node.
    fn start_engine(&mut self, index: usize, incoming: IncomingMessages, clock: Arc<dyn Clock>) {
        let validator = &mut self.validators[index];
        let Some(node) = validator.node.clone() else { return };
        let engine = Engine::new(
            node.id(),
            self.schedule.clone(),
            self.config.engine.clone(),
            validator.journal.clone(),
            clock,
            self.epoch,
        );
        validator.driver = Some(driver::spawn(node, incoming, engine));
    }

    /// Stops validator `index` abruptly: node and engine gone, journal kept.
    ///
    /// # Errors
    /// [`DevnetError::NoSuchValidator`].
    pub async fn crash(&mut self, index: usize) -> Result<(), DevnetError> {
        self.validator(index)?;
        if let Some(node) = self.validators[index].stop_tasks() {
            node.shutdown().await;
        }
        Ok(())
    }

    /// A new node's validator-set source: the genesis set and every change carried out so far (those
    /// the chain has announced), the newest deciding who may connect.
    fn node_source(&self) -> Arc<ListValidatorSetSource> {
        let versions = self.schedule.versions();
        let source = Arc::new(ListValidatorSetSource::new((*versions[0].1).clone(), Height(0), 4));
        for (height, set) in versions.iter().skip(1).take(self.churned.len()) {
            // Versions of a schedule have strictly increasing heights: accepted by construction.
            let _ = source.push_set(*height, (**set).clone());
        }
        source
    }

    /// The validator-set changes carried out so far.
    pub fn churned(&self) -> &[ChurnApplied] {
        &self.churned
    }

    /// The honest validators of the last validator set: those a run waits for (leavers stop; a
    /// validator that joins later is expected to get there too).
    pub fn finishing(&self) -> Vec<usize> {
        let last = self.config.churn.final_members(self.validators.len());
        self.honest().into_iter().filter(|index| last.contains(index)).collect()
    }

    /// Carries out the churn steps due now that some validator committed the height before them
    /// ([`super::churn`]).
    async fn apply_churn(&mut self) -> Result<(), DevnetError> {
        let (donor, tip) = self
            .validators
            .iter()
            .enumerate()
            .map(|(index, v)| (index, v.journal.lock().chain.len() as u64))
            .max_by_key(|(_, len)| *len)
            .unwrap_or((0, 0));
        while let Some(step) = self.churn.due(Height(tip)) {
            self.apply_churn_step(&step, donor).await?;
        }
        Ok(())
    }

    async fn apply_churn_step(&mut self, step: &ChurnStep, donor: usize) -> Result<(), DevnetError> {
        let set = self.schedule.at(step.at).clone();
        for source in self.validators.iter().filter_map(|v| v.source.as_ref()) {
            // Steps come in height order, each once: the schedule's next version is always newer.
            let _ = source.push_set(step.at, (*set).clone());
        }
        self.churned.push(ChurnApplied {
            height: step.at.0,
            at_s: self.elapsed().as_secs_f64(),
            left: step.leave.clone(),
            joined: step.join.clone(),
        });
        for &leaver in &step.leave {
            tracing::info!(validator = leaver, height = step.at.0, "validator leaves the set");
            self.crash(leaver).await?;
        }
        let synced = self.validators[donor].journal.snapshot();
        for &joiner in &step.join {
            tracing::info!(validator = joiner, height = step.at.0, "validator joins the set");
            self.validators[joiner].journal.sync_from(&synced, Height(step.at.0 - 1));
            self.launch(joiner).await?;
        }
        Ok(())
    }

    /// Puts a byzantine actor of `kind` in validator `index`'s place: the validator is crashed and the
    /// actor, holding its key, dials every other validator (see [`super::byzantine`]). The actor runs
    /// until the returned handle is dropped; [`restart`](Self::restart) brings the honest validator
    /// back (drop the actor first, or the two share a key).
    ///
    /// ```no_run
    /// use quorumnet::devnet::byzantine::ByzantineKind;
    /// use quorumnet::devnet::{Devnet, DevnetConfig};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap().block_on(async {
    /// let mut devnet = Devnet::start(DevnetConfig::memory(4, 1)).await.unwrap();
    /// let forger = devnet.start_byzantine(3, ByzantineKind::Forger).await.unwrap();
    /// assert!(devnet.node(3).is_none());
    /// assert_eq!(forger.id(), devnet.keys()[3].validator_id());
    /// # });
    /// ```
    ///
    /// # Errors
    /// [`DevnetError::NoSuchValidator`]; [`DevnetError::InvalidOptions`] off the simulator (byzantine
    /// actors dial `mem://` addresses).
    pub async fn start_byzantine(&mut self, index: usize, kind: ByzantineKind) -> Result<Byzantine, DevnetError> {
        if self.config.transport != TransportKind::Memory {
            return Err(DevnetError::InvalidOptions("byzantine validators run on the memory transport only".into()));
        }
        self.crash(index).await?;
        let chain = ChainId::from_network_name(CHAIN_NAME);
        // Like a restarted validator's node, its sequence numbers start at the wall clock it reads now,
        // above every one the crashed node signed.
        let first_seq = cluster::wall_micros_since(self.created);
        // Byzantine validators run without churn (`check_churn`): the genesis set is every height's.
        let set = self.schedule.at(Height(0)).clone();
        let config = ByzantineConfig::new(chain, set, &self.config.node, first_seq);
        Ok(Byzantine::spawn(kind, self.keys[index].clone(), self.network.clone(), config))
    }

    /// Starts a crashed validator again; it catches up from the others.
    ///
    /// # Errors
    /// [`DevnetError::NoSuchValidator`], [`DevnetError::NodeStart`].
    pub async fn restart(&mut self, index: usize) -> Result<(), DevnetError> {
        self.crash(index).await?;
        self.launch(index).await
    }

    /// Waits until each validator of `among` committed `target`, or fails after `within`. Also fails
    /// early if an engine stopped with an error.
    ///
    /// # Errors
    /// [`DevnetError::Stalled`], [`DevnetError::Engine`], [`DevnetError::NoSuchValidator`].
    pub async fn wait_for_height(
        &mut self,
        target: Height,
        among: &[usize],
        within: Duration,
    ) -> Result<(), DevnetError> {
        let deadline = Instant::now() + within;
        loop {
            self.check_engines()?;
            self.apply_churn().await?;
            let mut waiting = Vec::new();
            let mut reached = Height(u64::MAX);
            for &index in among {
                let height = Height(self.validator(index)?.journal.lock().chain.len() as u64);
                reached = reached.min(height);
                if height < target {
                    waiting.push(index);
                }
            }
            if waiting.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DevnetError::Stalled { target, reached, within, waiting });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Fails with the first engine that stopped on an error.
    fn check_engines(&mut self) -> Result<(), DevnetError> {
        for (index, validator) in self.validators.iter_mut().enumerate() {
            if validator.driver.as_ref().is_some_and(JoinHandle::is_finished) {
                let driver = validator.driver.take().expect("checked above");
                if let Some(Ok(Err(source))) = driver.now_or_never_result() {
                    return Err(DevnetError::Engine { index, source });
                }
            }
        }
        Ok(())
    }

    /// Checks, across the [`honest`](Self::honest) validators, that every height any two committed
    /// holds the same block. Returns the highest height every honest validator committed.
    ///
    /// # Errors
    /// [`DevnetError::Diverged`] naming the first height and pair that differ.
    pub fn check_agreement(&self) -> Result<u64, DevnetError> {
        let chains: Vec<(usize, JournalState)> =
            self.honest().into_iter().map(|index| (index, self.validators[index].journal.snapshot())).collect();
        let longest = chains.iter().map(|(_, c)| c.chain.len()).max().unwrap_or(0);
        for height in 0..longest {
            let mut first: Option<(usize, BlockHash)> = None;
            for (index, chain) in chains.iter().map(|(index, chain)| (*index, chain)) {
                let Some(committed) = chain.chain.get(height) else { continue };
                match first {
                    None => first = Some((index, committed.block)),
                    Some((other, block)) if block != committed.block => {
                        return Err(DevnetError::Diverged { height: committed.height, first: other, second: index });
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(chains.iter().map(|(_, c)| c.chain.len() as u64).min().unwrap_or(0))
    }

    /// Every commit of every validator, in time order: what a run with a seed must reproduce.
    pub fn commit_trace(&self) -> Vec<TraceEntry> {
        let mut trace: Vec<TraceEntry> = self
            .validators
            .iter()
            .enumerate()
            .flat_map(|(validator, v)| {
                v.journal.snapshot().chain.into_iter().map(move |c| TraceEntry {
                    at: c.at,
                    validator,
                    height: c.height,
                    round: c.round,
                    block: c.block,
                })
            })
            .collect();
        trace.sort();
        trace
    }

    /// Each validator's journal and, while it runs, its node's counters.
    pub async fn snapshot(&self) -> Vec<(JournalState, Option<NodeStats>)> {
        let mut out = Vec::with_capacity(self.validators.len());
        for validator in &self.validators {
            let stats = match &validator.node {
                Some(node) => node.stats().await.ok(),
                None => None,
            };
            out.push((validator.journal.snapshot(), stats));
        }
        out
    }

    /// Stops every validator.
    pub async fn shutdown(mut self) {
        // All at once: stopped one after another, each survivor would handle the link losses of every
        // validator stopped before it (forget what the peer held, graft around it, redial it), n²/2
        // link losses that nobody reads.
        let mut stopping = tokio::task::JoinSet::new();
        for node in self.validators.iter_mut().filter_map(Validator::stop_tasks) {
            stopping.spawn(async move { node.shutdown().await });
        }
        stopping.join_all().await;
    }
}

/// A finished task's result without waiting (the caller checked `is_finished`).
trait FinishedResult<T> {
    fn now_or_never_result(self) -> Option<Result<T, tokio::task::JoinError>>;
}

impl<T> FinishedResult<T> for JoinHandle<T> {
    fn now_or_never_result(self) -> Option<Result<T, tokio::task::JoinError>> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut handle = std::pin::pin!(self);
        match std::future::Future::poll(handle.as_mut(), &mut cx) {
            std::task::Poll::Ready(result) => Some(result),
            std::task::Poll::Pending => None,
        }
    }
}

/// Fails for NAT-bound validators the options cannot make.
fn check_nat(config: &DevnetConfig) -> Result<(), DevnetError> {
    let invalid = |why: String| Err(DevnetError::InvalidOptions(why));
    if config.nat == 0 {
        return Ok(());
    }
    if config.nat >= config.validators {
        return invalid(format!(
            "--nat {} leaves no validator with a listener among {}: NAT-bound validators are reached only through relays that others dial; use at most {}",
            config.nat,
            config.validators,
            config.validators - 1
        ));
    }
    if config.transport != TransportKind::Memory {
        return invalid(format!(
            "--nat runs relays on the simulator only: use --transport memory (not {})",
            config.transport.name()
        ));
    }
    if config.relays == 0 {
        return invalid("NAT-bound validators need at least one relay: --relays 1 or 2".into());
    }
    Ok(())
}

/// Fails for byzantine validators the options cannot make: honest nodes must hold more than two
/// thirds of the power (every validator holds 1), keep one listening validator beside the NAT-bound
/// ones, and the actors dial `mem://` addresses.
fn check_byzantine(config: &DevnetConfig) -> Result<(), DevnetError> {
    let byzantine = config.byzantine.len();
    if byzantine == 0 {
        return Ok(());
    }
    let invalid = |why: String| Err(DevnetError::InvalidOptions(why));
    if config.transport != TransportKind::Memory {
        return invalid(format!(
            "--byzantine runs byzantine actors on the simulator only: use --transport memory (not {})",
            config.transport.name()
        ));
    }
    let limit = config.validators.saturating_sub(1) / 3;
    if byzantine > limit {
        return invalid(format!(
            "--byzantine asks for {byzantine} byzantine validators among {}: they must hold less than a third of the voting power, so at most {limit} (or raise --validators)",
            config.validators
        ));
    }
    if byzantine + config.nat >= config.validators {
        return invalid(format!(
            "--byzantine {byzantine} and --nat {} leave no honest validator with a listener among {}",
            config.nat, config.validators
        ));
    }
    Ok(())
}

/// Fails for churn the options cannot make: plans that do not fit the validators, off the simulator,
/// or with byzantine or NAT-bound validators or a scheduled partition (fixed to the genesis set).
fn check_churn(config: &DevnetConfig) -> Result<(), DevnetError> {
    if config.churn.is_empty() {
        return Ok(());
    }
    let invalid = |why: String| Err(DevnetError::InvalidOptions(why));
    if config.transport != TransportKind::Memory {
        return invalid(format!(
            "--churn changes the validator set on the simulator only: use --transport memory (not {})",
            config.transport.name()
        ));
    }
    if !config.byzantine.is_empty() || config.nat > 0 || config.partition.is_some() {
        let why = "--churn runs without --byzantine, --nat and --partition: their actors, relays and cuts know only the genesis set";
        return invalid(why.into());
    }
    config.churn.check(config.validators).map_err(DevnetError::InvalidOptions)
}

/// The set of each height: [`DevnetConfig::churn`]'s members, each listed as in `all`.
fn schedule_of(
    config: &DevnetConfig,
    all: &ValidatorSet,
    keys: &[Arc<Keypair>],
) -> Result<ValidatorSchedule, DevnetError> {
    let set_of = |members: Vec<usize>| {
        let infos = members.into_iter().filter_map(|i| all.get(&keys[i].validator_id()).cloned());
        ValidatorSet::new(infos)
            .map_err(|e| DevnetError::InvalidOptions(format!("--churn makes an invalid validator set: {e}")))
    };
    let plan = &config.churn;
    let genesis = set_of(plan.genesis(config.validators))?;
    let changes = plan
        .steps()
        .iter()
        .map(|step| Ok((step.at, set_of(plan.members_at(step.at, config.validators))?)))
        .collect::<Result<Vec<_>, DevnetError>>()?;
    ValidatorSchedule::new(genesis, changes)
        .ok_or_else(|| DevnetError::InvalidOptions("--churn steps must be in increasing height order".into()))
}
