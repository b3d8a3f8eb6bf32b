//! # quorumnet
//!
//! The network layer between a BFT consensus engine and the validators it talks to: post-quantum
//! identities, signed envelopes, a length-prefixed CBOR wire format, pluggable transports, and the
//! node runtime ([`node`]): broadcast, gossip, reliable delivery, heartbeats and liveness (byzantine
//! detection and relays arrive in later releases). [`runtime`] builds the tokio runtime a validator
//! process should run on.
//!
//! This facade re-exports [`quorumnet_core`]; transports are enabled by Cargo features of the same name.
//! With both transports (the default features) it also holds [`devnet`]: a reference Tendermint-style
//! engine wired to quorumnet through its public traits, and `quorumnet devnet`, which runs N
//! validators in one process; and [`operator`]: `quorumnet keygen`, `transports` and `node`, which runs
//! one validator as its own process.
//!
//! ```
//! use quorumnet::identity::{ChainId, Keypair};
//!
//! let key = Keypair::from_seed(&[7; 32]);
//! let chain = ChainId::from_network_name("devnet");
//! let sig = key.sign(b"hello");
//! assert!(key.public_key().verify(b"hello", &sig).is_ok());
//! # let _ = chain;
//! ```

pub use quorumnet_core::*;

/// The in-memory transport and simulated network (`mem://`), from `quorumnet-memory`.
#[cfg(feature = "memory")]
pub use quorumnet_memory as memory;

/// TCP + the Noise secure channel (`tcp-noise://`), from `quorumnet-tcp-noise`.
#[cfg(feature = "tcp-noise")]
pub use quorumnet_tcp_noise as tcp_noise;

/// QUIC with the validator identity bound to the TLS session (`quic://`), from `quorumnet-quic`.
#[cfg(feature = "quic")]
pub use quorumnet_quic as quic;

/// WebSocket + the Noise secure channel (`ws://`, `wss://`), from `quorumnet-websocket`.
#[cfg(feature = "websocket")]
pub use quorumnet_websocket as websocket;

pub mod logging;
pub mod runtime;

// The reference BFT engine and `quorumnet devnet` (documented in the module itself).
#[cfg(all(feature = "memory", feature = "tcp-noise"))]
pub mod devnet;

// `quorumnet keygen`, `transports` and `node`: they run the devnet's engine, so need what it needs.
#[cfg(all(feature = "memory", feature = "tcp-noise"))]
pub mod operator;

// The `quorumnet` command line, over the devnet and the operator commands.
#[cfg(all(feature = "memory", feature = "tcp-noise"))]
pub mod cli;
