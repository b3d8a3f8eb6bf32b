//! [`NodeBuilder`]: assembles a [`Node`] from a key pair, a chain id, a validator-set source,
//! transports and listen addresses.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::sync::{broadcast, mpsc};
use tracing::Instrument as _;

use super::actor::{AbortOnDrop, Actor, Inputs, Totals};
use super::clock::{Clock, SystemClock};
use super::config::NodeConfig;
use super::error::BuildError;
use super::handle::{Node, Shared, Signer};
use super::incoming::IncomingMessages;
use super::liveness::driver::Liveness;
use super::reliable_driver::Reliable;
use super::verification_cache::VerificationCache;
use crate::identity::{ChainId, Keypair};
use crate::node::byzantine::driver::Byzantine;
use crate::node::gossip::{AddressBook, GossipPolicy, MessageStore, PeerKnowledge, SeenCache};
use crate::node::rate_limit::InboundLimiter;
use crate::node::reputation::ReputationTable;
use crate::transport::{
    build_transport, Admission, Connection, Listener, PeerAddress, Transport, TransportContext, TransportError,
};
use crate::validator::ValidatorSetSource;

type TransportFactory = Box<dyn FnOnce(&TransportContext) -> Result<Arc<dyn Transport>, TransportError> + Send>;

/// Builds a [`Node`]; see [`Node::builder`].
///
/// The builder owns the [`Admission`] handle every transport it builds is given, and keeps it equal to
/// the current validator set from then on. A transport passed ready-made with
/// [`transport`](Self::transport) must have been built with [`admission`](Self::admission).
///
/// ```no_run
/// use std::sync::Arc;
/// use quorumnet_core::identity::{ChainId, Keypair};
/// use quorumnet_core::node::{Node, NodeConfig};
/// use quorumnet_core::validator::{StaticValidatorSetSource, ValidatorInfo, ValidatorSet};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let key = Arc::new(Keypair::from_seed(&[1; 32]));
/// let set = ValidatorSet::new([ValidatorInfo::new(key.public_key().clone(), 1)])?;
/// let (node, mut incoming) = Node::builder()
///     .keypair(key)
///     .chain_id(ChainId::from_network_name("devnet"))
///     .validators(Arc::new(StaticValidatorSetSource::new(set)))
///     .registry_transport("tcp-noise")
///     .listen("tcp-noise://0.0.0.0:7000".parse()?)
///     .config(NodeConfig::recommended())
///     .build()
///     .await?;
/// while let Some(message) = incoming.recv().await {
///     println!("{:?} from {}", message.message.kind(), message.origin);
/// }
/// # node.shutdown().await;
/// # Ok(()) }
/// ```
pub struct NodeBuilder {
    keypair: Option<Arc<Keypair>>,
    chain_id: Option<ChainId>,
    validators: Option<Arc<dyn ValidatorSetSource>>,
    transports: Vec<TransportFactory>,
    listen: Vec<PeerAddress>,
    config: NodeConfig,
    seed: Option<u64>,
    clock: Option<Arc<dyn Clock>>,
    admission: Admission,
    verification_cache: Option<Arc<VerificationCache>>,
}

impl NodeBuilder {
    pub(crate) fn new() -> Self {
        NodeBuilder {
            keypair: None,
            chain_id: None,
            validators: None,
            transports: Vec::new(),
            listen: Vec::new(),
            config: NodeConfig::recommended(),
            seed: None,
            clock: None,
            admission: Admission::new(),
            verification_cache: None,
        }
    }

    /// The node's key pair (required).
    #[must_use]
    pub fn keypair(mut self, keypair: Arc<Keypair>) -> Self {
        self.keypair = Some(keypair);
        self
    }

    /// The chain id bound into every handshake and signature (required).
    #[must_use]
    pub fn chain_id(mut self, chain_id: ChainId) -> Self {
        self.chain_id = Some(chain_id);
        self
    }

    /// Where the validator sets come from (required).
    #[must_use]
    pub fn validators(mut self, source: Arc<dyn ValidatorSetSource>) -> Self {
        self.validators = Some(source);
        self
    }

