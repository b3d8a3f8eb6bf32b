//! What a devnet runs: how many validators, on which transport, over which simulated links.

use crate::memory::LinkConfig;
use crate::node::liveness::LivenessConfig;
use crate::node::topology::Topology;
use crate::node::NodeConfig;
use crate::transport::TransportConfig;

use super::byzantine::ByzantineKind;
use super::churn::ChurnPlan;
use super::engine::EngineConfig;
use super::partition::PartitionPlan;

/// The transport the validators talk over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    /// The in-memory simulator: seeded link latency, jitter, loss and resets, in virtual time when the
    /// runtime's clock is paused (a run is then deterministic for a seed).
    Memory,
    /// TCP + Noise on loopback, in real time.
    TcpNoise,
    /// QUIC on loopback, in real time (the `quic` feature).
    #[cfg(feature = "quic")]
    Quic,
    /// WebSocket (`ws://`) + Noise on loopback, in real time (the `websocket` feature).
    #[cfg(feature = "websocket")]
    Websocket,
    /// The validators spread round-robin over the real transports linked in (tcp-noise, and quic and
    /// websocket with their features), each listening on its own and dialing all, in real time
    /// ([`super::mixed`]; refused in a build linking tcp-noise only).
    Mixed,
}

impl TransportKind {
    /// Its name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Memory => "memory",
            TransportKind::TcpNoise => "tcp-noise",
            #[cfg(feature = "quic")]
            TransportKind::Quic => "quic",
            #[cfg(feature = "websocket")]
            TransportKind::Websocket => "websocket",
            TransportKind::Mixed => "mixed",
        }
    }
}

/// A devnet's options. Start from [`DevnetConfig::memory`] or [`DevnetConfig::tcp_noise`] and change
/// fields with struct update syntax.
///
/// ```
/// use std::time::Duration;
/// use quorumnet::devnet::DevnetConfig;
/// use quorumnet::memory::LinkConfig;
///
/// let config = DevnetConfig {
///     link: LinkConfig { latency: Duration::from_millis(50), ..LinkConfig::perfect() },
///     ..DevnetConfig::memory(7, 42)
/// };
/// assert_eq!(config.validators, 7);
/// ```
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// How many validators (voting power 1 each).
    pub validators: usize,
    /// Their transport.
    pub transport: TransportKind,
    /// Every simulated link's behaviour (memory only).
    pub link: LinkConfig,
    /// Each validator's upload and download capacity in bytes per second, shared by all its links
    /// (memory only; `None`: unlimited). See `MemoryNetwork::set_validator_bandwidth`.
    pub bandwidth: Option<u64>,
    /// Seeds the simulator and the nodes' randomness.
    pub seed: u64,
    /// Each validator's node.
    pub node: NodeConfig,
    /// Each validator's engine.
    pub engine: EngineConfig,
    /// Whether the simulated nodes share one [`VerificationCache`](crate::node::VerificationCache):
    /// each envelope's signature verified once per process instead of once per node (memory only;
    /// the report says when it is on). On by default on the simulator, where it removes the largest
    /// single cost of a big devnet; real transports always verify per node.
    pub verification_cache: bool,
    /// How many validators are NAT-bound (memory only): the last `nat` have no listening socket and
    /// listen only through the relays, and the validator set lists them at their `relay://` addresses,
    /// one per relay in relay order (peers dial the first, and the next after a failure). 0: none, and
    /// no relay runs.
    pub nat: usize,
    /// How many relays run when [`nat`](Self::nat) is above 0, each on the simulator with its own
    /// identity, admitted by every validator. Two let a NAT-bound validator survive one relay's loss
    /// ([`Devnet::kill_relay`](super::Devnet::kill_relay)).
    pub relays: usize,
    /// Byzantine validators, one kind each (memory only; below a third of the validators): they
    /// replace the last validators before the NAT-bound ones, so validator
    /// `validators - nat - byzantine.len() + i` runs `byzantine[i]` from the start (its honest engine
    /// never runs). The NAT-bound validators stay honest: a byzantine actor dials `mem://` addresses
    /// and listens nowhere, so it could neither hold a relay reservation nor be reached in one's place.
    pub byzantine: Vec<ByzantineKind>,
    /// Validators leaving and joining at heights (memory only; without byzantine or NAT-bound
    /// validators or a partition): see [`super::churn`]. Empty: the genesis set decides every height.
    pub churn: ChurnPlan,
    /// A partition of the simulated network scheduled by height, and when it heals (memory only; no
    /// NAT-bound validators): see [`super::partition`]. Byzantine validators stay linked to both sides.
    pub partition: Option<PartitionPlan>,
}

