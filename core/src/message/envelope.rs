//! Signed envelopes (WIRE.md §4): what gossip and relays carry, authentic whoever forwards them.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{ConsensusMessage, EnvelopeError};
use crate::codec::bytes::fixed_bytes_id;
use crate::codec::{self, CodecError};
use crate::identity::{ChainId, Keypair, PublicKey, Signature, ValidatorId};

/// The domain-separation prefix of every envelope signature, so an envelope signature can never be
/// replayed as a handshake proof or any other signed statement.
pub const ENVELOPE_SIGNING_DOMAIN: &[u8] = b"quorumnet/1/envelope";

fixed_bytes_id! {
    /// The id of an envelope's message: BLAKE3-256(`origin` || u64 big-endian `seq` || `payload`).
    ///
    /// It leaves out `ttl` (relays change it) and the signature (ML-DSA signing is randomized, so
    /// two signatures of one message differ), so every copy of a message has one id however it travelled.
    /// A CBOR `bstr(32)` on the wire (the `Ack` frame).
    MessageId
}

impl MessageId {
    /// The id of the message `origin` numbered `seq` with this `payload`.
    pub fn compute(origin: &ValidatorId, seq: u64, payload: &[u8]) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(origin.as_bytes());
        hasher.update(&seq.to_be_bytes());
        hasher.update(payload);
        MessageId(*hasher.finalize().as_bytes())
    }
}