    /// A ready-made transport, built with [`Self::admission`] (one per scheme).
    #[must_use]
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transports.push(Box::new(move |_| Ok(transport)));
        self
    }

    /// A transport built at [`build`](Self::build) from the node's [`TransportContext`] (its key pair,
    /// chain id, admission handle and `config.transport`).
    #[must_use]
    pub fn transport_with(
        mut self,
        build: impl FnOnce(&TransportContext) -> Result<Arc<dyn Transport>, TransportError> + Send + 'static,
    ) -> Self {
        self.transports.push(Box::new(build));
        self
    }

    /// The transport the plugin registry holds for `scheme` (`tcp-noise`, `quic`, `mem`...).
    #[must_use]
    pub fn registry_transport(self, scheme: &str) -> Self {
        let scheme = scheme.to_owned();
        self.transport_with(move |ctx| {
            let addr = PeerAddress::new(&scheme, "registry")
                .map_err(|e| TransportError::UnsupportedScheme { scheme: e.text, available: String::new() })?;
            build_transport(&addr, ctx)
        })
    }

    /// An address to listen on (any number; none for a node that only dials).
    #[must_use]
    pub fn listen(mut self, addr: PeerAddress) -> Self {
        self.listen.push(addr);
        self
    }

    /// The configuration (default: [`NodeConfig::recommended`]).
    #[must_use]
    pub fn config(mut self, config: NodeConfig) -> Self {
        self.config = config;
        self
    }

    /// The seed of the node's randomness (gossip fanout, backoff jitter), mixed with its id so nodes
    /// sharing a seed still choose differently. Default: derived from the id alone.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The clock (default: [`SystemClock`]); simulations in virtual time pass a
    /// [`VirtualClock`](super::VirtualClock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Signature checks shared with the other nodes of a simulation ([`VerificationCache`]). Only
    /// for nodes whose every transport [`is_simulated`](crate::transport::Transport::is_simulated):
    /// [`build`](Self::build) fails with [`BuildError::VerificationCacheOnNetwork`] otherwise.
    #[must_use]
    pub fn verification_cache(mut self, cache: Arc<VerificationCache>) -> Self {
        self.verification_cache = Some(cache);
        self
    }

    /// The admission handle the node keeps equal to the current validator set.
    pub fn admission(&self) -> Admission {
        self.admission.clone()
    }

    /// Builds the transports, listens, and starts the node's task. Must be called within a Tokio
    /// runtime.
    ///
    /// # Errors
    /// [`BuildError`] naming the missing field, the transport that failed to build, or the address
    /// that could not be listened on.
    pub async fn build(self) -> Result<(Node, IncomingMessages), BuildError> {
        let keypair = self.keypair.ok_or(BuildError::Missing("keypair"))?;
        let chain = self.chain_id.ok_or(BuildError::Missing("chain_id"))?;
        let source = self.validators.ok_or(BuildError::Missing("validators"))?;
        let config = self.config;
        config.link.validate(config.transport.max_frame_len)?;
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let me = keypair.validator_id();
        let set = source.current();
        self.admission.set_validators(set.ids());
        let ctx = TransportContext {
            keypair: keypair.clone(),
            chain_id: chain,
            admission: self.admission.clone(),
            config: config.transport.clone(),
        };
        let mut transports: BTreeMap<String, Arc<dyn Transport>> = BTreeMap::new();
        for factory in self.transports {
            let transport = factory(&ctx).map_err(BuildError::Transport)?;
            let scheme = transport.scheme().to_owned();
            if self.verification_cache.is_some() && !transport.is_simulated() {
                return Err(BuildError::VerificationCacheOnNetwork { scheme });
            }
            if transports.insert(scheme.clone(), transport).is_some() {
                return Err(BuildError::DuplicateScheme(scheme));
            }
        }

        let (accepted_tx, accepted) = mpsc::channel(config.accept_capacity.max(1));
        let mut accept_loops = Vec::new();
        let mut listen_addresses = Vec::new();
        for addr in self.listen {
            let transport = transports.get(addr.scheme()).ok_or_else(|| BuildError::NoTransport {
                addr: addr.clone(),
                scheme: addr.scheme().to_owned(),
                available: transports.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
            let listener =
                transport.listen(&addr).await.map_err(|source| BuildError::Listen { addr: addr.clone(), source })?;
            let local = listener.local_addr();
            let span = tracing::info_span!("accept", node = %me.short(), addr = %local);
            let backoff = config.accept_error_backoff;
            let task = tokio::spawn(accept_loop(listener, accepted_tx.clone(), backoff).instrument(span));
            accept_loops.push(AbortOnDrop(task));
            listen_addresses.push(local);
        }

        let (commands_tx, commands) = mpsc::channel(config.command_capacity.max(1));
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        let (incoming_tx, incoming) = mpsc::channel(config.incoming_capacity.max(1));
        let (link_events_tx, link_events) = mpsc::channel(config.link_event_capacity.max(1));
        // One dial in flight per peer: the channel never holds more than the validator set's size,
        // and a full one only makes a finished dial task wait.
        let (dialed_tx, dialed) = mpsc::channel(config.accept_capacity.max(1));
        let seed = rng_seed(self.seed, &me);
        let signer = Arc::new(Signer {
            keypair,
            chain,
            next_seq: AtomicU64::new(clock.wall_micros()),
            initial_ttl: config.gossip.initial_ttl,
        });
        // Ping nonces need only differ per peer and run: drawn from a copy, so the actor's rng stream
        // (and every choice it makes) is what it was without liveness.
        let first_nonce = StdRng::from_seed(seed).gen();
        let liveness = Liveness::new(me, set.clone(), &config.liveness, clock.now(), first_nonce);
        let gossip = &config.gossip;
        let actor = Actor {
            me,
            signer: signer.clone(),
            liveness,
            reliable: Reliable::new(config.reliable.clone(), &seed),
            chain,
            clock: clock.clone(),
            rng: StdRng::from_seed(seed),
            set: set.clone(),
            source: source.clone(),
            admission: self.admission.clone(),
            book: AddressBook::new(&set),
            transports,
            peers: BTreeMap::new(),
            seen: SeenCache::from_config(gossip),
            byzantine: Byzantine::new(config.detector),
            reputation: ReputationTable::new(config.reputation),
            limiter: InboundLimiter::new(config.rate_limits),
            origin_limiter: InboundLimiter::per_origin(config.rate_limits),
            store: MessageStore::from_config(gossip),
            knowledge: PeerKnowledge::from_config(gossip),
            announced: PeerKnowledge::from_config(gossip),
            digest_ticks: 0,
            policy: GossipPolicy::new(gossip.clone()),
            parts: crate::node::proposal_parts::Assembly::new(config.proposal_parts.clone()),
            totals: Totals::default(),
            verification_cache: self.verification_cache,
            link_plan: super::topology::LinkPlan::new(config.topology.clone()),
            dial_hint: None,
            linked: Default::default(),
            incoming: incoming_tx,
            events: events.clone(),
            link_events: link_events_tx,
            dialed: dialed_tx,
            _accept_loops: accept_loops,
            config: config.clone(),
        };
        let inputs = Inputs { commands, set_changes: source.subscribe(), dialed, accepted, link_events };
        let node = Node::from_shared(Shared {
            signer,
            commands: commands_tx,
            events,
            clock,
            source,
            last_record_version: AtomicU64::new(0),
            part_size: config.proposal_parts.part_size,
            listen_addresses,
        });
        tokio::spawn(actor.run(inputs).instrument(tracing::info_span!("node", id = %me.short())));
        Ok((node, IncomingMessages::new(incoming)))
    }
}

/// 32 bytes of rng seed from the configured seed (or none) and the node's id.
fn rng_seed(seed: Option<u64>, me: &crate::identity::ValidatorId) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"quorumnet/node-rng");
    if let Some(seed) = seed {
        hasher.update(&seed.to_be_bytes());
    }
    hasher.update(me.as_bytes());
    *hasher.finalize().as_bytes()
}

/// Accepts connections until the node stops, handing each to the node's task.
async fn accept_loop(
    mut listener: Box<dyn Listener>,
    accepted: mpsc::Sender<Box<dyn Connection>>,
    backoff: std::time::Duration,
) {
    loop {
        match listener.accept().await {
            Ok(conn) => {
                if accepted.send(conn).await.is_err() {
                    return; // the node stopped
                }
            }
            Err(error) => {
                tracing::debug!(%error, "accept failed");
                tokio::time::sleep(backoff).await;
            }
        }
    }
}
