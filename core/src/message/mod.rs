//! The consensus message model, signed envelopes and wire frames (WIRE.md §4, §5).
//!
//! Three layers, each wrapping the one before:
//!
//! 1. A [`ConsensusMessage`] is what the consensus engine speaks: a [`Proposal`], a pre-vote or
//!    pre-commit [`Vote`], a [`Commit`] or a [`Heartbeat`], each naming its author, height and round;
//!    or an [`AddressRecord`], a validator's signed list of addresses for discovery.
//! 2. An [`Envelope`] carries a message's CBOR encoding as opaque `payload` bytes, signed by the
//!    validator that wrote it (its `origin`) together with the chain id and a per-origin sequence
//!    number. The signature covers exactly the bytes that travel, so a message is authentic whichever
//!    peer or relay forwarded it; the [`MessageId`] (origin, seq, payload) names it for deduplication and
//!    receipts; `ttl`, the hops left, is the only part relays may change.
//! 3. A [`Frame`] is one item on a connection: an envelope (optionally asking for an `Ack`), a receipt,
//!    a liveness ping or pong, one `Part` of a frame too large to send whole, or a gossip digest: the
//!    ids a peer holds (`Have`) or asks for (`Want`). Each frame travels as a
//!    u32 length prefix and its CBOR ([`crate::codec::framing`]).
//!
//! Decoding never verifies: an [`Envelope`] is untrusted until [`Envelope::verify`] accepted it under
//! the key of its origin (looked up in the validator set in force at the message's height), and the
//! receiver should then check that [`ConsensusMessage::validator`] is that origin.
//!
//! ```
//! use quorumnet_core::identity::{ChainId, Keypair};
//! use quorumnet_core::message::{ConsensusMessage, Envelope, Frame, Heartbeat, HearsBitmap, Height, Round};
//!
//! let chain = ChainId::from_network_name("devnet");
//! let key = Keypair::from_seed(&[2; 32]);
//! let heartbeat = ConsensusMessage::Heartbeat(Heartbeat {
//!     validator: key.validator_id(),
//!     height: Height(100),
//!     round: Round(0),
//!     time_micros: 1_700_000_000_000_000,
//!     hears: HearsBitmap::default(),
//! });
//! let frame = Frame::Envelope(Envelope::sign_message(&key, chain, 42, 3, &heartbeat));
//!
//! let Frame::Envelope(received) = Frame::decode(&frame.encode()).unwrap() else { unreachable!() };
//! received.verify(chain, key.public_key()).unwrap();
//! let message = received.message().unwrap();
//! assert_eq!(message.validator(), received.origin);
//! assert_eq!(message, heartbeat);
//! ```

mod address;
mod consensus;
mod envelope;
mod envelope_frame_fast_path;
mod error;
mod evidence;
mod frame;
mod hears;
mod proposal_parts;
mod types;

pub use address::AddressRecord;
pub use consensus::{Commit, ConsensusMessage, Heartbeat, MessageKind, Proposal, Vote};
pub use envelope::{signing_bytes, Envelope, MessageId, ENVELOPE_SIGNING_DOMAIN};
pub use error::EnvelopeError;
pub use evidence::{EquivocationEvidence, EvidenceReport};
pub use frame::Frame;
pub use hears::{HearsBitmap, HearsError};
pub use proposal_parts::{ProposalHeader, ProposalKey, ProposalPart, PART_HASH_LEN};
pub use types::{BlockHash, Height, Round};

use serde::de::DeserializeOwned;

use crate::codec::{self, CodecError};

/// Decodes one externally tagged enum, which WIRE.md fixes as a one-entry map `{"Variant": ...}`.
///
/// ciborium also accepts a bare variant name followed by the variant's content as a *second* CBOR item,
/// and skips tags before the enum; an implementation following WIRE.md rejects both, so the first byte
/// must already be a map header (major type 5) for every receiver to accept the same inputs.
fn decode_externally_tagged<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, CodecError> {
    const MAJOR_TYPE_MAP: u8 = 5;
    match bytes.first() {
        Some(&first) if first >> 5 != MAJOR_TYPE_MAP => Err(CodecError::Schema {
            what,
            offset: Some(0),
            reason: format!(
                "initial byte {first:#04x} is not a map header: expected a one-entry map {{\"Variant\": ...}}"
            ),
        }),
        _ => codec::decode(what, bytes),
    }
}
