//! Relay circuits (WIRE.md §7, DESIGN.md §5): how validators behind NAT are reached.
//!
//! A NAT-bound validator keeps an outbound, authenticated connection to a relay and holds a
//! reservation there; another validator asks the relay for a circuit to that validator's id, and the
//! relay forwards the circuit's bytes both ways. The two ends run the Noise channel of WIRE.md §2
//! end to end inside the circuit, so:
//! - the relay sees only ciphertext, and a byte it alters fails the channel's authentication (the
//!   connection ends; no altered frame is delivered);
//! - the [`Connection`](crate::transport::Connection) a relayed dial yields proves the destination's
//!   identity exactly as a direct one does, and reliable delivery's acknowledgements come from the
//!   destination itself, never from the relay.
//!
//! Each direction of each circuit has its own credit window ([`credit`]), so one circuit whose reader
//! stopped holds at most one window and never stalls the other circuits sharing a link.
//!
//! # Pieces
//! - [`wire`]: the control frames ([`wire::RelayFrame`]) and the protocol constants.
//! - [`credit`]: the pure per-circuit flow-control state machine.
//! - [`RelayServer`]: the relay, over any transport's [`Listener`](crate::transport::Listener), with
//!   reservation lifetimes, per-circuit byte and time limits and caps ([`RelayConfig`]).
//! - [`RelayTransport`]: the `relay` transport plugin; to the node runtime a relayed validator is
//!   just another address (`relay://<relay address>/<validator id>`).
//! - [`CircuitStream`]: one circuit as a byte stream, multiplexed on the link to the relay.
//!
//! # Non-guarantees
//! A relay can always refuse service — drop a link, reset circuits, delay bytes. It cannot read,
//! forge or alter traffic undetected; a validator defends against a relay that stops serving by
//! advertising more than one relay (the node dials a peer's addresses in turn).

mod circuit;
mod client;
mod config;
pub mod credit;
mod server;
mod transport;
pub mod wire;

pub use circuit::CircuitStream;
pub use config::{RelayClientConfig, RelayConfig};
pub use server::{RelayServer, RelayStats};
pub use transport::{PayloadForger, RelayAddress, RelayTransport, SCHEME};
