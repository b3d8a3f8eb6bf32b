//! The identity payload of Noise messages 2 and 3 (WIRE.md §2): a validator's proof that it holds the
//! Noise static key of this very handshake, on this chain.

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::identity::{ChainId, Keypair, PublicKey, Signature};
use crate::transport::HandshakeFailure;

/// The only identity payload version protocol version 1 knows.
pub const IDENTITY_PAYLOAD_VERSION: u64 = 1;

/// The domain-separation prefix of the signature over the Noise static key, so a handshake proof can
/// never be replayed as an envelope signature or any other signed statement.
pub const NOISE_STATIC_SIGNING_DOMAIN: &[u8] = b"quorumnet/1/noise-static";

/// Length of a Curve25519 public key: the Noise static key the payload signs.
pub const NOISE_STATIC_KEY_LEN: usize = 32;

/// `{"v": 1, "pk": bstr, "sig": bstr}`, keys in that order on the wire.
///
/// `sig = Sign(sk, "quorumnet/1/noise-static" || ChainId || sender's Noise static public key)`. The
/// Noise handshake proves the sender holds that static key (the `es`/`se` DH), so the signature binds the
/// validator identity to this connection: a proof copied from another connection names a static key the
/// copier does not hold.
///
/// ```
/// use quorumnet_core::identity::{ChainId, Keypair};
/// use quorumnet_core::secure::IdentityPayload;
///
/// let chain = ChainId::from_network_name("devnet");
/// let key = Keypair::from_seed(&[1; 32]);
/// let static_key = [9u8; 32];
/// let payload = IdentityPayload::sign(&key, &chain, &static_key);
/// let received = IdentityPayload::decode(&payload.encode()).unwrap();
/// assert_eq!(received.verify(&chain, &static_key).unwrap(), *key.public_key());
/// assert!(received.verify(&chain, &[8u8; 32]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityPayload {
    /// Payload version: [`IDENTITY_PAYLOAD_VERSION`]; anything else is a handshake failure.
    pub v: u64,
    /// The validator's public key encoding (algorithm byte, raw key). Kept as bytes so that an unknown
    /// algorithm is reported as a bad identity proof rather than as undecodable CBOR.
    #[serde(with = "crate::codec::bytes::bstr")]
    pub pk: Vec<u8>,
    /// The signature over [`static_key_signing_bytes`].
    pub sig: Signature,
}

/// The bytes an identity payload's signature covers:
/// [`NOISE_STATIC_SIGNING_DOMAIN`] || `chain` (32) || `noise_static` (32).
pub fn static_key_signing_bytes(chain: &ChainId, noise_static: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(NOISE_STATIC_SIGNING_DOMAIN.len() + 32 + noise_static.len());
    out.extend_from_slice(NOISE_STATIC_SIGNING_DOMAIN);
    out.extend_from_slice(chain.as_bytes());
    out.extend_from_slice(noise_static);
    out
}

impl IdentityPayload {
    /// What decoding errors call this value.
    const WHAT: &'static str = "identity payload";

    /// `key`'s proof that it holds the Noise static key `noise_static` on `chain`.
    pub fn sign(key: &Keypair, chain: &ChainId, noise_static: &[u8]) -> Self {
        IdentityPayload {
            v: IDENTITY_PAYLOAD_VERSION,
            pk: key.public_key().encoded().to_vec(),
            sig: key.sign(&static_key_signing_bytes(chain, noise_static)),
        }
    }

    /// The CBOR encoding.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes exactly one payload, without checking its version or signature.
    ///
    /// # Errors
    /// As [`codec::decode`]: malformed CBOR, missing fields, an array where a `bstr` belongs, trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode(Self::WHAT, bytes)
    }

    /// Checks the version and that the payload's key signed `remote_static` (the Noise static key the
    /// handshake authenticated) for `chain`.
    ///
    /// # Returns
    /// The proven public key; its [`PublicKey::validator_id`] is the peer's identity.
    ///
    /// # Errors
    /// [`HandshakeFailure::Protocol`] for a version other than 1, [`HandshakeFailure::BadIdentityProof`]
    /// for an unusable key (unknown algorithm, wrong length) or a signature that does not verify (another
    /// chain, another static key, a forgery).
    pub fn verify(&self, chain: &ChainId, remote_static: &[u8]) -> Result<PublicKey, HandshakeFailure> {
        if self.v != IDENTITY_PAYLOAD_VERSION {
            return Err(HandshakeFailure::Protocol(format!(
                "identity payload version {} (this node speaks version {IDENTITY_PAYLOAD_VERSION})",
                self.v
            )));
        }
        let key = PublicKey::from_encoded(&self.pk)
            .map_err(|e| HandshakeFailure::BadIdentityProof(format!("public key: {e}")))?;
        key.verify(&static_key_signing_bytes(chain, remote_static), &self.sig)
            .map_err(|e| HandshakeFailure::BadIdentityProof(format!("signature over the Noise static key: {e}")))?;
        Ok(key)
    }
}
