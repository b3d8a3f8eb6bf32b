//! The wire codec: CBOR values inside u32 length-prefixed frames (WIRE.md §5, `docs/wire.md`).
//!
//! - [`encode`] / [`decode`]: CBOR via ciborium; decoding rejects trailing bytes and maps every failure
//!   to a [`CodecError`] that names what was being decoded.
//! - [`bytes`]: serde helpers that make byte fields CBOR byte strings, and reject arrays in their place.
//! - [`framing`]: the u32 big-endian length prefix, with the size limit checked before any allocation.
//!
//! ```
//! use quorumnet_core::codec::{decode, encode, CodecError};
//!
//! let bytes = encode(&(1u64, 2u64));
//! assert_eq!(decode::<(u64, u64)>("pair", &bytes).unwrap(), (1, 2));
//!
//! let mut padded = bytes.clone();
//! padded.push(0);
//! assert!(matches!(decode::<(u64, u64)>("pair", &padded), Err(CodecError::TrailingBytes { .. })));
//! ```

mod bounded;
pub mod bytes;
mod cbor;
mod error;
pub mod framing;

pub(crate) use bounded::BoundedSeq;
pub use cbor::{decode, encode, encode_into};
pub use error::CodecError;
pub use framing::{FrameDecoder, DEFAULT_MAX_FRAME_LEN};