/// Validators up to which a devnet links everyone to everyone by default.
pub const FULL_MESH_UP_TO: usize = 128;

/// The links per validator of a bounded devnet topology by default.
pub const DEFAULT_DEGREE: usize = 8;

/// The topology of `validators` validators with `degree` links each: a full mesh when `degree` is 0
/// or reaches every other validator.
///
/// ```
/// use quorumnet::devnet::config::topology_for;
/// use quorumnet::node::topology::Topology;
///
/// assert_eq!(topology_for(10, 0), Topology::FullMesh);
/// assert_eq!(topology_for(10, 9), Topology::FullMesh);
/// assert_eq!(topology_for(1000, 8), Topology::bounded(8));
/// ```
pub fn topology_for(validators: usize, degree: usize) -> Topology {
    if degree == 0 || degree + 1 >= validators {
        Topology::FullMesh
    } else {
        Topology::bounded(degree)
    }
}

/// The default topology of a devnet of `validators`: a full mesh up to [`FULL_MESH_UP_TO`], where
/// one hop per message is affordable and fastest, [`DEFAULT_DEGREE`] links per validator above.
pub fn default_topology(validators: usize) -> Topology {
    if validators <= FULL_MESH_UP_TO {
        Topology::FullMesh
    } else {
        topology_for(validators, DEFAULT_DEGREE)
    }
}

impl DevnetConfig {
    /// `validators` on the simulator with 50 ms ± 10 ms links, nodes on [`NodeConfig::test`] (short
    /// reconnect and repair timers for virtual time) but with [`LivenessConfig::local`]'s heartbeats:
    /// the test preset's 100 ms heartbeats would make every validator verify ten signatures per peer
    /// per second, drowning a 100-validator devnet's consensus traffic — and with
    /// [`TransportConfig::recommended`]'s handshake timeout: the simulated links may be a WAN's (the
    /// test preset's 1 s is less than the four one-way trips of a handshake over 300 ms links, which
    /// then never connect), and a handshake on the simulator only stalls when a link does. Engines on
    /// [`EngineConfig::local`].
    pub fn memory(validators: usize, seed: u64) -> Self {
        DevnetConfig {
            validators,
            transport: TransportKind::Memory,
            link: LinkConfig {
                latency: std::time::Duration::from_millis(50),
                jitter: std::time::Duration::from_millis(10),
                ..LinkConfig::perfect()
            },
            bandwidth: None,
            seed,
            node: NodeConfig {
                liveness: LivenessConfig::local(),
                transport: TransportConfig {
                    handshake_timeout: TransportConfig::recommended().handshake_timeout,
                    ..TransportConfig::test()
                },
                topology: default_topology(validators),
                ..NodeConfig::test()
            }
            .sized_for(validators),
            engine: EngineConfig::local(),
            verification_cache: true,
            nat: 0,
            relays: 1,
            byzantine: Vec::new(),
            churn: ChurnPlan::default(),
            partition: None,
        }
    }

    /// `validators` over tcp-noise on loopback, nodes on [`NodeConfig::local`].
    pub fn tcp_noise(validators: usize, seed: u64) -> Self {
        Self::on_loopback(TransportKind::TcpNoise, validators, seed)
    }

    /// `validators` over QUIC on loopback, nodes on [`NodeConfig::local`].
    #[cfg(feature = "quic")]
    pub fn quic(validators: usize, seed: u64) -> Self {
        Self::on_loopback(TransportKind::Quic, validators, seed)
    }

    /// `validators` over WebSocket (`ws://`) on loopback, nodes on [`NodeConfig::local`].
    #[cfg(feature = "websocket")]
    pub fn websocket(validators: usize, seed: u64) -> Self {
        Self::on_loopback(TransportKind::Websocket, validators, seed)
    }

    /// `validators` spread over every real transport linked in ([`TransportKind::Mixed`]) on
    /// loopback, nodes on [`NodeConfig::local`]. [`Devnet::start`](super::Devnet::start) refuses it
    /// in a build linking tcp-noise only.
    ///
    /// ```
    /// use quorumnet::devnet::{DevnetConfig, TransportKind};
    ///
    /// assert_eq!(DevnetConfig::mixed(4, 1).transport, TransportKind::Mixed);
    /// ```
    pub fn mixed(validators: usize, seed: u64) -> Self {
        Self::on_loopback(TransportKind::Mixed, validators, seed)
    }

    fn on_loopback(transport: TransportKind, validators: usize, seed: u64) -> Self {
        DevnetConfig {
            transport,
            node: NodeConfig::local(),
            verification_cache: false,
            ..Self::memory(validators, seed)
        }
    }
}
