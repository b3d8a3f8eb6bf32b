use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::key_interner::{self, KeyMaterial};
use super::mldsa65_prepared::PreparedKey;
use super::{scheme, Algorithm, IdentityError, Signature, ValidatorId};

/// A validator's public key. Its wire encoding (`pk` in WIRE.md) is one algorithm byte followed by the
/// raw key; on the wire it is a CBOR `bstr` of that encoding.
///
/// Cheap to clone; its [`ValidatorId`] is computed once, on construction. An ML-DSA-65 key is
/// prepared for verification on its first [`verify`](Self::verify) (≈ 37 KiB; each later verify
/// skips re-deriving the public matrix, about half the work). The preparation is shared by every
/// copy of the key alive in the process, clones or decoded again from the same bytes.
#[derive(Clone)]
pub struct PublicKey {
    material: Arc<KeyMaterial>,
    id: ValidatorId,
}

impl PublicKey {
    /// Parses a public key encoding.
    ///
    /// # Errors
    /// [`IdentityError::EmptyPublicKey`], [`IdentityError::UnknownAlgorithm`] or
    /// [`IdentityError::WrongPublicKeyLength`].
    pub fn from_encoded(encoded: &[u8]) -> Result<Self, IdentityError> {
        let (&alg_byte, raw) = encoded.split_first().ok_or(IdentityError::EmptyPublicKey)?;
        let algorithm = Algorithm::from_byte(alg_byte)?;
        if raw.len() != algorithm.public_key_len() {
            return Err(IdentityError::WrongPublicKeyLength {
                algorithm,
                expected: algorithm.public_key_len(),
                actual: raw.len(),
            });
        }
        let id = ValidatorId::of_public_key(encoded);
        Ok(PublicKey { material: key_interner::intern(id, encoded), id })
    }

    /// A public key from its algorithm and raw key bytes.
    ///
    /// # Errors
    /// [`IdentityError::WrongPublicKeyLength`].
    pub fn from_raw(algorithm: Algorithm, raw: &[u8]) -> Result<Self, IdentityError> {
        let mut encoded = Vec::with_capacity(1 + raw.len());
        encoded.push(algorithm.byte());
        encoded.extend_from_slice(raw);
        Self::from_encoded(&encoded)
    }

    /// The wire encoding: algorithm byte, then the raw key.
    pub fn encoded(&self) -> &[u8] {
        &self.material.encoded
    }

    /// The raw key, without the algorithm byte.
    pub fn raw(&self) -> &[u8] {
        &self.material.encoded[1..]
    }

    /// The key's signature algorithm.
    pub fn algorithm(&self) -> Algorithm {
        Algorithm::from_byte(self.material.encoded[0]).expect("algorithm byte is checked on construction")
    }

    /// BLAKE3-256 of [`Self::encoded`].
    pub fn validator_id(&self) -> ValidatorId {
        self.id
    }

    /// Checks a detached signature over `message`.
    ///
    /// # Errors
    /// [`IdentityError::WrongSignatureLength`] when the signature cannot belong to this key's algorithm,
    /// [`IdentityError::ResponseOutOfBound`] when FIPS 204's ‖z‖∞ bound fails (checked here, first and
    /// cheaply, because pqcrypto's AVX2 verify skips it: see [`super::response_is_short`]),
    /// [`IdentityError::BadSignature`] when it does not verify.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), IdentityError> {
        let algorithm = self.algorithm();
        let sig = signature.as_bytes();
        if sig.len() != algorithm.signature_len() {
            return Err(IdentityError::WrongSignatureLength {
                algorithm,
                expected: algorithm.signature_len(),
                actual: sig.len(),
            });
        }
        if !super::response_is_short(algorithm, sig) {
            return Err(IdentityError::ResponseOutOfBound { algorithm });
        }
        let verified = match self.prepared() {
            Some(prepared) => prepared.verify(message, sig),
            None => scheme::verify(algorithm, self.raw(), message, sig),
        };
        if verified {
            Ok(())
        } else {
            Err(IdentityError::BadSignature { algorithm })
        }
    }

    /// This key prepared for verification, on first use; `None` where it has no prepared form.
    fn prepared(&self) -> Option<&PreparedKey> {
        self.material
            .prepared
            .get_or_init(|| match self.algorithm() {
                Algorithm::MlDsa65 => PreparedKey::new(self.raw()),
                Algorithm::Dilithium3 => None,
            })
            .as_deref()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.material, &other.material) || self.encoded() == other.encoded()
    }
}

impl Eq for PublicKey {}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.encoded().hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}, {})", self.algorithm(), self.id.short())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.encoded())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = crate::codec::bytes::bstr::deserialize(d)?;
        PublicKey::from_encoded(&bytes).map_err(crate::codec::bytes::invalid)
    }
}
