//! Decoding `{"Envelope": …}` and `{"Reliable": …}` frames without copying their payload and
//! signature: the two byte strings are taken as slices of the received buffer.
//!
//! Envelope frames are nearly every frame a node receives, and each carries a 3.3 KB ML-DSA
//! signature: the generic CBOR path copies both byte strings into fresh buffers and walks serde's
//! visitor machinery, a visible share of a simulation's CPU. The fast path accepts only the exact
//! layout quorumnet's encoder writes (definite lengths, fields in declaration order, no other
//! fields); anything else returns `None` and goes through [`Frame::decode`], so what is accepted or
//! refused — and every error — is unchanged. For the layout it accepts, it yields the value the
//! generic path would (`core/tests/frames.rs` checks both agree on random and mutated frames).

use bytes::Bytes;

use super::{Envelope, Frame};
use crate::identity::{Signature, ValidatorId};

/// The frame `bytes` holds, if it is an envelope frame in the encoder's own layout; `None`: decode it
/// the generic way.
pub(super) fn decode(bytes: &Bytes) -> Option<Frame> {
    let mut cursor = Cursor { bytes, at: 0 };
    if cursor.byte()? != MAP_OF_ONE {
        return None;
    }
    let reliable = match cursor.text()? {
        b"Envelope" => false,
        b"Reliable" => true,
        _ => return None,
    };
    if cursor.byte()? != MAP_OF_FIVE {
        return None;
    }
    cursor.key(b"origin")?;
    let len = usize::try_from(cursor.head(MAJOR_BYTES)?).ok()?;
    let origin = ValidatorId(cursor.slice(len)?.try_into().ok()?);
    cursor.key(b"seq")?;
    let seq = cursor.head(MAJOR_UINT)?;
    cursor.key(b"ttl")?;
    // Out of range: the generic path names the error.
    let ttl = u8::try_from(cursor.head(MAJOR_UINT)?).ok()?;
    cursor.key(b"payload")?;
    let payload = cursor.byte_string()?;
    cursor.key(b"sig")?;
    let sig = Signature::from_shared(cursor.byte_string()?);
    if cursor.at != bytes.len() {
        return None;
    }
    let envelope = Envelope { origin, seq, ttl, payload, sig };
    Some(if reliable { Frame::Reliable(envelope) } else { Frame::Envelope(envelope) })
}

const MAJOR_UINT: u8 = 0;
const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAP_OF_ONE: u8 = 0xa1;
const MAP_OF_FIVE: u8 = 0xa5;

struct Cursor<'a> {
    bytes: &'a Bytes,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn skip(&mut self, len: usize) -> Option<std::ops::Range<usize>> {
        let end = self.at.checked_add(len).filter(|end| *end <= self.bytes.len())?;
        let range = self.at..end;
        self.at = end;
        Some(range)
    }

    fn slice(&mut self, len: usize) -> Option<&'a [u8]> {
        let bytes: &'a Bytes = self.bytes;
        self.skip(len).map(|range| &bytes[range])
    }

    /// A definite-length head of major type `major` in its shortest form (as the encoder writes it):
    /// its argument. Longer forms, indefinite lengths, reserved values and other majors are left to
    /// the generic path.
    fn head(&mut self, major: u8) -> Option<u64> {
        let initial = self.byte()?;
        if initial >> 5 != major {
            return None;
        }
        let width = match initial & 0x1f {
            small @ 0..=23 => return Some(u64::from(small)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return None,
        };
        let argument = self.slice(width)?;
        let value = argument.iter().fold(0u64, |value, byte| value << 8 | u64::from(*byte));
        let shortest = match width {
            1 => value > 23,
            _ => value >> (4 * width) != 0, // needs more than half the width
        };
        shortest.then_some(value)
    }

    /// A byte string, shared with the frame.
    fn byte_string(&mut self) -> Option<Bytes> {
        let len = usize::try_from(self.head(MAJOR_BYTES)?).ok()?;
        self.skip(len).map(|range| self.bytes.slice(range))
    }

    fn text(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.head(MAJOR_TEXT)?).ok()?;
        self.slice(len)
    }

    fn key(&mut self, expected: &[u8]) -> Option<()> {
        (self.text()? == expected).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{ChainId, Keypair};

    fn envelope(ttl: u8, payload: &'static [u8]) -> Envelope {
        Envelope::sign(&Keypair::from_seed(&[7; 32]), ChainId::from_network_name("devnet"), 1 << 40, ttl, payload)
    }

    #[test]
    fn the_encoders_layout_decodes_as_the_generic_path_does_sharing_the_buffer() {
        for frame in [Frame::Envelope(envelope(3, b"a vote")), Frame::Reliable(envelope(255, b""))] {
            let bytes = Bytes::from(frame.encode());
            let fast = decode(&bytes).expect("the encoder's own layout");
            assert_eq!(fast, Frame::decode(&bytes).unwrap());
            let (Frame::Envelope(e) | Frame::Reliable(e)) = &fast else { unreachable!() };
            let within = bytes.as_ptr_range();
            assert!(within.contains(&e.sig.as_bytes().as_ptr()), "the signature is a slice of the frame");
        }
    }

    #[test]
    fn anything_else_is_left_to_the_generic_path() {
        let bytes = Frame::Envelope(envelope(3, b"a vote")).encode();
        let truncated = Bytes::copy_from_slice(&bytes[..bytes.len() - 1]);
        let mut trailing = bytes.clone();
        trailing.push(0);
        let mut other_variant = bytes.clone();
        other_variant[2..10].copy_from_slice(b"Envelopf");
        for refused in [truncated, Bytes::from(trailing), Bytes::from(other_variant)] {
            assert_eq!(decode(&refused), None);
        }
        assert_eq!(decode(&Bytes::from(Frame::Ping { nonce: 1 }.encode())), None);
    }
}
