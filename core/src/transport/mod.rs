//! The transport plugin API: the contract every transport — ours and third parties' — implements
//! (DESIGN.md §3), and the registry that builds one from an address at run time.
//!
//! - [`Transport`] listens and dials; [`Listener`] accepts; [`Connection`] carries authenticated,
//!   ordered, whole, exactly-once frames with bounded unsent bytes.
//! - [`AcceptQueue`] is the accept side every listener shares: bounded concurrent handshakes over an
//!   [`Inbound`] source.
//! - [`outbox::Outbox`] is the byte-bounded send queue a single-stream connection's writer drains.
//! - [`Admission`] is the live handle saying which proven identities may connect.
//! - [`tcp`] holds the TCP plumbing the stream transports over TCP share.
//! - [`TransportPlugin`]s register through `inventory`; [`build_transport`] picks one by scheme.
//!
//! Encryption is a property of every connection, not a per-message call: the seed's
//! `ConsensusMessageEncryption` is therefore not an API here. `quorumnet-conformance` checks that a
//! transport keeps this contract.

mod accept_queue;
mod address;
mod admission;
mod config;
mod contract;
mod error;
pub mod outbox;
mod registry;
pub mod tcp;

pub use accept_queue::{AcceptQueue, Handshake, Inbound};
pub use address::{AddressError, PeerAddress};
pub use admission::{Admission, Refusal};
pub use config::{TransportConfig, MAX_UNSENT_BOUND, NEVER_READING_PEER_CEILING};
pub use contract::{check_outgoing_frame, Connection, Listener, Transport};
pub use error::{HandshakeFailure, TransportError};
pub use registry::{build_transport, find_plugin, plugins, TransportContext, TransportPlugin};
