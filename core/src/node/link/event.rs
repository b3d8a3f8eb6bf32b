//! What a [`PeerLink`](super::PeerLink) reports: received frames, why it closed, and why a send failed.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use crate::codec::CodecError;
use crate::identity::ValidatorId;
use crate::message::Frame;
use crate::node::priority::Priority;
use crate::transport::TransportError;

/// A link's number, unique within the process: tells a closed link from its replacement to the same peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u64);

impl LinkId {
    pub(super) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        LinkId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl std::fmt::Display for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "link-{}", self.0)
    }
}

/// What a link tells the node, in order: every received frame, then exactly one `Closed`, last.
#[derive(Debug)]
pub enum LinkEvent {
    /// A whole frame from the peer (reassembled from its parts if it came in parts).
    Frame(InboundFrame),
    /// The link ended; nothing follows. A [`CloseReason::ProtocolViolation`] is the peer's fault and
    /// is what reputation scoring charges it with.
    Closed {
        /// Which link.
        link: LinkId,
        /// The peer it connected to.
        peer: ValidatorId,
        /// Why it ended.
        reason: CloseReason,
    },
}

/// A frame received from a peer.
///
/// Holding it holds part of its link's undelivered-bytes budget
/// ([`PeerLinkConfig::max_undelivered_bytes`](super::PeerLinkConfig::max_undelivered_bytes)): drop it,
/// or move the frame out ([`InboundFrame::into_frame`]), once it is handled, or the link stops reading.
#[derive(Debug)]
pub struct InboundFrame {
    /// Which link it came over.
    pub link: LinkId,
    /// The authenticated peer that sent it (the forwarder, not necessarily the envelope's origin).
    pub peer: ValidatorId,
    /// The frame.
    pub frame: Frame,
    /// When its last byte was received (for a reassembled frame, when its last part was).
    pub received_at: Instant,
    /// Bytes it took on the connection: its encoding, or the sum of its parts' encodings.
    pub wire_len: usize,
    pub(super) _credit: OwnedSemaphorePermit,
}

impl InboundFrame {
    /// The frame, releasing its share of the link's undelivered-bytes budget.
    pub fn into_frame(self) -> Frame {
        self.frame
    }
}

/// Why a link ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    /// [`PeerLink::close`](super::PeerLink::close) was called.
    #[error("closed locally")]
    Local,
    /// The peer closed the connection cleanly.
    #[error("the peer closed the connection")]
    PeerClosed,
    /// The connection failed (reset, broken pipe, timeout). Reconnect.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// The peer broke the wire protocol: score it, and the link closed the connection.
    #[error("protocol violation: {0}")]
    ProtocolViolation(Violation),
    /// The receiver of the link's events was dropped: nobody would see what the peer sends.
    #[error("the link's event receiver was dropped")]
    EventsDropped,
}

impl CloseReason {
    /// What a failed `send` or `recv` on the connection means for the link.
    pub(super) fn from_transport(error: TransportError) -> Self {
        match error {
            TransportError::ProtocolViolation { reason, .. } => {
                CloseReason::ProtocolViolation(Violation::Transport(reason))
            }
            TransportError::Closed => CloseReason::Local,
            other => CloseReason::ConnectionLost(other.to_string()),
        }
    }
}

/// How a peer broke the wire protocol (WIRE.md §5, `docs/wire.md` §5, and the reassembly bounds of
/// [`PeerLinkConfig`](super::PeerLinkConfig)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// A frame that does not decode (an unknown variant included).
    #[error("undecodable frame: {0}")]
    Undecodable(CodecError),
    /// The concatenated parts of a frame do not decode.
    #[error("parts of frame {id} reassemble to an undecodable frame: {error}")]
    UndecodableReassembled {
        /// The part id.
        id: u64,
        /// Why the whole frame did not decode.
        error: CodecError,
    },
    /// Parts reassembled into another `Part`: parts do not nest.
    #[error("parts of frame {id} reassemble to another part: parts do not nest")]
    NestedPart {
        /// The part id.
        id: u64,
    },
    /// A part with no data.
    #[error("part {index} of frame {id} is empty")]
    EmptyPart {
        /// The part id.
        id: u64,
        /// Its index.
        index: u32,
    },
    /// A part carrying more than the part size.
    #[error("part of frame {id} carries {len} bytes, above the {limit}-byte part size")]
    PartTooLarge {
        /// The part id.
        id: u64,
        /// Bytes of data it carried.
        len: usize,
        /// The part size.
        limit: usize,
    },
    /// A `count` no frame within the frame limit needs.
    #[error("frame {id} announces {count} parts; a frame within the frame limit needs at most {limit}")]
    TooManyParts {
        /// The part id.
        id: u64,
        /// The announced count.
        count: u32,
        /// ⌈max frame length / part size⌉.
        limit: u32,
    },
    /// A part that is not the next one of its frame: a gap, a repeat, a reused id, or a continuation
    /// of a frame that was never started.
    #[error("part {got} of frame {id} is out of sequence (expected {})", expected.map_or("a first part (index 0)".to_string(), |i| format!("index {i}")))]
    PartOutOfSequence {
        /// The part id.
        id: u64,
        /// The index that would have been in sequence; `None` when no frame with this id is in flight.
        expected: Option<u32>,
        /// The index received.
        got: u32,
    },
    /// A part whose `count` differs from its frame's first part.
    #[error("part of frame {id} says {got} parts, its first part said {first}")]
    PartCountMismatch {
        /// The part id.
        id: u64,
        /// The count of part 0.
        first: u32,
        /// The count of this part.
        got: u32,
    },
    /// A new partial frame while the maximum number are already in flight.
    #[error("more than {limit} partial frames in flight")]
    TooManyPartialFrames {
        /// [`PeerLinkConfig::max_partial_frames`](super::PeerLinkConfig::max_partial_frames).
        limit: usize,
    },
    /// Partial frames holding more than the reassembly budget.
    #[error("partial frames would hold more than the {limit}-byte reassembly budget")]
    ReassemblyBudgetExceeded {
        /// [`PeerLinkConfig::max_reassembly_bytes`](super::PeerLinkConfig::max_reassembly_bytes).
        limit: usize,
    },
    /// A frame whose parts add up to more than the frame limit.
    #[error("parts of frame {id} add up to {len} bytes, above the {limit}-byte frame limit")]
    ReassembledFrameTooLarge {
        /// The part id.
        id: u64,
        /// Bytes so far, this part included.
        len: usize,
        /// The connection's frame limit.
        limit: usize,
    },
    /// The transport found the violation (an empty or oversize frame on the wire).
    #[error("{0}")]
    Transport(String),
}

/// Why a frame was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The link is closed (or closing); nothing more is sent.
    #[error("the link is closed")]
    Closed,
    /// The priority's queue is full and drops new frames: this one was dropped and counted.
    #[error("the {0} queue is full: frame dropped")]
    Dropped(Priority),
    /// `try_send` to a full queue whose senders wait: nothing was queued, try again later.
    #[error("the {0} queue is full")]
    Full(Priority),
    /// A frame the connection could never carry, even in parts.
    #[error("frame of {len} bytes exceeds the {limit}-byte frame limit")]
    FrameTooLarge {
        /// Its encoding's length.
        len: usize,
        /// The connection's frame limit.
        limit: usize,
    },
    /// An empty encoding.
    #[error("frame is empty")]
    EmptyFrame,
    /// A `Part` frame: the link makes parts itself, with its own ids.
    #[error("a link splits frames into parts itself: send the whole frame")]
    PartNotAllowed,
}
