//! The inbound side: decoding each frame, and reassembling parts within bounds.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::message::Frame;

use super::event::Violation;
use super::stats::Counters;
use super::PeerLinkConfig;

/// The bounds reassembly enforces; every one broken is a [`Violation`].
#[derive(Clone, Copy, Debug)]
pub(super) struct ReassemblyLimits {
    pub part_size: usize,
    pub max_frame_len: usize,
    pub max_partial_frames: usize,
    pub max_bytes: usize,
}

impl ReassemblyLimits {
    /// The bounds of a link with `config` over a connection whose frame limit is `max_frame_len`.
    pub fn new(config: &PeerLinkConfig, max_frame_len: usize) -> Self {
        ReassemblyLimits {
            part_size: config.part_size,
            max_frame_len,
            max_partial_frames: config.max_partial_frames,
            max_bytes: config.max_reassembly_bytes,
        }
    }

    /// ⌈max_frame_len / part_size⌉: the parts the largest frame needs.
    fn max_parts(&self) -> u32 {
        u32::try_from(self.max_frame_len.div_ceil(self.part_size)).unwrap_or(u32::MAX)
    }
}

/// A whole frame decoded from the wire.
pub(super) struct Received {
    pub frame: Frame,
    /// Bytes on the wire: the frame's encoding, or all its parts'.
    pub wire_len: usize,
}

struct Partial {
    count: u32,
    data: Vec<Vec<u8>>,
    len: usize,
    wire_len: usize,
}

/// The partial frames of one link.
pub(super) struct Reassembly {
    limits: ReassemblyLimits,
    partial: BTreeMap<u64, Partial>,
    buffered: usize,
}

impl Reassembly {
    pub fn new(limits: ReassemblyLimits) -> Self {
        Reassembly { limits, partial: BTreeMap::new(), buffered: 0 }
    }

    /// Bytes of partial frames held now: at most `limits.max_bytes`.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Frames partly received now: at most `limits.max_partial_frames`.
    pub fn partial_frames(&self) -> usize {
        self.partial.len()
    }

    /// Takes one frame off the connection: the whole frame it completes, if any.
    ///
    /// # Errors
    /// A [`Violation`] if the bytes do not decode, a part breaks the sequence or a bound, or parts
    /// reassemble into something that does not decode or is itself a part. The link closes after one.
    pub fn receive(&mut self, bytes: &Bytes, counters: &Counters) -> Result<Option<Received>, Violation> {
        match Frame::decode_shared(bytes).map_err(Violation::Undecodable)? {
            Frame::Part { id, index, count, data } => {
                counters.part_received();
                let Some((whole, wire_len)) = self.accept_part(id, index, count, data, bytes.len())? else {
                    return Ok(None);
                };
                let frame = Frame::decode(&whole).map_err(|error| Violation::UndecodableReassembled { id, error })?;
                if matches!(frame, Frame::Part { .. }) {
                    return Err(Violation::NestedPart { id });
                }
                Ok(Some(Received { frame, wire_len }))
            }
            whole => Ok(Some(Received { frame: whole, wire_len: bytes.len() })),
        }
    }

    /// Adds one part; returns the whole frame's bytes and wire length once its last part arrived.
    fn accept_part(
        &mut self,
        id: u64,
        index: u32,
        count: u32,
        data: Vec<u8>,
        wire_len: usize,
    ) -> Result<Option<(Vec<u8>, usize)>, Violation> {
        let limits = self.limits;
        if data.is_empty() {
            return Err(Violation::EmptyPart { id, index });
        }
        if data.len() > limits.part_size {
            return Err(Violation::PartTooLarge { id, len: data.len(), limit: limits.part_size });
        }
        if count > limits.max_parts() {
            return Err(Violation::TooManyParts { id, count, limit: limits.max_parts() });
        }
        let (len_so_far, wire_so_far) = match self.partial.get(&id) {
            None if index != 0 => return Err(Violation::PartOutOfSequence { id, expected: None, got: index }),
            None if count == 1 => return Ok(Some((data, wire_len))), // a whole frame in one part
            None if self.partial.len() >= limits.max_partial_frames => {
                return Err(Violation::TooManyPartialFrames { limit: limits.max_partial_frames })
            }
            None => (0, 0),
            Some(partial) => {
                let expected = partial.data.len() as u32;
                if index != expected {
                    return Err(Violation::PartOutOfSequence { id, expected: Some(expected), got: index });
                }
                if count != partial.count {
                    return Err(Violation::PartCountMismatch { id, first: partial.count, got: count });
                }
                (partial.len, partial.wire_len)
            }
        };
        let len = len_so_far + data.len();
        if len > limits.max_frame_len {
            return Err(Violation::ReassembledFrameTooLarge { id, len, limit: limits.max_frame_len });
        }
        if index + 1 == count {
            let partial = self.partial.remove(&id).expect("a last part with index > 0 continues a partial frame");
            self.buffered -= partial.len;
            let mut whole = Vec::with_capacity(len);
            partial.data.iter().chain([&data]).for_each(|piece| whole.extend_from_slice(piece));
            return Ok(Some((whole, wire_so_far + wire_len)));
        }
        if self.buffered + data.len() > limits.max_bytes {
            return Err(Violation::ReassemblyBudgetExceeded { limit: limits.max_bytes });
        }
        self.buffered += data.len();
        let partial = self.partial.entry(id).or_insert(Partial { count, data: Vec::new(), len: 0, wire_len: 0 });
        partial.len = len;
        partial.wire_len += wire_len;
        partial.data.push(data);
        Ok(None)
    }
}
