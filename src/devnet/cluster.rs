//! Building a network of validators in one process: seeded keys, validator sets, and node builders
//! on the simulator (`mem://`, virtual time) or on socket transports on loopback (one, or a mix).
//! The devnet and the node tests build their validators with these, so there is one way to do it.

use std::sync::Arc;

use crate::identity::{ChainId, Keypair, ValidatorId};
use crate::memory::{MemoryNetwork, MemoryTransport};
use crate::node::{NodeBuilder, NodeConfig, VirtualClock};
use crate::relay::{RelayAddress, RelayClientConfig, RelayConfig, RelayServer, RelayTransport};
use crate::tcp_noise::TcpNoiseTransport;
use crate::transport::{Admission, PeerAddress, Transport as _, TransportConfig, TransportContext, TransportError};

use super::{mixed, TransportKind};
use crate::validator::{ValidatorInfo, ValidatorSet, ValidatorSetSource};

/// The virtual wall clock simulated validators start from (2026-11-26, in µs), so sequence numbers,
/// and therefore message ids, are the same in every run of a seed.
pub const WALL_BASE_MICROS: u64 = 1_795_651_200_000_000;

/// The virtual wall clock, in µs, of a validator (re)started now in a simulation that started at
/// `started`: [`WALL_BASE_MICROS`] plus the time since, as a restarted machine's clock would read,
/// so a restart never reuses its envelope sequence numbers.
pub fn wall_micros_since(started: tokio::time::Instant) -> u64 {
    WALL_BASE_MICROS.saturating_add(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX))
}

/// `n` validators' keys from fixed seeds, sorted by validator id (so index order is id order).
///
/// ```
/// let keys = quorumnet::devnet::cluster::keys(3);
/// assert!(keys[0].validator_id() < keys[1].validator_id());
/// assert_eq!(keys[2].validator_id(), quorumnet::devnet::cluster::keys(3)[2].validator_id());
/// ```
pub fn keys(n: usize) -> Vec<Arc<Keypair>> {
    let mut keys: Vec<Arc<Keypair>> = (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            Arc::new(Keypair::from_seed(&seed))
        })
        .collect();
    keys.sort_by_key(|key| key.validator_id());
    keys
}

/// `n` relays' keys from fixed seeds of their own (never a validator's: the seeds' first byte is
/// set), in index order.
///
/// ```
/// let relays = quorumnet::devnet::cluster::relay_keys(2);
/// let validators = quorumnet::devnet::cluster::keys(8);
/// assert!(relays.iter().all(|r| validators.iter().all(|v| v.validator_id() != r.validator_id())));
/// ```
pub fn relay_keys(n: usize) -> Vec<Arc<Keypair>> {
    (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[0] = 0xee;
            seed[24..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            Arc::new(Keypair::from_seed(&seed))
        })
        .collect()
}

/// Where simulated relay `index` listens: `mem://relay-{index}`.
pub fn relay_memory_address(index: usize) -> PeerAddress {
    format!("mem://relay-{index}").parse().expect("a mem:// address parses")
}

/// The address validator `id` has behind the relay at `relay`: `relay://<relay>/<id>`.
///
/// ```
/// use quorumnet::devnet::cluster::{keys, relay_memory_address, relayed_address};
///
/// let id = keys(1)[0].validator_id();
/// let addr = relayed_address(&relay_memory_address(0), id);
/// assert_eq!(addr.as_str(), format!("relay://mem://relay-0/{id}"));
/// ```
pub fn relayed_address(relay: &PeerAddress, id: ValidatorId) -> PeerAddress {
    RelayAddress { relay: relay.clone(), target: None }.to_address(id)
}

/// Starts a relay with `key` on the simulated `network` at `listen`, serving the validators `admitted`.
///
/// # Errors
/// The memory transport's listen error (e.g. the address is taken).
pub async fn start_memory_relay(
    network: &MemoryNetwork,
    key: Arc<Keypair>,
    chain: ChainId,
    admitted: impl IntoIterator<Item = ValidatorId>,
    listen: &PeerAddress,
    transport: TransportConfig,
    relay: RelayConfig,
) -> Result<RelayServer, TransportError> {
    let ctx = TransportContext {
        keypair: key,
        chain_id: chain,
        admission: Admission::for_validators(admitted),
        config: transport,
    };
    let listener = MemoryTransport::new(network.clone(), ctx).listen(listen).await?;
    Ok(RelayServer::spawn(listener, relay))
}

