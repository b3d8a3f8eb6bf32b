use std::fmt;

use serde::{Deserialize, Serialize};

/// A detached signature: the algorithm's raw bytes, without prefix. A CBOR `bstr` on the wire.
///
/// Its length is checked against the verifying key's algorithm when it is verified, since the
/// signature alone does not say which algorithm made it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Signature(#[serde(with = "crate::codec::bytes::bstr")] Vec<u8>);

impl Signature {
    /// Wraps raw signature bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Signature(bytes.into())
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
