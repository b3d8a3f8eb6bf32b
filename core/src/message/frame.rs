//! Wire frames (WIRE.md §5): the one CBOR item each length-prefixed frame of a connection holds.

use serde::{Deserialize, Serialize};

use super::envelope::EnvelopeWire;
use super::{Envelope, MessageId};
use crate::codec::framing::{check_frame_len, LENGTH_PREFIX_LEN};
use crate::codec::{self, BoundedSeq, CodecError};
use crate::identity::ValidatorId;

/// One application frame: externally tagged CBOR, `{"Variant": ...}`.
///
/// A frame that does not decode, an unknown variant included, is a protocol violation: score the peer
/// and close the connection. Decode with [`Frame::decode`]: it reports a bad ttl, a bad part or too many
/// ids with their own error variants and refuses non-map enum forms that serde alone
/// (`codec::decode::<Frame>`) lets through.
///
/// ```
/// use quorumnet_core::codec::DEFAULT_MAX_FRAME_LEN;
/// use quorumnet_core::message::Frame;
///
/// let ping = Frame::Ping { nonce: 1 };
/// // {"Ping": {"nonce": 1}}
/// assert_eq!(hex::encode(ping.encode()), "a16450696e67a1656e6f6e636501");
/// assert_eq!(Frame::decode(&ping.encode()).unwrap(), ping);
///
/// let wire = ping.to_length_prefixed(DEFAULT_MAX_FRAME_LEN).unwrap();
/// assert_eq!(wire[..4], 14u32.to_be_bytes());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FrameWire")]
pub enum Frame {
    /// A signed message: `{"Envelope": Envelope}`.
    Envelope(Envelope),
    /// A signed message whose sender wants a receipt: `{"Reliable": Envelope}`. The receiver answers
    /// [`Frame::Ack`] once it has verified and accepted the envelope, or if it already had it.
    Reliable(Envelope),
    /// The receipt for a [`Frame::Reliable`]: `{"Ack": {"id": bstr(32)}}`.
    Ack {
        /// The acknowledged envelope's [`MessageId`].
        id: MessageId,
    },
    /// A liveness probe: `{"Ping": {"nonce": uint}}`.
    Ping {
        /// Echoed in the [`Frame::Pong`], to match answers to probes and time the round trip.
        nonce: u64,
    },
    /// The answer to a [`Frame::Ping`]: `{"Pong": {"nonce": uint}}`.
    Pong {
        /// The probe's nonce.
        nonce: u64,
    },
    /// One piece of a frame too large to send whole without delaying votes:
    /// `{"Part": {"id": uint, "index": uint, "count": uint, "data": bstr}}`. Decoding rejects a `count`
    /// of 0 and an `index` not below `count`; reassembly, and bounding what it holds, is the receiver's.
    Part {
        /// Sender-chosen number of the whole frame on this connection; all its parts share it.
        id: u64,
        /// The piece's 0-based position.
        index: u32,
        /// How many pieces the whole frame has (at least 1).
        count: u32,
        /// The piece's bytes: a slice of the whole frame's CBOR encoding.
        #[serde(with = "crate::codec::bytes::bstr")]
        data: Vec<u8>,
    },
    /// A gossip digest: ids of verified messages the sender holds and can send on request:
    /// `{"Have": {"ids": [bstr(32)…]}}`. Announcing an id costs 34 bytes where pushing an ML-DSA-65
    /// envelope costs over 3 300, so peers that may already hold a message get its id, and ask for it
    /// with [`Frame::Want`] only if they lack it. At most [`Frame::MAX_IDS`] ids; build long lists
    /// with [`Frame::haves`].
    Have {
        /// The announced [`MessageId`]s.
        ids: Vec<MessageId>,
    },
    /// A request for the messages with these ids, answered with one [`Frame::Envelope`] per id the
    /// receiver still holds (ids it lacks are skipped): `{"Want": {"ids": [bstr(32)…]}}`. At most
    /// [`Frame::MAX_IDS`] ids; build long lists with [`Frame::wants`].
    Want {
        /// The requested [`MessageId`]s.
        ids: Vec<MessageId>,
    },
    /// "Stop pushing me this origin's messages; announce them": `{"Prune": {"origin": bstr(32)}}`.
    /// Sent to a peer that pushed us a whole envelope of `origin` we already had, so the peer moves us
    /// to announce-only (`Have`) for that origin's messages; pulling one of them with
    /// [`Frame::Want`] moves us back (per-origin broadcast trees, docs/wire.md §5).
    Prune {
        /// The origin whose messages the receiver should announce rather than push to the sender.
        origin: ValidatorId,
    },
}

/// The frame as received, with envelopes whose ttl is not yet known to fit a `u8` and parts not yet
/// checked, so both failures come out as their own [`CodecError`] variants.
#[derive(Deserialize)]
enum FrameWire {
    Envelope(EnvelopeWire),
    Reliable(EnvelopeWire),
    Ack {
        id: MessageId,
    },
    Ping {
        nonce: u64,
    },
    Pong {
        nonce: u64,
    },
    Part {
        id: u64,
        index: u32,
        count: u32,
        #[serde(with = "crate::codec::bytes::bstr")]
        data: Vec<u8>,
    },
    Have {
        ids: BoundedSeq<MessageId, { Frame::MAX_IDS }>,
    },
    Want {
        ids: BoundedSeq<MessageId, { Frame::MAX_IDS }>,
    },
    Prune {
        origin: ValidatorId,
    },
}

impl TryFrom<FrameWire> for Frame {
    type Error = CodecError;