/// The bytes an envelope's signature covers: [`ENVELOPE_SIGNING_DOMAIN`] || `chain` (32) || `origin`
/// (32) || u64 big-endian `seq` || `payload`.
///
/// Binding the chain id means an envelope signed for one network never verifies on another.
pub fn signing_bytes(chain: &ChainId, origin: &ValidatorId, seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENVELOPE_SIGNING_DOMAIN.len() + 32 + 32 + 8 + payload.len());
    out.extend_from_slice(ENVELOPE_SIGNING_DOMAIN);
    out.extend_from_slice(chain.as_bytes());
    out.extend_from_slice(origin.as_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A payload signed by its origin validator.
///
/// CBOR map, keys in this order: `{"origin": bstr(32), "seq": uint, "ttl": uint, "payload": bstr,
/// "sig": bstr}`. Decoding does not verify: an envelope from the network is untrusted until
/// [`Envelope::verify`] accepted it under the origin's key.
///
/// ```
/// use quorumnet_core::identity::{ChainId, Keypair};
/// use quorumnet_core::message::{ConsensusMessage, Envelope, Height, Round, Vote};
///
/// let chain = ChainId::from_network_name("devnet");
/// let key = Keypair::from_seed(&[1; 32]);
/// let vote = ConsensusMessage::PreCommit(Vote {
///     height: Height(5),
///     round: Round(1),
///     validator: key.validator_id(),
///     block_hash: None,
/// });
/// let envelope = Envelope::sign_message(&key, chain, 1, 6, &vote);
///
/// // What a receiver does with bytes from the network:
/// let received = Envelope::decode(&envelope.encode()).unwrap();
/// received.verify(chain, key.public_key()).unwrap();
/// assert_eq!(received.message().unwrap(), vote);
///
/// // A relay forwards it one hop further; the id and signature are unaffected.
/// let forwarded = received.clone().with_ttl(5);
/// assert_eq!(forwarded.id(), envelope.id());
/// forwarded.verify(chain, key.public_key()).unwrap();
/// # assert!(received.verify(ChainId::from_network_name("testnet"), key.public_key()).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "EnvelopeWire")]
pub struct Envelope {
    /// The validator that signed the payload.
    pub origin: ValidatorId,
    /// The origin's sequence number: strictly increasing over the key's lifetime, so receivers detect
    /// replays with a per-origin window.
    pub seq: u64,
    /// Hops left: relays decrement it and stop forwarding at 0. Neither signed nor part of the id.
    pub ttl: u8,
    /// The signed bytes: usually a [`ConsensusMessage`]'s encoding. `Bytes`, so a relay fanning the
    /// envelope out to many peers shares one buffer.
    #[serde(serialize_with = "crate::codec::bytes::bstr::serialize")]
    pub payload: Bytes,
    /// The origin's signature over [`signing_bytes`].
    pub sig: Signature,
}

/// The envelope as received, before `ttl` is known to fit a `u8`: reading it as `u64` lets an
/// out-of-range ttl surface as [`CodecError::TtlOutOfRange`] instead of a generic type error.
#[derive(Deserialize)]
pub(super) struct EnvelopeWire {
    origin: ValidatorId,
    seq: u64,
    ttl: u64,
    #[serde(with = "crate::codec::bytes::bstr")]
    payload: Vec<u8>,
    sig: Signature,
}

impl TryFrom<EnvelopeWire> for Envelope {
    type Error = CodecError;

    fn try_from(wire: EnvelopeWire) -> Result<Self, CodecError> {
        Ok(Envelope {
            origin: wire.origin,
            seq: wire.seq,
            ttl: u8::try_from(wire.ttl).map_err(|_| CodecError::TtlOutOfRange(wire.ttl))?,
            payload: Bytes::from(wire.payload),
            sig: wire.sig,
        })
    }
}

impl Envelope {
    /// What `decode` calls the value in errors.
    const WHAT: &'static str = "envelope";

    /// Signs `payload` as `key`'s message number `seq` on `chain`.
    pub fn sign(key: &Keypair, chain: ChainId, seq: u64, ttl: u8, payload: impl Into<Bytes>) -> Self {
        let origin = key.validator_id();
        let payload = payload.into();
        let sig = key.sign(&signing_bytes(&chain, &origin, seq, &payload));
        Envelope { origin, seq, ttl, payload, sig }
    }

    /// Signs a consensus message's encoding; see [`Envelope::sign`].
    pub fn sign_message(key: &Keypair, chain: ChainId, seq: u64, ttl: u8, message: &ConsensusMessage) -> Self {
        Self::sign(key, chain, seq, ttl, message.encode())
    }

    /// The message's id; see [`MessageId`].
    pub fn id(&self) -> MessageId {
        MessageId::compute(&self.origin, self.seq, &self.payload)
    }

    /// Checks that `key` is the origin's key and that it signed this envelope for `chain`.
    ///
    /// # Errors
    /// [`EnvelopeError::OriginMismatch`] if `key` belongs to another validator;
    /// [`EnvelopeError::Signature`] if the signature has the wrong length for the key's algorithm or does
    /// not verify (altered origin, seq or payload, another chain, or a forgery).
    pub fn verify(&self, chain: ChainId, key: &PublicKey) -> Result<(), EnvelopeError> {
        let key_id = key.validator_id();
        if key_id != self.origin {
            return Err(EnvelopeError::OriginMismatch { origin: self.origin, key: key_id });
        }
        key.verify(&signing_bytes(&chain, &self.origin, self.seq, &self.payload), &self.sig)?;
        Ok(())
    }

    /// Decodes the payload as a [`ConsensusMessage`].
    ///
    /// # Errors
    /// As [`ConsensusMessage::decode`].
    pub fn message(&self) -> Result<ConsensusMessage, CodecError> {
        ConsensusMessage::decode(&self.payload)
    }

    /// The same envelope with `ttl` hops left.
    pub fn with_ttl(self, ttl: u8) -> Self {
        Envelope { ttl, ..self }
    }

    /// Takes one hop off `ttl` before forwarding: `false` (and no change) when it is already 0, meaning
    /// the envelope must not travel further.
    pub fn decrement_ttl(&mut self) -> bool {
        match self.ttl.checked_sub(1) {
            Some(ttl) => {
                self.ttl = ttl;
                true
            }
            None => false,
        }
    }

    /// The CBOR encoding.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes exactly one envelope from `bytes`, without verifying it.
    ///
    /// # Errors
    /// [`CodecError::TtlOutOfRange`] for a ttl above 255; otherwise as [`codec::decode`] (malformed
    /// CBOR, an array or wrong-length byte string for `origin`, missing fields, trailing bytes...).
    /// Decoding through serde ([`codec::decode::<Envelope>`](codec::decode)) rejects the same inputs, but
    /// reports a bad ttl as [`CodecError::Schema`].
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode::<EnvelopeWire>(Self::WHAT, bytes)?.try_into()
    }
}

impl fmt::Debug for Envelope {
    // Payloads reach 4 MiB: log their length, not their bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("origin", &self.origin)
            .field("seq", &self.seq)
            .field("ttl", &self.ttl)
            .field("payload_len", &self.payload.len())
            .field("sig", &self.sig)
            .finish()
    }
}
