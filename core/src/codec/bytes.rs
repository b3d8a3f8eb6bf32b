//! Serde helpers that make byte fields CBOR byte strings (`bstr`) and *only* byte strings.
//!
//! ciborium serializes a plain `Vec<u8>` or `[u8; N]` as an array of integers, and `serde_bytes`
//! deserializers also accept such arrays. WIRE.md requires byte strings and receivers must reject
//! arrays, so these visitors implement `visit_bytes` alone: an array where a `bstr` belongs fails to
//! decode with "invalid type: sequence, expected a CBOR byte string".

use std::fmt;

use serde::de::Visitor;
use serde::{Deserializer, Serializer};

/// `#[serde(with = "crate::codec::bytes::bstr")]` for a `Vec<u8>` field that travels as a byte string.
pub mod bstr {
    use super::*;

    /// Writes the bytes as one CBOR byte string.
    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    /// Reads one CBOR byte string; arrays and every other type are rejected.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(ByteStringVisitor)
    }
}

struct ByteStringVisitor;

impl<'de> Visitor<'de> for ByteStringVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CBOR byte string")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }
}

/// Reads a byte string of exactly `N` bytes.
pub(crate) fn deserialize_fixed<'de, const N: usize, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<[u8; N], D::Error> {
    struct FixedVisitor<const N: usize>;

    impl<'de, const N: usize> Visitor<'de> for FixedVisitor<N> {
        type Value = [u8; N];

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "a CBOR byte string of {N} bytes")
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<[u8; N], E> {
            v.try_into().map_err(|_| E::invalid_length(v.len(), &self))
        }
    }

    deserializer.deserialize_bytes(FixedVisitor::<N>)
}

/// Parses `N` bytes from exactly `2 * N` hex digits.
pub(crate) fn parse_hex_fixed<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| HexError { expected_len: N })?;
    Ok(out)
}

/// A hex string that is not exactly the expected number of bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected_len} bytes as {} lowercase hex digits", expected_len * 2)]
pub struct HexError {
    /// How many bytes the hex should have encoded.
    pub expected_len: usize,
}

/// Defines a 32-byte identifier: a CBOR `bstr(32)` on the wire, lowercase hex for people.
macro_rules! fixed_bytes_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The 32 raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lowercase hex of the first four bytes: enough to tell peers apart in logs.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::codec::bytes::HexError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::codec::bytes::parse_hex_fixed::<32>(s).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::codec::bytes::deserialize_fixed::<32, D>(d).map(Self)
            }
        }
    };
}
pub(crate) use fixed_bytes_id;

/// Turns a validation failure found after decoding into a serde error, for `Deserialize` impls
/// that check more than the shape (lengths, algorithm bytes).
pub(crate) fn invalid<E: serde::de::Error>(what: impl fmt::Display) -> E {
    E::custom(what)
}
