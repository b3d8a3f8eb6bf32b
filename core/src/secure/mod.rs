//! The Noise secure channel of WIRE.md §2, shared unchanged by every stream transport (TCP,
//! WebSocket, relay circuits).
//!
//! - [`run_handshake`] runs `Noise_XX_25519_AESGCM_SHA256` with prologue `"quorumnet/1" || ChainId`
//!   over any byte stream, each Noise message behind a u16 big-endian length, the whole exchange bounded
//!   by a deadline. Messages 2 and 3 carry an [`IdentityPayload`] that binds the validator key to the
//!   Noise static key; each side verifies it, derives the peer's [`ValidatorId`], checks the live
//!   [`Admission`] handle, and the dialer checks the id it expected. Failures are
//!   [`TransportError::Handshake`] with a [`HandshakeFailure`] naming the cause.
//! - [`NoiseHandshake`] is the same handshake as an I/O-free state machine, public so that transcripts
//!   with fixed keys ([`NoiseKeys`]) and independent implementations can be checked message by message.
//! - [`SecureConnection`] is the resulting [`Connection`]: u32-length-prefixed frames inside the
//!   decrypted stream, a coalescing writer task, a decrypting reader task, both byte-bounded.
//!
//! ## Guarantees
//! A peer that is not admitted, proves another identity than expected, or is on another chain never
//! gets a connection. Nothing a peer sends panics the channel or makes it allocate beyond the frame
//! limit; a stalled handshake costs one task until the deadline.
//!
//! ## Non-guarantees
//! In XX the responder judges the initiator only after message 3, when the initiator has already
//! finished: a dialer refused by the listener sees its connection end, not a handshake error.
//! Dropping a connection without [`Connection::close`] leaves its writer flushing in the background
//! for as long as the stream accepts bytes. When the channel fails (a violation or decrypt failure from
//! the peer, a write error) it drops the stream without `shutdown`, discarding queued frames; a transport
//! whose stream would show that as a clean end must make it an error the peer sees (tcp-noise resets
//! the TCP connection), or the peer could mistake lost frames for a clean close.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::{sync::Arc, time::Duration};
//! use quorumnet_core::identity::{ChainId, Keypair};
//! use quorumnet_core::secure::{run_handshake, ChannelOptions, NoiseHandshake, Role, SecureConnection};
//! use quorumnet_core::transport::{Admission, Connection, TransportConfig, TransportContext};
//!
//! let context = |seed| TransportContext {
//!     keypair: Arc::new(Keypair::from_seed(&[seed; 32])),
//!     chain_id: ChainId::from_network_name("devnet"),
//!     admission: Admission::open(),
//!     config: TransportConfig::test(),
//! };
//! let (alice, bob) = (context(1), context(2));
//! let (mut a, mut b) = tokio::io::duplex(64 * 1024);
//! let timeout = Duration::from_secs(5);
//! let dial = NoiseHandshake::new(Role::Initiator, &alice, Some(bob.keypair.validator_id()));
//! let answer = NoiseHandshake::new(Role::Responder, &bob, None);
//! let (dialed, answered) = tokio::join!(
//!     run_handshake(&mut a, dial, timeout, "bob"),
//!     run_handshake(&mut b, answer, timeout, "alice"),
//! );
//! let options = ChannelOptions::new(alice.config.max_frame_len);
//! let a = SecureConnection::spawn(dialed.unwrap(), a, options.clone());
//! let b = SecureConnection::spawn(answered.unwrap(), b, options);
//! assert_eq!(b.remote(), alice.keypair.validator_id());
//!
//! a.send("vote".into()).await.unwrap();
//! a.close().await.unwrap();
//! assert_eq!(&b.recv().await.unwrap().unwrap()[..], b"vote");
//! assert!(b.recv().await.unwrap().is_none());
//! # });
//! ```
//!
//! [`ValidatorId`]: crate::identity::ValidatorId
//! [`Admission`]: crate::transport::Admission
//! [`TransportError::Handshake`]: crate::transport::TransportError::Handshake
//! [`HandshakeFailure`]: crate::transport::HandshakeFailure
//! [`Connection`]: crate::transport::Connection
//! [`Connection::close`]: crate::transport::Connection::close

mod connection;
mod handshake;
mod identity_payload;
mod reader;
pub mod wire;
mod writer;

pub use connection::{ChannelOptions, SecureConnection};
pub use handshake::{
    prologue, run_handshake, Established, NoiseHandshake, NoiseKeys, Role, PROLOGUE_PREFIX, PROTOCOL_NAME,
};
pub use identity_payload::{
    static_key_signing_bytes, IdentityPayload, IDENTITY_PAYLOAD_VERSION, NOISE_STATIC_KEY_LEN,
    NOISE_STATIC_SIGNING_DOMAIN,
};
/// The Noise implementation, re-exported so transcript and interop tests name the same types
/// ([`Established::transport`] is a `snow::StatelessTransportState`).
pub use snow;