/// Gives `builder`'s node the `relay` transport, reaching relays on the simulated `network`, and
/// admits the `relays`' identities (a configured relay is admitted like a validator).
pub fn with_relays(builder: NodeBuilder, relays: &[ValidatorId], network: &MemoryNetwork) -> NodeBuilder {
    let admission = builder.admission();
    for relay in relays {
        admission.allow(*relay);
    }
    let network = network.clone();
    // The test preset: a lost relay link is re-dialed within 100 ms, as quickly as the simulated
    // nodes (on `NodeConfig::test`) redial their peers.
    builder.transport_with(move |ctx| {
        let inner = Arc::new(MemoryTransport::new(network, ctx.clone()));
        Ok(Arc::new(RelayTransport::over(ctx.clone(), inner).with_config(RelayClientConfig::test())))
    })
}

/// Puts `builder`'s node behind NAT on the simulated `network`: no listening socket and no transport
/// but `relay` (only circuits reach it), listening at each of `relayed` (its `relay://` addresses), with
/// a virtual wall clock reading `wall_base_micros` now.
pub fn behind_relays(
    builder: NodeBuilder,
    relays: &[ValidatorId],
    network: &MemoryNetwork,
    relayed: &[PeerAddress],
    wall_base_micros: u64,
) -> NodeBuilder {
    relayed
        .iter()
        .cloned()
        .fold(with_relays(builder, relays, network), NodeBuilder::listen)
        .clock(VirtualClock::shared(wall_base_micros))
}

/// Where simulated validator `index` listens: `mem://v{index}`.
pub fn memory_address(index: usize) -> PeerAddress {
    format!("mem://v{index}").parse().expect("a mem:// address parses")
}

/// Where a tcp-noise validator listens in one process: loopback, a port the system picks.
pub fn loopback_address() -> PeerAddress {
    "tcp-noise://127.0.0.1:0".parse().expect("a tcp-noise:// address parses")
}

/// A set of `keys` (voting power 1 each), listing validator `i` at `addresses(i)`.
pub fn set_of(keys: &[(usize, &Arc<Keypair>)], addresses: impl Fn(usize) -> PeerAddress) -> ValidatorSet {
    set_listing(keys, |i| vec![addresses(i)])
}

/// A set of `keys` (voting power 1 each), listing validator `i` at `addresses(i)` (maybe none, for a
/// validator that is dialed rather than dialing).
///
/// ```
/// use quorumnet::devnet::cluster::{keys, memory_address, set_listing};
///
/// let keys = keys(4);
/// let indexed: Vec<_> = keys.iter().enumerate().collect();
/// let set = set_listing(&indexed, |i| vec![memory_address(i)]);
/// assert_eq!(set.total_power(), 4);
/// ```
pub fn set_listing(keys: &[(usize, &Arc<Keypair>)], addresses: impl Fn(usize) -> Vec<PeerAddress>) -> ValidatorSet {
    ValidatorSet::new(
        keys.iter().map(|(i, key)| ValidatorInfo::new(key.public_key().clone(), 1).with_addresses(addresses(*i))),
    )
    .expect("distinct keys of power 1 make a valid set")
}

/// A node builder for `key` on `chain`, with its validator-set source, config and randomness seed;
/// add a transport with [`on_memory`] or [`on_tcp_noise`].
pub fn builder(
    key: Arc<Keypair>,
    chain: ChainId,
    source: Arc<dyn ValidatorSetSource>,
    config: NodeConfig,
    seed: u64,
) -> NodeBuilder {
    crate::node::Node::builder().keypair(key).chain_id(chain).validators(source).config(config).seed(seed)
}

/// Puts `builder`'s node on the simulated `network` at [`memory_address`]`(index)`, with a virtual
/// wall clock reading `wall_base_micros` now (a restarted validator passes a later base, so its
/// sequence numbers continue upwards).
pub fn on_memory(builder: NodeBuilder, network: &MemoryNetwork, index: usize, wall_base_micros: u64) -> NodeBuilder {
    let network = network.clone();
    builder
        .transport_with(move |ctx| Ok(Arc::new(MemoryTransport::new(network, ctx.clone()))))
        .listen(memory_address(index))
        .clock(VirtualClock::shared(wall_base_micros))
}

/// Puts `builder`'s node on tcp-noise, listening at `listen` (usually [`loopback_address`]).
pub fn on_tcp_noise(builder: NodeBuilder, listen: PeerAddress) -> NodeBuilder {
    on_loopback(TransportKind::TcpNoise, builder, listen)
}

