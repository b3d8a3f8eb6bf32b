//! # quorumnet-core
//!
//! Everything in quorumnet that is not a particular transport:
//!
//! - [`identity`]: post-quantum validator keys (ML-DSA-65 by default, Dilithium3 for chains that already
//!   use it), [`identity::ValidatorId`], [`identity::ChainId`], the key file format.
//! - [`message`]: the consensus message model, signed [`message::Envelope`]s and wire [`message::Frame`]s.
//! - [`codec`]: CBOR encoding with strict decoding (byte strings where the wire says so, no trailing
//!   bytes) and u32 length-prefixed framing whose limit is checked before any allocation.
//! - [`validator`]: validator sets with voting power, versioned by the height they take effect at.
//! - [`node`]: the node runtime; so far the pure pieces of gossip ([`node::gossip`]).
//! - [`relay`]: relay circuits for validators behind NAT (the relay, and the `relay` transport).
//!
//! The wire protocol is specified in the repository's `docs/wire.md`, with test vectors.
//!
//! ## Guarantees
//! Bytes from the network never panic a decoder and never make it allocate more than the configured
//! frame limit; every failure is a typed error that names what was wrong.

pub mod codec;
pub mod identity;
pub mod message;
pub mod node;
pub mod relay;
pub mod secure;
pub mod transport;
pub mod validator;