    fn try_from(wire: FrameWire) -> Result<Self, CodecError> {
        Ok(match wire {
            FrameWire::Envelope(e) => Frame::Envelope(e.try_into()?),
            FrameWire::Reliable(e) => Frame::Reliable(e.try_into()?),
            FrameWire::Ack { id } => Frame::Ack { id },
            FrameWire::Ping { nonce } => Frame::Ping { nonce },
            FrameWire::Pong { nonce } => Frame::Pong { nonce },
            FrameWire::Part { id, index, count, data } => {
                if count == 0 || index >= count {
                    return Err(CodecError::InvalidPart { index, count });
                }
                Frame::Part { id, index, count, data }
            }
            FrameWire::Have { ids } => Frame::Have { ids: ids.into_vec("Have ids")? },
            FrameWire::Want { ids } => Frame::Want { ids: ids.into_vec("Want ids")? },
            FrameWire::Prune { origin } => Frame::Prune { origin },
        })
    }
}

impl Frame {
    /// What `decode` calls the value in errors.
    const WHAT: &'static str = "frame";

    /// The most ids one [`Frame::Have`] or [`Frame::Want`] holds; a receiver rejects more with
    /// [`CodecError::TooManyItems`]. 1 024 ids encode in about 35 KiB, under the 64 KiB part size, so a
    /// digest never has to be split into parts, and it covers several heights of a 100-validator chain.
    pub const MAX_IDS: usize = 1024;

    /// `ids` as [`Frame::Have`] frames of at most [`Frame::MAX_IDS`] ids each, in order; none for no ids.
    pub fn haves(ids: &[MessageId]) -> Vec<Frame> {
        Self::chunked(ids, |ids| Frame::Have { ids })
    }

    /// `ids` as [`Frame::Want`] frames of at most [`Frame::MAX_IDS`] ids each, in order; none for no ids.
    pub fn wants(ids: &[MessageId]) -> Vec<Frame> {
        Self::chunked(ids, |ids| Frame::Want { ids })
    }

    fn chunked(ids: &[MessageId], frame: impl Fn(Vec<MessageId>) -> Frame) -> Vec<Frame> {
        ids.chunks(Self::MAX_IDS).map(|chunk| frame(chunk.to_vec())).collect()
    }

    /// The CBOR encoding, without length prefix.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len_estimate());
        codec::encode_into(self, &mut out);
        out
    }

    /// About the encoding's length, rounded up: the buffer is sized once instead of doubling its way
    /// up through a 3 309-byte signature.
    fn encoded_len_estimate(&self) -> usize {
        // Map, variant name, field names, integers and string headers.
        const OVERHEAD: usize = 128;
        OVERHEAD
            + match self {
                Frame::Envelope(envelope) | Frame::Reliable(envelope) => {
                    envelope.payload.len() + envelope.sig.as_bytes().len()
                }
                Frame::Part { data, .. } => data.len(),
                // A 32-byte byte string and its 2-byte header each.
                Frame::Have { ids } | Frame::Want { ids } => ids.len() * 34,
                _ => 0,
            }
    }

    /// The u32 big-endian length prefix followed by the CBOR encoding, ready for a byte stream.
    ///
    /// # Errors
    /// [`CodecError::FrameTooLarge`] if the encoding exceeds `limit`: a sender never writes what its
    /// peer must reject (split the payload into [`Frame::Part`]s instead).
    pub fn to_length_prefixed(&self, limit: usize) -> Result<Vec<u8>, CodecError> {
        // Encode after a placeholder prefix and patch it, so the frame is never copied.
        let mut out = vec![0u8; LENGTH_PREFIX_LEN];
        codec::encode_into(self, &mut out);
        let len = check_frame_len((out.len() - LENGTH_PREFIX_LEN) as u64, limit)?;
        let len = u32::try_from(len).map_err(|_| CodecError::FrameTooLarge { len: len as u64, limit })?;
        out[..LENGTH_PREFIX_LEN].copy_from_slice(&len.to_be_bytes());
        Ok(out)
    }

    /// Decodes exactly one frame from `bytes` (one length-prefixed frame's contents).
    ///
    /// # Errors
    /// [`CodecError::TtlOutOfRange`] for an envelope with a ttl above 255, [`CodecError::InvalidPart`]
    /// for an impossible part, [`CodecError::TooManyItems`] for a `Have` or `Want` with more than
    /// [`Frame::MAX_IDS`] ids, and otherwise as [`codec::decode`]: an unknown variant, a missing field,
    /// an array where a byte string belongs, anything but a one-entry map at the top, malformed CBOR,
    /// truncation or trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        super::decode_externally_tagged::<FrameWire>(Self::WHAT, bytes)?.try_into()
    }

    /// [`decode`](Self::decode) for a frame in a shared buffer: an envelope frame's payload and
    /// signature come back as slices of `bytes` instead of copies (the same value otherwise).
    ///
    /// # Errors
    /// As [`decode`](Self::decode).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use quorumnet_core::message::Frame;
    ///
    /// let bytes = Bytes::from(Frame::Ping { nonce: 9 }.encode());
    /// assert_eq!(Frame::decode_shared(&bytes).unwrap(), Frame::decode(&bytes).unwrap());
    /// ```
    pub fn decode_shared(bytes: &bytes::Bytes) -> Result<Self, CodecError> {
        match super::envelope_frame_fast_path::decode(bytes) {
            Some(frame) => Ok(frame),
            None => Self::decode(bytes),
        }
    }
}
