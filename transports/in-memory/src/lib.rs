//! # quorumnet-memory
//!
//! The `mem://` transport: a simulated network inside one process, for devnets, simulations and
//! tests. It keeps the whole transport contract of `quorumnet_core::transport` — real mutual
//! authentication, admission, frame limits, ordering, backpressure — and adds the faults a real
//! network has, deterministically from a seed.
//!
//! - [`MemoryNetwork`]: the network. Named listeners (`mem://v1`), a [`LinkConfig`] for every link
//!   (a default plus per-pair overrides), partitions cut and healed while running, and a seed.
//! - [`MemoryTransport`]: a [`Transport`](quorumnet_core::transport::Transport) on a network, built from
//!   a [`TransportContext`](quorumnet_core::transport::TransportContext).
//! - [`MemoryConnection`] / [`MemoryListener`]: what it dials and accepts.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use quorumnet_core::identity::{ChainId, Keypair};
//! use quorumnet_core::transport::{Admission, Transport, TransportConfig, TransportContext};
//! use quorumnet_memory::{LinkConfig, MemoryNetwork, MemoryTransport};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! let keys: Vec<_> = (1..=2u8).map(|i| Arc::new(Keypair::from_seed(&[i; 32]))).collect();
//! let admission = Admission::for_validators(keys.iter().map(|k| k.validator_id()));
//! let network = MemoryNetwork::new(2025);
//! network.set_default_link(LinkConfig { latency: Duration::from_millis(30), ..LinkConfig::perfect() });
//! let transport = |key: &Arc<Keypair>| {
//!     let ctx = TransportContext {
//!         keypair: key.clone(),
//!         chain_id: ChainId::from_network_name("devnet"),
//!         admission: admission.clone(),
//!         config: TransportConfig::test(),
//!     };
//!     MemoryTransport::new(network.clone(), ctx)
//! };
//! let mut listener = transport(&keys[1]).listen(&"mem://v2".parse().unwrap()).await.unwrap();
//! let dialer = transport(&keys[0]);
//! let addr = "mem://v2".parse().unwrap();
//! let (dialed, accepted) = tokio::join!(dialer.dial(&addr, None), listener.accept());
//! let (dialed, accepted) = (dialed.unwrap(), accepted.unwrap());
//!
//! let sent = tokio::time::Instant::now();
//! dialed.send(bytes::Bytes::from_static(b"prevote")).await.unwrap();
//! assert_eq!(&accepted.recv().await.unwrap().unwrap()[..], b"prevote");
//! assert_eq!(sent.elapsed(), Duration::from_millis(30)); // virtual time
//!
//! network.cut("v2", keys[0].validator_id());
//! assert!(dialed.recv().await.is_err()); // reset by the partition
//! # });
//! ```
//!
//! ## The link model
//! Each connection is a pair of directions. A frame sent on one waits for the frames before it, takes
//! `len / bandwidth` to transmit, and arrives `latency + U(0..=jitter)` later, plus a retransmission
//! delay for the fraction `loss` of frames. Delivery times never decrease within a direction, so jitter
//! and loss delay later frames (head-of-line blocking) and never reorder them. Loss is what TCP shows
//! an application: delay, never a missing frame. Resets — per frame with probability
//! `reset_per_frame`, or over time with mean `mean_time_between_resets` — discard everything queued
//! and fail both ends with `ConnectionLost`. Configuration changes apply to live links at their next
//! frame.
//!
//! ## Partitions
//! [`MemoryNetwork::partition`] / [`MemoryNetwork::cut`] show an application what it sees of a partition
//! once TCP gives up: live connections across the cut are reset, and new dials across it fail at once
//! with `Unreachable`, until [`MemoryNetwork::heal`]. A [`Node`] is a listener name (standing for its
//! validator's dials too) or a validator id.
//!
//! ## Handshake
//! Each side sends a 32-byte random nonce, then `{"v":1,"pk":bstr,"sig":bstr}` (CBOR) signing
//! `"quorumnet/1/mem-auth" || chain id || role (0 dialer, 1 listener) || dialer nonce || listener nonce`,
//! then — having verified the peer's signature, derived its id, checked admission (and, dialing, the
//! expected id) — the confirmation `ok`. A side that refuses closes the link, so the dialer sees
//! `Handshake { failure: ClosedByPeer }` or the specific failure it found itself. The listener runs up
//! to `max_concurrent_handshakes` handshakes at once, each bounded by `handshake_timeout`, and only
//! logs failures; further dials wait in a backlog of [`LISTEN_BACKLOG`] and are refused beyond it.
//! Opening a link is instantaneous; only the handshake's own frames take time on the link.
//!
//! ## Guarantees
//! - Frames of 1 to `max_frame_len` bytes arrive in order, whole, exactly once, or the connection
//!   fails (reset, partition, protocol violation).
//! - Backpressure: `send` is pending while K = [`UNSENT_BOUND`] (64 KiB) bytes are accepted but not
//!   yet transmitted; transmission pauses while [`RECEIVE_WINDOW`] (1 MiB) bytes are in flight or
//!   unread. A peer that never reads therefore stops the sender after at most
//!   `K + RECEIVE_WINDOW + 2 × max_frame_len` bytes (about 9 MiB with the default 4 MiB frames),
//!   below the contract's 16 MiB for any `max_frame_len` up to 7 MiB. A single frame larger than K is accepted onto a queue holding fewer than K
//!   bytes, so at the moment it is accepted up to `K − 1 + max_frame_len` bytes may be unsent.
//! - Nothing a peer sends panics or grows memory beyond these bounds; an oversize or empty frame
//!   from a peer is a `ProtocolViolation` and resets the connection.
//!
//! ## Determinism
//! With the same seed, on a current-thread runtime, the same program produces the same events at the
//! same virtual times: every wait goes through `tokio::time` (use `tokio::time::pause`), every random
//! link decision comes from a generator derived from the seed and the link's number (`StdRng`, i.e.
//! ChaCha12, seeded with BLAKE3 of both; stable for a given `rand` version), and every map whose order
//! is observable is ordered. Handshake nonces are fresh OS randomness — a nonce must be unpredictable —
//! but their size is fixed, so they never change timing. ML-DSA signatures are randomized too: traces
//! should record frames and times, not signature bytes. Tokio's timer has millisecond resolution,
//! so delays round up to the next millisecond.
//!
//! ## Non-guarantees
//! - No encryption: frames are passed as `Bytes` inside one process; there is nothing to eavesdrop on.
//! - The registry's `mem` plugin uses [`MemoryNetwork::global`], shared by the whole process; build
//!   transports with [`MemoryTransport::new`] and your own network for reproducible simulations.
//! - `remote_addr()` is known on the dialing side only (the dialer has no address of its own).

mod connection;
mod handshake;
mod link;
mod link_config;
mod network;
mod nic;
#[doc(hidden)]
pub mod testing;
mod transport;

pub use connection::MemoryConnection;
pub use handshake::{MAX_HANDSHAKE_MESSAGE, NONCE_LEN};
pub use link::{RECEIVE_WINDOW, UNSENT_BOUND};
pub use link_config::LinkConfig;
pub use network::{MemoryNetwork, Node, LISTEN_BACKLOG};
pub use transport::{MemoryListener, MemoryTransport, SCHEME};

inventory::submit! {
    quorumnet_core::transport::TransportPlugin {
        scheme: SCHEME,
        description: "in-memory simulated network (process-wide; simulations should build MemoryTransport with their own MemoryNetwork)",
        build: |ctx| Ok(std::sync::Arc::new(MemoryTransport::new(MemoryNetwork::global(), ctx.clone()))),
    }
}
