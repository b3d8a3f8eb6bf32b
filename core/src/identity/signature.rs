use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize};

/// A detached signature: the algorithm's raw bytes, without prefix. A CBOR `bstr` on the wire.
///
/// Its length is checked against the verifying key's algorithm when it is verified, since the
/// signature alone does not say which algorithm made it.
///
/// `Bytes` inside: an ML-DSA-65 signature is 3 309 bytes, and every envelope kept for repair, forwarded
/// and delivered shares one copy.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Signature(
    #[serde(serialize_with = "crate::codec::bytes::bstr::serialize", deserialize_with = "shared_bstr")] Bytes,
);

/// A byte string read as [`crate::codec::bytes::bstr`] reads it, kept without a copy.
fn shared_bstr<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
    crate::codec::bytes::bstr::deserialize(deserializer).map(Bytes::from)
}

impl Signature {
    /// Wraps raw signature bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Signature(Bytes::from(bytes.into()))
    }

    /// Wraps signature bytes already shared (a slice of a received frame), without copying them.
    pub(crate) fn from_shared(bytes: Bytes) -> Self {
        Signature(bytes)
    }

    /// The raw signature bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = &self.0[..self.0.len().min(4)];
        write!(f, "Signature({} bytes, {}…)", self.0.len(), hex::encode(head))
    }
}
