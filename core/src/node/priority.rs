//! Traffic priorities and the one table that bounds each priority's outbound queue.
//!
//! Every frame a node sends to a peer waits in that peer's queue for its [`Priority`]; the link's
//! writer always takes the most urgent non-empty queue (`Vote > Proposal > Liveness > Discovery >
//! Bulk`) and splits large frames into parts so a vote never waits behind a whole proposal.
//!
//! [`QueueTable::recommended`] is the single declaration of what each queue holds and what happens at
//! its bound (CometBFT declares its channels the same way):
//!
//! | priority | frames | bytes | at the bound | why |
//! | --- | --- | --- | --- | --- |
//! | `Vote` | 4 096 | 16 MiB | the sender waits | a lost vote can stall a round; 4 096 votes ≈ 3 heights × 3 phases of a 400-validator set (≈ 3.4 KiB each with ML-DSA signatures) |
//! | `Proposal` | 8 | 16 MiB | the sender waits | a lost proposal costs a round; four 4 MiB proposals cover a round change on top of the current one |
//! | `Liveness` | 64 | 256 KiB | newest dropped, counted | a heartbeat or ping is superseded by the next one |
//! | `Discovery` | 256 | 1 MiB | newest dropped, counted | address records are re-announced periodically |
//! | `Bulk` | 64 | 16 MiB | newest dropped, counted | catch-up data is re-requested by whoever needs it |
//!
//! **Why the sender waits for votes and proposals.** Dropping them silently would turn congestion into
//! consensus failure; waiting turns it into backpressure the engine can see (its `send` is slow), and
//! [`PeerLink::try_send`](super::link::PeerLink::try_send) lets a broadcaster skip one slow peer
//! instead of waiting on it. **Why the newest is dropped elsewhere**: the caller learns at once, from
//! the `Err`, exactly which frame was not queued, and frames already queued keep their order; dropping
//! the oldest instead would lose a frame the caller believed queued.
//!
//! An empty queue accepts any frame up to the connection's limit, so a bound smaller than one frame
//! delays that frame but never refuses it forever.

use std::ops::{Index, IndexMut};

use crate::message::{Frame, MessageKind};

/// How urgent a frame is. Ordered: `Vote` is the greatest.
///
/// ```
/// use quorumnet_core::message::Frame;
/// use quorumnet_core::node::priority::Priority;
///
/// assert!(Priority::Vote > Priority::Proposal && Priority::Discovery > Priority::Bulk);
/// assert_eq!(Priority::of(&Frame::Ping { nonce: 1 }), Priority::Liveness);
/// assert_eq!(Priority::ALL[0], Priority::Vote); // most urgent first
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Catch-up data and anything else that may wait.
    Bulk,
    /// Peer and address discovery.
    Discovery,
    /// Heartbeats, pings and pongs.
    Liveness,
    /// Block proposals.
    Proposal,
    /// Pre-votes, pre-commits, commits and acknowledgements.
    Vote,
}

impl Priority {
    /// How many priorities there are.
    pub const COUNT: usize = 5;

    /// Every priority, most urgent first: the order the writer scans its queues in.
    pub const ALL: [Priority; Priority::COUNT] =
        [Priority::Vote, Priority::Proposal, Priority::Liveness, Priority::Discovery, Priority::Bulk];

    /// The priority's position in [`Self::ALL`] (0 = most urgent).
    pub const fn rank(self) -> usize {
        match self {
            Priority::Vote => 0,
            Priority::Proposal => 1,
            Priority::Liveness => 2,
            Priority::Discovery => 3,
            Priority::Bulk => 4,
        }
    }

