//! Typed consensus coordinates: a block's height, a round within a height, a block's hash.

use serde::{Deserialize, Serialize};

use crate::codec::bytes::fixed_bytes_id;

/// A block height. A CBOR unsigned integer on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Height(pub u64);

/// A round within one height. A CBOR unsigned integer on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Round(pub u32);

fixed_bytes_id! {
    /// The 32-byte hash of a proposed block, as the consensus engine computes it. A CBOR `bstr(32)`.
    BlockHash
}

impl std::fmt::Display for Height {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
