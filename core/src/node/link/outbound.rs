//! The outbound side's state: one bounded queue per priority, and which frame or part goes next.
//!
//! The writer asks [`Outbound::choose`] for the next unit — a whole frame, or the next part of a large
//! one — builds its bytes outside the lock, hands them to the connection, and only once the connection
//! accepted them calls [`Outbound::commit`]. Until then nothing changed, so a send the writer abandons
//! for a more urgent frame (the connection's `send` is cancel-safe) is simply chosen again later.

use std::collections::VecDeque;

use bytes::Bytes;
use serde::{Serialize, Serializer};

use crate::codec;
use crate::node::priority::{PerPriority, Priority, QueueTable, WhenFull};

/// The most bytes a `Part` frame's encoding adds around its data: the map headers, the four keys, a
/// u64 id, two u32s and the byte-string header (51 bytes at most), rounded up.
pub const PART_OVERHEAD: usize = 64;

/// Frames and bytes waiting in one queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Depth {
    /// Frames queued (a frame being sent in parts counts until its last part went out).
    pub frames: usize,
    /// Bytes of their encodings.
    pub bytes: usize,
}

/// One queued frame: its encoding, and how far sending it in parts got.
struct Queued {
    frame: Bytes,
    /// Set once its first part went out.
    parts: Option<PartProgress>,
}

#[derive(Clone, Copy)]
struct PartProgress {
    id: u64,
    next: u32,
}

/// What the writer sends next.
#[derive(Clone, Debug)]
pub(super) struct Unit {
    pub priority: Priority,
    frame: Bytes,
    piece: Piece,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    Whole,
    Part { id: u64, index: u32, count: u32 },
}

/// What committing a unit finished.
pub(super) struct Committed {
    /// The whole frame has now gone out (its last part, or it was sent whole).
    pub frame_done: bool,
    /// It was a part.
    pub was_part: bool,
}

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    Full(WhenFull),
    Closed,
}

pub(super) struct Outbound {
    queues: PerPriority<VecDeque<Queued>>,
    depth: PerPriority<Depth>,
    limits: QueueTable,
    part_size: usize,
    max_partial_frames: usize,
    max_partial_bytes: usize,
    /// Frames whose first part went out and whose last has not, and their whole lengths.
    partial_frames: usize,
    partial_bytes: usize,
    next_part_id: u64,
    closed: bool,
}

impl Outbound {
    pub fn new(limits: QueueTable, part_size: usize, max_partial_frames: usize, max_partial_bytes: usize) -> Self {
        Outbound {
            queues: PerPriority::default(),
            depth: PerPriority::default(),
            limits,
            part_size,
            max_partial_frames,
            max_partial_bytes,
            partial_frames: 0,
            partial_bytes: 0,
            next_part_id: 0,
            closed: false,
        }
    }

    /// Open with nothing queued (so nothing is being sent either: a unit leaves its queue only once
    /// the connection accepted it).
    pub fn is_idle(&self) -> bool {
        !self.closed && self.queues.0.iter().all(VecDeque::is_empty)
    }

    /// Queues `frame` if its queue has room (an empty queue always has).
    pub fn push(&mut self, frame: &Bytes, priority: Priority) -> Result<(), Refused> {
        if self.closed {
            return Err(Refused::Closed);
        }
        let (limit, depth) = (self.limits[priority], self.depth[priority]);
        let fits = depth.frames < limit.max_frames && depth.bytes + frame.len() <= limit.max_bytes;
        if depth.frames > 0 && !fits {
            return Err(Refused::Full(limit.when_full));
        }
        self.queues[priority].push_back(Queued { frame: frame.clone(), parts: None });
        self.depth[priority].frames += 1;
        self.depth[priority].bytes += frame.len();
        Ok(())
    }

    /// The next unit, from the most urgent queue that can send one: a whole frame, the next part of a
    /// frame being sent in parts, or the first part of a large frame — if starting it keeps the partial
    /// frames within the receiver's reassembly bounds (otherwise that queue waits and less urgent
    /// queues, whose partial frames will free those bounds, go first).
    pub fn choose(&self) -> Option<Unit> {
        Priority::ALL.into_iter().find_map(|priority| {
            let head = self.queues[priority].front()?;
            let len = head.frame.len();
            let piece = if len <= self.part_size {
                Piece::Whole
            } else {
                let count = u32::try_from(len.div_ceil(self.part_size)).expect("frame limit fits u32 parts");
                match head.parts {
                    Some(progress) => Piece::Part { id: progress.id, index: progress.next, count },
                    None if self.can_start_partial(len) => Piece::Part { id: self.next_part_id, index: 0, count },
                    None => return None,
                }
            };
            Some(Unit { priority, frame: head.frame.clone(), piece })
        })
    }

    fn can_start_partial(&self, len: usize) -> bool {
        self.partial_frames < self.max_partial_frames && self.partial_bytes + len <= self.max_partial_bytes
    }

    /// Records that the connection accepted `unit` (as [`Self::choose`] returned it, with nothing
    /// chosen in between).
    pub fn commit(&mut self, unit: &Unit) -> Committed {
        let queue = &mut self.queues[unit.priority];
        let head = queue.front_mut().expect("a committed unit is the head of its queue");
        debug_assert!(head.frame.as_ptr() == unit.frame.as_ptr(), "committed unit is not its queue's head");
        let frame_done = match unit.piece {
            Piece::Whole => true,
            Piece::Part { id, index, count } => {
                if index == 0 {
                    self.next_part_id += 1;
                    self.partial_frames += 1;
                    self.partial_bytes += unit.frame.len();
                }
                head.parts = Some(PartProgress { id, next: index + 1 });
                let last = index + 1 == count;
                if last {
                    self.partial_frames -= 1;
                    self.partial_bytes -= unit.frame.len();
                }
                last
            }
        };
        if frame_done {
            queue.pop_front();
            self.depth[unit.priority].frames -= 1;
            self.depth[unit.priority].bytes -= unit.frame.len();
        }
        Committed { frame_done, was_part: matches!(unit.piece, Piece::Part { .. }) }
    }