/// Puts `builder`'s node on QUIC, listening at `listen` (usually [`loopback_address_of`]`(Quic)`).
#[cfg(feature = "quic")]
pub fn on_quic(builder: NodeBuilder, listen: PeerAddress) -> NodeBuilder {
    on_loopback(TransportKind::Quic, builder, listen)
}

/// Puts `builder`'s node on WebSocket (`ws://`), listening at `listen` (usually
/// [`loopback_address_of`]`(Websocket)`).
#[cfg(feature = "websocket")]
pub fn on_websocket(builder: NodeBuilder, listen: PeerAddress) -> NodeBuilder {
    on_loopback(TransportKind::Websocket, builder, listen)
}

/// Where a validator on the socket transport `kind` listens in one process: loopback, a port the
/// system picks. `None` for the simulator, whose addresses are names ([`memory_address`]), and for
/// [`TransportKind::Mixed`], where each validator listens on its own transport
/// ([`mixed::listening_transport`]).
pub fn loopback_address_of(kind: TransportKind) -> Option<PeerAddress> {
    match kind {
        TransportKind::Memory | TransportKind::Mixed => None,
        TransportKind::TcpNoise => Some(loopback_address()),
        #[cfg(feature = "quic")]
        TransportKind::Quic => Some("quic://127.0.0.1:0".parse().expect("a quic:// address parses")),
        #[cfg(feature = "websocket")]
        TransportKind::Websocket => Some("ws://127.0.0.1:0".parse().expect("a ws:// address parses")),
    }
}

/// Puts `builder`'s node on the socket transport `kind`, listening at `listen`; the simulator needs
/// [`on_memory`] instead and gets the builder back unchanged. On [`TransportKind::Mixed`] the node
/// gets every transport linked in ([`mixed::LINKED`]) to dial peers listening on any of them, and
/// listens on the one of `listen`'s scheme only.
///
/// ```
/// use quorumnet::devnet::cluster::{builder, keys, loopback_address_of, on_loopback, set_listing};
/// use quorumnet::devnet::mixed::listening_transport;
/// use quorumnet::devnet::TransportKind;
/// use quorumnet::identity::ChainId;
/// use quorumnet::node::NodeConfig;
/// use quorumnet::validator::ListValidatorSetSource;
/// use quorumnet::message::Height;
/// use std::sync::Arc;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let keys = keys(1);
/// let set = set_listing(&[(0, &keys[0])], |_| Vec::new());
/// let source = Arc::new(ListValidatorSetSource::new(set, Height(0), 4));
/// let node = builder(keys[0].clone(), ChainId::from_network_name("doc"), source, NodeConfig::local(), 1);
/// let listen = loopback_address_of(listening_transport(TransportKind::Mixed, 0)).unwrap();
/// let (node, _incoming) = on_loopback(TransportKind::Mixed, node, listen).build().await.unwrap();
/// assert_eq!(node.listen_addresses()[0].scheme(), "tcp-noise");
/// node.shutdown().await;
/// # });
/// ```
pub fn on_loopback(kind: TransportKind, builder: NodeBuilder, listen: PeerAddress) -> NodeBuilder {
    match kind {
        TransportKind::Memory => builder,
        _ => with_socket_transport(builder, kind).listen(listen),
    }
}

/// Registers the socket transport `kind` on `builder` (every linked one for
/// [`TransportKind::Mixed`]): what [`on_loopback`] shares between one transport and a mix.
fn with_socket_transport(builder: NodeBuilder, kind: TransportKind) -> NodeBuilder {
    match kind {
        TransportKind::Memory => builder,
        TransportKind::Mixed => mixed::LINKED.iter().copied().fold(builder, with_socket_transport),
        TransportKind::TcpNoise => builder.transport_with(|ctx| Ok(Arc::new(TcpNoiseTransport::new(ctx.clone())))),
        #[cfg(feature = "quic")]
        TransportKind::Quic => builder.transport_with(|ctx| {
            let transport = crate::quic::QuicTransport::new(ctx.clone()).map_err(|e| {
                crate::transport::TransportError::Io { addr: "quic://".into(), source: std::io::Error::other(e) }
            })?;
            Ok(Arc::new(transport))
        }),
        #[cfg(feature = "websocket")]
        TransportKind::Websocket => {
            builder.transport_with(|ctx| Ok(Arc::new(crate::websocket::WebSocketTransport::new(ctx.clone()))))
        }
    }
}
