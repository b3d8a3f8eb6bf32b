//! Per-link counters, and the snapshot [`LinkStats`] a node reads.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::node::priority::{PerPriority, Priority};

use super::outbound::Depth;

/// Frames and the bytes they took on the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Whole frames (a frame sent or received in parts counts once, when its last part did).
    pub frames: u64,
    /// Bytes handed to or received from the connection, part headers included.
    pub bytes: u64,
}

/// A snapshot of one link's counters since it started.
///
/// Frames are counted under their priority: sent ones under the priority they were queued with,
/// received ones under [`Priority::of`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Accepted by the connection, per priority.
    pub sent: PerPriority<Traffic>,
    /// Received whole (reassembled if in parts) and delivered as events, per priority.
    pub received: PerPriority<Traffic>,
    /// Refused at a full queue whose policy drops new frames, per priority.
    pub dropped: PerPriority<u64>,
    /// `Part` frames accepted by the connection.
    pub parts_sent: u64,
    /// `Part` frames received.
    pub parts_received: u64,
    /// Sends the writer abandoned (cancel-safely) because a more urgent frame was queued meanwhile.
    pub preempted_sends: u64,
    /// Frames and bytes waiting in each queue right now.
    pub queued: PerPriority<Depth>,
}

#[derive(Default)]
struct AtomicTraffic {
    frames: AtomicU64,
    bytes: AtomicU64,
}

impl AtomicTraffic {
    fn load(&self) -> Traffic {
        Traffic { frames: self.frames.load(Ordering::Relaxed), bytes: self.bytes.load(Ordering::Relaxed) }
    }
}

/// The live counters, shared by a link's handle and its task.
#[derive(Default)]
pub(super) struct Counters {
    sent: PerPriority<AtomicTraffic>,
    received: PerPriority<AtomicTraffic>,
    dropped: PerPriority<AtomicU64>,
    parts_sent: AtomicU64,
    parts_received: AtomicU64,
    preempted_sends: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    /// The connection accepted `wire_len` bytes of a `priority` frame: a part, possibly its last.
    pub fn sent(&self, priority: Priority, wire_len: usize, was_part: bool, frame_done: bool) {
        add(&self.sent[priority].bytes, wire_len as u64);
        add(&self.sent[priority].frames, u64::from(frame_done));
        add(&self.parts_sent, u64::from(was_part));
    }

    /// A whole `priority` frame arrived, over `wire_len` bytes.
    pub fn received(&self, priority: Priority, wire_len: usize) {
        add(&self.received[priority].frames, 1);
        add(&self.received[priority].bytes, wire_len as u64);
    }

    pub fn part_received(&self) {
        add(&self.parts_received, 1);
    }

    pub fn dropped(&self, priority: Priority) {
        add(&self.dropped[priority], 1);
    }

    pub fn preempted(&self) {
        add(&self.preempted_sends, 1);
    }

    pub fn snapshot(&self, queued: PerPriority<Depth>) -> LinkStats {
        LinkStats {
            sent: PerPriority::from_fn(|p| self.sent[p].load()),
            received: PerPriority::from_fn(|p| self.received[p].load()),
            dropped: PerPriority::from_fn(|p| self.dropped[p].load(Ordering::Relaxed)),
            parts_sent: self.parts_sent.load(Ordering::Relaxed),
            parts_received: self.parts_received.load(Ordering::Relaxed),
            preempted_sends: self.preempted_sends.load(Ordering::Relaxed),
            queued,
        }
    }
}