    /// Frames and bytes waiting per priority.
    pub fn depth(&self) -> PerPriority<Depth> {
        self.depth
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Refuses further frames and discards the queued ones.
    pub fn close(&mut self) {
        self.closed = true;
        self.queues = PerPriority::default();
        self.depth = PerPriority::default();
    }
}

impl Unit {
    /// The bytes to hand to the connection: the frame itself, or one `Part` frame around a slice of it.
    pub fn encode(&self, part_size: usize) -> Bytes {
        match self.piece {
            Piece::Whole => self.frame.clone(),
            Piece::Part { id, index, count } => {
                let start = index as usize * part_size;
                let end = (start + part_size).min(self.frame.len());
                encode_part(id, index, count, &self.frame[start..end])
            }
        }
    }
}

/// `Frame::Part` with borrowed data, so a part is encoded straight from a slice of the whole frame's
/// encoding. Same variant and field names, so the same bytes as `Frame::Part { .. }.encode()`.
#[derive(Serialize)]
enum PartFrame<'a> {
    Part {
        id: u64,
        index: u32,
        count: u32,
        #[serde(serialize_with = "serialize_bstr")]
        data: &'a [u8],
    },
}

fn serialize_bstr<S: Serializer>(data: &&[u8], serializer: S) -> Result<S::Ok, S::Error> {
    codec::bytes::bstr::serialize(data, serializer)
}

/// The encoding of `Frame::Part { id, index, count, data }`, copying `data` once, into the part frame
/// (a [`Connection`](crate::transport::Connection) takes one contiguous buffer per frame).
pub(super) fn encode_part(id: u64, index: u32, count: u32, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + PART_OVERHEAD);
    codec::encode_into(&PartFrame::Part { id, index, count, data }, &mut out);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Frame;

    #[test]
    fn part_encoding_matches_the_frame_encoding_and_stays_within_the_overhead() {
        for (id, index, count, len) in [(0, 0, 1, 1), (7, 1, 3, 3), (u64::MAX, u32::MAX - 1, u32::MAX, 65_536)] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let ours = encode_part(id, index, count, &data);
            assert_eq!(ours[..], Frame::Part { id, index, count, data: data.clone() }.encode()[..]);
            assert!(ours.len() <= data.len() + PART_OVERHEAD, "{} > {} + overhead", ours.len(), data.len());
        }
    }

    fn outbound(max_partial_frames: usize, max_partial_bytes: usize) -> Outbound {
        Outbound::new(QueueTable::test(), 10, max_partial_frames, max_partial_bytes)
    }

    fn send_all(out: &mut Outbound) -> Vec<(Priority, Piece)> {
        std::iter::from_fn(|| {
            let unit = out.choose()?;
            out.commit(&unit);
            Some((unit.priority, unit.piece))
        })
        .collect()
    }

    #[test]
    fn a_large_frame_goes_out_in_parts_with_per_link_ids() {
        let mut out = outbound(5, 1000);
        out.push(&Bytes::from(vec![1; 25]), Priority::Bulk).unwrap();
        out.push(&Bytes::from(vec![2; 11]), Priority::Bulk).unwrap();
        let pieces: Vec<_> = send_all(&mut out).into_iter().map(|(_, piece)| piece).collect();
        let part = |id, index, count| Piece::Part { id, index, count };
        assert_eq!(pieces, [part(0, 0, 3), part(0, 1, 3), part(0, 2, 3), part(1, 0, 2), part(1, 1, 2)]);
        assert_eq!(out.depth()[Priority::Bulk], Depth::default());
    }

    #[test]
    fn a_partial_frame_that_would_exceed_the_reassembly_budget_waits_for_less_urgent_ones() {
        let mut out = outbound(5, 30);
        out.push(&Bytes::from(vec![1; 25]), Priority::Bulk).unwrap();
        let first = out.choose().unwrap();
        out.commit(&first);
        out.push(&Bytes::from(vec![2; 25]), Priority::Proposal).unwrap();
        let order: Vec<_> = send_all(&mut out).into_iter().map(|(priority, _)| priority).collect();
        assert_eq!(order, [Priority::Bulk, Priority::Bulk, Priority::Proposal, Priority::Proposal, Priority::Proposal]);
    }

    #[test]
    fn full_queues_refuse_with_their_policy_and_closed_ones_refuse_everything() {
        let mut out = outbound(5, 1000);
        let one = Bytes::from_static(b"x");
        for _ in 0..8 {
            out.push(&one, Priority::Vote).unwrap();
            out.push(&one, Priority::Bulk).unwrap();
        }
        assert_eq!(out.push(&one, Priority::Vote), Err(Refused::Full(WhenFull::Wait)));
        assert_eq!(out.push(&one, Priority::Bulk), Err(Refused::Full(WhenFull::DropNewest)));
        out.close();
        assert_eq!(out.push(&one, Priority::Liveness), Err(Refused::Closed));
        assert!(out.choose().is_none());
    }
}