    /// The name used in logs and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Priority::Vote => "vote",
            Priority::Proposal => "proposal",
            Priority::Liveness => "liveness",
            Priority::Discovery => "discovery",
            Priority::Bulk => "bulk",
        }
    }

    /// The default priority of a frame.
    ///
    /// Pre-votes, pre-commits, commits and [`Frame::Ack`] are `Vote`; proposals `Proposal`; heartbeats,
    /// [`Frame::Ping`], [`Frame::Pong`], [`Frame::Have`], [`Frame::Want`] and [`Frame::Prune`] `Liveness`; address records
    /// `Discovery`. The kind of an envelope's message is read from the
    /// first key of its payload, without decoding the payload (a proposal may be megabytes); a payload
    /// whose kind cannot be read is `Bulk`, the least harmful place for bytes the receiver will reject.
    /// A stray [`Frame::Part`] is `Bulk` too: links make parts themselves and never queue one.
    ///
    /// Every frame variant is named here on purpose: a new variant does not compile until someone
    /// decides its priority.
    pub fn of(frame: &Frame) -> Priority {
        match frame {
            Frame::Envelope(envelope) | Frame::Reliable(envelope) => match payload_kind(&envelope.payload) {
                Some(kind) => Self::of_kind(kind),
                None => Priority::Bulk,
            },
            Frame::Ack { .. } => Priority::Vote,
            Frame::Ping { .. } | Frame::Pong { .. } => Priority::Liveness,
            Frame::Part { .. } => Priority::Bulk,
            // Digests and repair requests are small and keep gossip repair moving, but never delay a
            // proposal; the envelopes sent in answer take their own kind's priority.
            Frame::Have { .. } | Frame::Want { .. } => Priority::Liveness,
            // Shapes the broadcast trees: small, and worth one duplicate saved per message after it.
            Frame::Prune { .. } => Priority::Liveness,
        }
    }

    /// The priority of an envelope carrying a message of `kind`.
    pub const fn of_kind(kind: MessageKind) -> Priority {
        match kind {
            MessageKind::PreVote | MessageKind::PreCommit | MessageKind::Commit => Priority::Vote,
            // Evidence is rare and changes whose votes count: ahead of liveness, behind votes.
            // A large proposal's header and parts are proposal traffic: votes still overtake every part.
            MessageKind::Proposal | MessageKind::ProposalHeader | MessageKind::ProposalPart | MessageKind::Evidence => {
                Priority::Proposal
            }
            MessageKind::Heartbeat => Priority::Liveness,
            MessageKind::AddressRecord => Priority::Discovery,
        }
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The message kind named by the first key of an externally tagged CBOR payload (`{"PreVote": ...}`),
/// or `None` if the bytes do not start that way or name no known kind.
pub(crate) fn payload_kind(payload: &[u8]) -> Option<MessageKind> {
    let name = variant_name(payload)?;
    MessageKind::ALL.into_iter().find(|kind| kind.name().as_bytes() == name)
}

/// The variant name of an externally tagged CBOR enum (`{"Variant": ...}`): the text-string key right
/// after a one-entry map header, or `None` if the bytes do not start that way. Reads at most a few
/// header bytes and the name: cheap enough to classify a multi-megabyte frame.
pub(crate) fn variant_name(cbor: &[u8]) -> Option<&[u8]> {
    const ONE_ENTRY_MAP: u8 = 0xa1;
    const TEXT_MAJOR: u8 = 3;
    const ONE_BYTE_LENGTH: u8 = 24;
    let (&map, rest) = cbor.split_first()?;
    let (&head, rest) = rest.split_first()?;
    if map != ONE_ENTRY_MAP || head >> 5 != TEXT_MAJOR {
        return None;
    }
    let (len, rest) = match head & 0x1f {
        short if short < ONE_BYTE_LENGTH => (usize::from(short), rest),
        ONE_BYTE_LENGTH => {
            let (&len, rest) = rest.split_first()?;
            (usize::from(len), rest)
        }
        _ => return None, // variant names are short; longer length forms are not ours
    };
    rest.get(..len)
}

/// What happens when a frame arrives at a full queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenFull {
    /// `send` waits until the writer made room (`try_send` returns `Full`).
    Wait,
    /// The new frame is refused with `Dropped` and counted in the link's drops.
    DropNewest,
}

/// The bound of one priority's queue, counted over frames waiting to be sent (a frame being sent in
/// parts counts until its last part went out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLimit {
    /// Most frames queued.
    pub max_frames: usize,
    /// Most bytes (of frame encodings) queued. An empty queue accepts one frame of any size.
    pub max_bytes: usize,
    /// What a full queue does with a new frame.
    pub when_full: WhenFull,
}

/// One value per priority, indexed by [`Priority`].
///
/// ```
/// use quorumnet_core::node::priority::{PerPriority, Priority};
///
/// let mut drops = PerPriority::<u64>::default();
/// drops[Priority::Bulk] += 1;
/// assert_eq!(drops.iter().map(|(_, n)| *n).sum::<u64>(), 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerPriority<T>(pub [T; Priority::COUNT]);

impl<T> PerPriority<T> {
    /// Builds each priority's value with `f`.
    pub fn from_fn(mut f: impl FnMut(Priority) -> T) -> Self {
        PerPriority(Priority::ALL.map(&mut f))
    }

    /// `(priority, value)` pairs, most urgent first.
    pub fn iter(&self) -> impl Iterator<Item = (Priority, &T)> {
        Priority::ALL.into_iter().zip(self.0.iter())
    }
}

impl<T> Index<Priority> for PerPriority<T> {
    type Output = T;

    fn index(&self, priority: Priority) -> &T {
        &self.0[priority.rank()]
    }
}

impl<T> IndexMut<Priority> for PerPriority<T> {
    fn index_mut(&mut self, priority: Priority) -> &mut T {
        &mut self.0[priority.rank()]
    }
}

/// Every priority's queue bound: see the [module documentation](self) for the table and its reasons.
pub type QueueTable = PerPriority<QueueLimit>;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

impl QueueTable {
    /// The table in the [module documentation](self): the one place these numbers are declared.
    pub fn recommended() -> Self {
        let limit = |max_frames, max_bytes, when_full| QueueLimit { max_frames, max_bytes, when_full };
        PerPriority::from_fn(|priority| match priority {
            Priority::Vote => limit(4096, 16 * MIB, WhenFull::Wait),
            Priority::Proposal => limit(8, 16 * MIB, WhenFull::Wait),
            Priority::Liveness => limit(64, 256 * KIB, WhenFull::DropNewest),
            Priority::Discovery => limit(256, MIB, WhenFull::DropNewest),
            Priority::Bulk => limit(64, 16 * MIB, WhenFull::DropNewest),
        })
    }

    /// Small queues, so tests reach every bound with a handful of frames: 8 frames and 1 MiB each,
    /// with the recommended policies.
    pub fn test() -> Self {
        let recommended = Self::recommended();
        PerPriority::from_fn(|priority| QueueLimit { max_frames: 8, max_bytes: MIB, ..recommended[priority] })
    }
}
