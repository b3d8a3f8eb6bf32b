//! A [`PeerLink`](super::PeerLink)'s limits, with presets.

use std::time::Duration;

use crate::codec::DEFAULT_MAX_FRAME_LEN;
use crate::node::priority::{Priority, QueueTable};

use super::outbound::PART_OVERHEAD;

/// The part size WIRE.md names as the default: 64 KiB of a frame's encoding per `Part`. With a
/// transport's unsent bound K, a vote waits at most K plus one part behind a large frame.
pub const DEFAULT_PART_SIZE: usize = 64 * 1024;

/// Everything that bounds one [`PeerLink`](super::PeerLink). Start from a preset and change single
/// fields with a reason.
///
/// ```
/// use quorumnet_core::node::link::PeerLinkConfig;
/// use quorumnet_core::node::priority::Priority;
///
/// let config = PeerLinkConfig::recommended();
/// assert_eq!(config.part_size, 64 * 1024);
/// assert_eq!(config.max_partial_frames, Priority::COUNT);
/// ```
///
/// The part size and reassembly bounds are network-wide: a receiver rejects parts above *its*
/// `part_size`, more than `⌈max_frame_len / part_size⌉` parts per frame, and partial frames beyond
/// *its* bounds, so every validator should use the same values (the presets all do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerLinkConfig {
    /// Most bytes of a frame's encoding in one `Part`. A frame whose encoding is longer is sent as
    /// parts; the writer looks for more urgent frames between two parts.
    pub part_size: usize,
    /// Each priority's outbound queue bound and what happens at it.
    pub queues: QueueTable,
    /// Most frames a peer may have partly sent at once. A sender has at most one partial frame per
    /// priority, and never starts more than this many, so `Priority::COUNT` never rejects an honest peer.
    pub max_partial_frames: usize,
    /// Most bytes held for reassembly at once (all partial frames together). At least the connection's
    /// frame limit. A sender never starts a partial frame that would take the frames it has partly sent
    /// (counted whole) past this, so honest peers with the same value never exceed it.
    pub max_reassembly_bytes: usize,
    /// Most bytes of received frames delivered as events but not yet dropped by the node. When it is
    /// used up the link stops reading from the connection (backpressure to the peer) until events are
    /// consumed. One frame larger than this is still delivered, alone.
    pub max_undelivered_bytes: usize,
    /// Capacity, in events, of the channel [`PeerLink::spawn`](super::PeerLink::spawn) creates.
    pub event_capacity: usize,
    /// How long closing waits for the connection to flush what it accepted before the link gives up.
    pub close_timeout: Duration,
}

impl PeerLinkConfig {
    /// For validators on the open internet: 64 KiB parts (WIRE.md's default); two whole 4 MiB frames
    /// in reassembly (a proposal overtaking a bulk frame); 8 MiB of undelivered frames per peer; 1 024
    /// events (votes are small); 5 s to flush on close, a long intercontinental round trip with loss.
    pub fn recommended() -> Self {
        PeerLinkConfig {
            part_size: DEFAULT_PART_SIZE,
            queues: QueueTable::recommended(),
            max_partial_frames: Priority::COUNT,
            max_reassembly_bytes: 2 * DEFAULT_MAX_FRAME_LEN,
            max_undelivered_bytes: 2 * DEFAULT_MAX_FRAME_LEN,
            event_capacity: 1024,
            close_timeout: Duration::from_secs(5),
        }
    }

    /// For a devnet on one machine or LAN: as recommended, but a close flushes within 1 s.
    pub fn local() -> Self {
        PeerLinkConfig { close_timeout: Duration::from_secs(1), ..Self::recommended() }
    }

    /// For tests: small queues ([`QueueTable::test`]) so bounds are reached with a few frames, 64
    /// events, and a 1 s close.
    pub fn test() -> Self {
        PeerLinkConfig {
            queues: QueueTable::test(),
            event_capacity: 64,
            close_timeout: Duration::from_secs(1),
            ..Self::recommended()
        }
    }

    /// Checks the config against a connection's frame limit.
    ///
    /// # Errors
    /// [`InvalidConfig`] naming the first field that cannot work.
    pub fn validate(&self, max_frame_len: usize) -> Result<(), InvalidConfig> {
        let invalid = |field, reason: String| Err(InvalidConfig { field, reason });
        if self.part_size == 0 || self.part_size + PART_OVERHEAD > max_frame_len {
            return invalid(
                "part_size",
                format!(
                    "{} must be at least 1 and leave {PART_OVERHEAD} bytes of part header within the \
                     connection's {max_frame_len}-byte frame limit",
                    self.part_size
                ),
            );
        }
        if self.max_reassembly_bytes < max_frame_len {
            return invalid(
                "max_reassembly_bytes",
                format!("{} is below the connection's frame limit {max_frame_len}", self.max_reassembly_bytes),
            );
        }
        if self.max_partial_frames == 0 {
            return invalid("max_partial_frames", "must be at least 1".into());
        }
        if self.max_undelivered_bytes == 0 || u32::try_from(self.max_undelivered_bytes).is_err() {
            return invalid("max_undelivered_bytes", format!("{} must be 1 ..= u32::MAX", self.max_undelivered_bytes));
        }
        if self.event_capacity == 0 {
            return invalid("event_capacity", "must be at least 1".into());
        }
        if let Some((priority, _)) = self.queues.iter().find(|(_, limit)| limit.max_frames == 0) {
            return invalid("queues", format!("the {priority} queue must hold at least 1 frame"));
        }
        Ok(())
    }
}

impl Default for PeerLinkConfig {
    fn default() -> Self {
        Self::recommended()
    }
}

/// A [`PeerLinkConfig`] that cannot work with the connection it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid peer link config: {field}: {reason}")]
pub struct InvalidConfig {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}
