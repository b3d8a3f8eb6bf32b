//! The per-peer link: prioritised, bounded, part-splitting sending and bounded reassembly over one
//! authenticated [`Connection`].
//!
//! A [`PeerLink`] owns one connection and one task. The node queues frames with [`PeerLink::send`]
//! and receives [`LinkEvent`]s; the transport never learns about priorities (DESIGN.md §2).
//!
//! ```text
//!  send(frame, priority) ──► queue[Vote] ─┐
//!                            queue[Proposal] ─┤ writer: most urgent first; frames above the part
//!                            queue[Liveness] ─┼─► size as Part frames, re-choosing between parts ──► Connection
//!                            queue[Discovery] ┤
//!                            queue[Bulk] ─────┘
//!  events ◄── Frame { frame, received_at, wire_len } ◄── reader: decode, reassemble (bounded) ◄── Connection
//!         ◄── Closed { reason }   (exactly once, last)
//! ```
//!
//! ## Sending
//! - Each [`Priority`] has a bounded queue ([`QueueTable`](crate::node::priority::QueueTable)): at the
//!   bound, votes and proposals make `send` wait (`try_send` returns [`SendError::Full`]); liveness,
//!   discovery and bulk refuse the new frame with [`SendError::Dropped`] and count it.
//! - A frame is encoded once ([`PeerLink::send_encoded`] takes an encoding shared by many links, e.g.
//!   one broadcast envelope). A frame longer than [`PeerLinkConfig::part_size`] goes out as `Part`
//!   frames (`docs/wire.md` §5), each a slice of that one encoding; part ids count up per link.
//! - The writer always sends the next unit (whole frame or part) of the most urgent queue. While the
//!   connection's `send` is pending — the transport holds its K unsent bytes — a more urgent frame
//!   that arrives makes the writer abandon that send (the contract makes `send` cancel-safe, so the
//!   part was wholly accepted or not at all) and send the urgent frame first. A vote queued behind a
//!   4 MiB proposal therefore waits for what the transport already accepted (≤ K, plus the one frame
//!   a transport may admit past K) and its own transmission — at most K plus one part.
//! - The sender keeps at most one partial frame per priority, and starts one only while its partial
//!   frames (counted whole) stay within [`PeerLinkConfig::max_partial_frames`] and
//!   [`PeerLinkConfig::max_reassembly_bytes`]; otherwise that large frame waits for the partial ones
//!   to finish. An honest peer with the same config therefore never trips the receiver's bounds.
//!
//! ## Receiving
//! Each frame is decoded with [`Frame::decode`]. Parts are reassembled, in sequence per id, within
//! bounds; every one broken is a [`Violation`]:
//!
//! | bound | value | violation |
//! | --- | --- | --- |
//! | data per part | 1 ..= `part_size` | [`Violation::EmptyPart`], [`Violation::PartTooLarge`] |
//! | parts per frame | ⌈connection frame limit / `part_size`⌉ | [`Violation::TooManyParts`] |
//! | order | index 0 starts an id not in flight; then index + 1, same count | [`Violation::PartOutOfSequence`], [`Violation::PartCountMismatch`] |
//! | partial frames | `max_partial_frames` | [`Violation::TooManyPartialFrames`] |
//! | bytes held | `max_reassembly_bytes` (all partial frames) | [`Violation::ReassemblyBudgetExceeded`] |
//! | whole frame | the connection's frame limit | [`Violation::ReassembledFrameTooLarge`] |
//! | contents | decodes as a `Frame` that is not a `Part` | [`Violation::Undecodable`], [`Violation::UndecodableReassembled`], [`Violation::NestedPart`] |
//!
//! A violation closes the link (and the connection) with [`CloseReason::ProtocolViolation`], the
//! event reputation scoring charges the peer with.
//!
//! **Backpressure, not buffering**: whole frames go to the node as [`LinkEvent::Frame`] through a
//! bounded channel, and each holds a share of [`PeerLinkConfig::max_undelivered_bytes`] until the node
//! drops it. While the channel is full or that budget is spent, the link does not read from the
//! connection: the peer's sends stall on the transport's own backpressure, and a fast peer cannot grow
//! this node's memory (STYLE.md: finish accepted work before reading more).
//!
//! ## Ending
//! The link ends when [`PeerLink::close`] is called, the peer closes, the connection fails, the peer
//! breaks the protocol, or the event receiver is dropped. Then queued frames are discarded, `send`
//! returns [`SendError::Closed`], the connection is closed (flushing what it accepted, for at most
//! [`PeerLinkConfig::close_timeout`]), and [`LinkEvent::Closed`] is the last event. Dropping the
//! [`PeerLink`] aborts its task at once: no event, nothing left running.
//!
//! Each link's task runs in a `tracing` span `peer_link` with the peer's short id and the [`LinkId`].

mod config;
mod event;
mod inbound;
mod outbound;
mod stats;
#[doc(hidden)]
pub mod testing;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::identity::ValidatorId;
use crate::message::Frame;
use crate::node::priority::{variant_name, Priority, WhenFull};
use crate::transport::Connection;

pub use config::{InvalidConfig, PeerLinkConfig, DEFAULT_PART_SIZE};
pub use event::{CloseReason, InboundFrame, LinkEvent, LinkId, SendError, Violation};
pub use outbound::{Depth, PART_OVERHEAD};
pub use stats::{LinkStats, Traffic};

use inbound::{Reassembly, ReassemblyLimits};
use outbound::{Outbound, Refused, Unit};
use stats::Counters;

/// The link to one peer over one authenticated [`Connection`]; see the [module documentation](self).
///
/// ```
/// use std::sync::Arc;
/// use quorumnet_core::identity::{ChainId, Keypair};
/// use quorumnet_core::message::{Envelope, Frame};
/// use quorumnet_core::node::link::{LinkEvent, PeerLink, PeerLinkConfig};
/// use quorumnet_core::node::priority::Priority;
/// use quorumnet_core::transport::Connection;
/// # use quorumnet_core::node::link::testing::channel_pair;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// // Two ends of an authenticated connection: in a node, from `Transport::dial` and `Listener::accept`.
/// # let (a, b) = channel_pair(4 * 1024 * 1024);
/// let (a, b): (Arc<dyn Connection>, Arc<dyn Connection>) = (Arc::new(a), Arc::new(b));
/// let (alice, _alice_events) = PeerLink::spawn(a, PeerLinkConfig::recommended()).unwrap();
/// let (bob, mut bob_events) = PeerLink::spawn(b, PeerLinkConfig::recommended()).unwrap();
///
/// // A 1 MiB envelope goes out as 17 parts of at most 64 KiB...
/// let key = Keypair::from_seed(&[1; 32]);
/// let bulk = Frame::Envelope(Envelope::sign(&key, ChainId::from_network_name("doc"), 1, 0, vec![7; 1 << 20]));
/// alice.send(&bulk, Priority::Bulk).await.unwrap();
/// // ...and a ping queued after it overtakes it.
/// let ping = Frame::Ping { nonce: 1 };
/// alice.send(&ping, Priority::of(&ping)).await.unwrap();
///
/// let Some(LinkEvent::Frame(first)) = bob_events.recv().await else { panic!("link ended") };
/// assert_eq!(first.frame, ping);
/// let Some(LinkEvent::Frame(second)) = bob_events.recv().await else { panic!("link ended") };
/// assert_eq!(second.frame, bulk);
/// assert_eq!(alice.stats().parts_sent, 17);
///
/// alice.close().await;
/// let Some(LinkEvent::Closed { reason, .. }) = bob_events.recv().await else { panic!("no close") };
/// println!("{reason}"); // the peer closed the connection
/// # drop(bob);
/// # });
/// ```
pub struct PeerLink {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// What the handle and the task share.
struct Shared {
    id: LinkId,
    peer: ValidatorId,
    max_frame_len: usize,
    part_size: usize,
    outbound: Mutex<Outbound>,
    /// The connection, while the link is open: a frame pushed while nothing is queued goes straight
    /// to it ([`Connection::try_send`]) instead of through the writer, saving a task hand-over.
    direct: Mutex<Option<Arc<dyn Connection>>>,
    /// Wakes the writer: a frame was queued.
    work: Notify,
    /// Wakes senders waiting for room: a frame left its queue, or the link closed.
    space: Notify,
    /// Asks the task to close.
    close_requested: Notify,
    /// Becomes `true` once the connection is closed (or the task is gone: its sender dropped).
    finished: watch::Receiver<bool>,
    counters: Counters,
}

impl PeerLink {
    /// Starts a link over `conn`, with its own event channel of
    /// [`PeerLinkConfig::event_capacity`] events. Must be called within a Tokio runtime.
    ///
    /// # Errors
    /// [`InvalidConfig`] if `config` cannot work with the connection's frame limit.
    pub fn spawn(
        conn: Arc<dyn Connection>,
        config: PeerLinkConfig,
    ) -> Result<(PeerLink, mpsc::Receiver<LinkEvent>), InvalidConfig> {
        let (events, receiver) = mpsc::channel(config.event_capacity.max(1));
        Ok((Self::spawn_with_events(conn, config, events)?, receiver))
    }

    /// Starts a link over `conn` that sends its events to `events`, which many links may share (each
    /// event names its link and peer). A full `events` stops this link reading from its connection.
    /// Must be called within a Tokio runtime.
    ///
    /// # Errors
    /// [`InvalidConfig`] if `config` cannot work with the connection's frame limit.
    pub fn spawn_with_events(
        conn: Arc<dyn Connection>,
        config: PeerLinkConfig,
        events: mpsc::Sender<LinkEvent>,
    ) -> Result<PeerLink, InvalidConfig> {
        let max_frame_len = conn.max_frame_len();
        config.validate(max_frame_len)?;
        let (finished_tx, finished) = watch::channel(false);
        let shared = Arc::new(Shared {
            id: LinkId::next(),
            peer: conn.remote(),
            max_frame_len,
            part_size: config.part_size,
            outbound: Mutex::new(Outbound::new(
                config.queues,
                config.part_size,
                config.max_partial_frames,
                config.max_reassembly_bytes,
            )),
            direct: Mutex::new(Some(conn.clone())),
            work: Notify::new(),
            space: Notify::new(),
            close_requested: Notify::new(),
            finished,
            counters: Counters::default(),
        });
        let span = tracing::info_span!("peer_link", peer = %shared.peer.short(), link = shared.id.0);
        let task = tokio::spawn(run(shared.clone(), conn, config, events, finished_tx).instrument(span));
        Ok(PeerLink { shared, task })
    }

    /// This link's process-unique number.
    pub fn id(&self) -> LinkId {
        self.shared.id
    }

    /// The authenticated peer at the other end.
    pub fn peer(&self) -> ValidatorId {
        self.shared.peer
    }

    /// Queues `frame` with `priority` (usually [`Priority::of`]`(frame)`), encoding it once.
    ///
    /// Waits while a votes' or proposals' queue is full; cancel-safe (a cancelled `send` queued nothing).
    ///
    /// # Errors
    /// [`SendError::Dropped`] from a full liveness, discovery or bulk queue (counted);
    /// [`SendError::Closed`]; [`SendError::FrameTooLarge`] above the connection's frame limit;
    /// [`SendError::PartNotAllowed`] for a [`Frame::Part`].
    pub async fn send(&self, frame: &Frame, priority: Priority) -> Result<(), SendError> {
        if matches!(frame, Frame::Part { .. }) {
            return Err(SendError::PartNotAllowed);
        }
        self.send_encoded(Bytes::from(frame.encode()), priority).await
    }

    /// Queues an already encoded frame (the CBOR of one [`Frame`], not a `Part`): encode a broadcast
    /// once and give every link the same `Bytes`. As [`Self::send`] otherwise.
    ///
    /// # Errors
    /// As [`Self::send`], plus [`SendError::EmptyFrame`].
    pub async fn send_encoded(&self, frame: Bytes, priority: Priority) -> Result<(), SendError> {
        loop {
            let space = self.shared.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            match self.shared.push(&frame, priority) {
                Err(SendError::Full(_)) => space.await,
                result => return result,
            }
        }
    }

    /// Queues `frame` if its queue has room now, never waiting.
    ///
    /// # Errors
    /// As [`Self::send`], plus [`SendError::Full`] where `send` would wait.
    pub fn try_send(&self, frame: &Frame, priority: Priority) -> Result<(), SendError> {
        if matches!(frame, Frame::Part { .. }) {
            return Err(SendError::PartNotAllowed);
        }
        self.shared.push(&Bytes::from(frame.encode()), priority)
    }

    /// [`Self::try_send`] for an already encoded frame.
    ///
    /// # Errors
    /// As [`Self::try_send`].
    pub fn try_send_encoded(&self, frame: Bytes, priority: Priority) -> Result<(), SendError> {
        self.shared.push(&frame, priority)
    }

    /// The link's counters and queue depths now.
    pub fn stats(&self) -> LinkStats {
        let queued = self.shared.outbound().depth();
        self.shared.counters.snapshot(queued)
    }

    /// Whether the link has ended (or is ending): sends fail with [`SendError::Closed`].
    pub fn is_closed(&self) -> bool {
        self.shared.outbound().is_closed()
    }

    /// Closes the link: discards queued frames, closes the connection (waiting at most
    /// [`PeerLinkConfig::close_timeout`] for it to flush what it accepted), and emits
    /// [`LinkEvent::Closed`] with [`CloseReason::Local`] — unless the link had already ended for
    /// another reason. Returns once the connection is closed; idempotent.
    pub async fn close(&self) {
        self.shared.close_requested.notify_one();
        let mut finished = self.shared.finished.clone();
        // An error means the task is gone, which is closed too.
        let _ = finished.wait_for(|done| *done).await;
    }
}

impl Drop for PeerLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for PeerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerLink").field("id", &self.shared.id).field("peer", &self.shared.peer).finish()
    }
}

impl Shared {
    fn outbound(&self) -> MutexGuard<'_, Outbound> {
        // The lock is never held across an await or a call that can panic midway through an update.
        self.outbound.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, frame: &Bytes, priority: Priority) -> Result<(), SendError> {
        if frame.is_empty() {
            return Err(SendError::EmptyFrame);
        }
        if frame.len() > self.max_frame_len {
            return Err(SendError::FrameTooLarge { len: frame.len(), limit: self.max_frame_len });
        }
        if variant_name(frame) == Some(b"Part") {
            return Err(SendError::PartNotAllowed);
        }
        let mut outbound = self.outbound();
        if outbound.is_idle() && frame.len() <= self.part_size && self.try_send_direct(frame, priority) {
            return Ok(());
        }
        let refused = outbound.push(frame, priority);
        drop(outbound);
        match refused {
            Ok(()) => {
                self.work.notify_one();
                Ok(())
            }
            Err(Refused::Closed) => Err(SendError::Closed),
            Err(Refused::Full(WhenFull::Wait)) => Err(SendError::Full(priority)),
            Err(Refused::Full(WhenFull::DropNewest)) => {
                self.counters.dropped(priority);
                tracing::debug!(%priority, "queue full: frame dropped");
                Err(SendError::Dropped(priority))
            }
        }
    }

    /// Hands a whole frame straight to the connection if it takes it without waiting; whether it did.
    /// Called with the outbound lock held and nothing queued, so no queued frame is overtaken and no
    /// concurrent push slips in between. A failing connection is left to the writer to report.
    fn try_send_direct(&self, frame: &Bytes, priority: Priority) -> bool {
        let direct = self.direct.lock().unwrap_or_else(PoisonError::into_inner);
        match direct.as_ref().and_then(|conn| conn.try_send(frame)) {
            Some(Ok(())) => {
                self.counters.sent(priority, frame.len(), false, true);
                true
            }
            Some(Err(_)) | None => false,
        }
    }

    /// The next unit to send, waiting until there is one.
    async fn next_unit(&self) -> Unit {
        loop {
            let work = self.work.notified();
            tokio::pin!(work);
            work.as_mut().enable();
            if let Some(unit) = self.outbound().choose() {
                return unit;
            }
            work.await;
        }
    }

    /// Whether a unit more urgent than `priority` could be sent now.
    fn more_urgent_than(&self, priority: Priority) -> bool {
        self.outbound().choose().is_some_and(|next| next.priority > priority)
    }
}

/// The link's task: writer and reader until one ends the link or a close is requested, then the
/// close sequence.
async fn run(
    shared: Arc<Shared>,
    conn: Arc<dyn Connection>,
    config: PeerLinkConfig,
    events: mpsc::Sender<LinkEvent>,
    finished: watch::Sender<bool>,
) {
    let limits = ReassemblyLimits::new(&config, shared.max_frame_len);
    let undelivered = Arc::new(Semaphore::new(config.max_undelivered_bytes));
    let reason = tokio::select! {
        biased;
        () = shared.close_requested.notified() => CloseReason::Local,
        reason = write(&shared, &*conn) => reason,
        reason = read(&shared, &*conn, Reassembly::new(limits), &events, &undelivered, config.max_undelivered_bytes) => reason,
    };
    shared.outbound().close();
    shared.direct.lock().unwrap_or_else(PoisonError::into_inner).take();
    shared.space.notify_waiters();
    match &reason {
        CloseReason::ProtocolViolation(violation) => tracing::warn!(%violation, "peer broke the protocol: closing"),
        reason => tracing::debug!(%reason, "link closed"),
    }
    if tokio::time::timeout(config.close_timeout, conn.close()).await.is_err() {
        tracing::debug!(timeout = ?config.close_timeout, "connection did not flush in time: dropping it");
    }
    drop(conn);
    let _ = finished.send(true);
    let _ = events.send(LinkEvent::Closed { link: shared.id, peer: shared.peer, reason }).await;
}

/// Sends the most urgent unit, again and again; returns why sending stopped.
async fn write(shared: &Shared, conn: &dyn Connection) -> CloseReason {
    loop {
        let unit = shared.next_unit().await;
        let bytes = unit.encode(shared.part_size);
        let wire_len = bytes.len();
        let send = conn.send(bytes);
        tokio::pin!(send);
        let accepted = loop {
            let work = shared.work.notified();
            tokio::pin!(work);
            work.as_mut().enable();
            if shared.more_urgent_than(unit.priority) {
                break None; // dropping `send` cancels it: the unit was wholly accepted or not at all
            }
            // A newly queued frame is looked at before the pending send, even one the transport
            // could take now: its room then goes to the more urgent frame.
            tokio::select! {
                biased;
                () = work => {}
                result = &mut send => break Some(result),
            }
        };
        match accepted {
            None => shared.counters.preempted(),
            Some(Ok(())) => {
                let committed = shared.outbound().commit(&unit);
                if committed.frame_done {
                    shared.space.notify_waiters();
                }
                shared.counters.sent(unit.priority, wire_len, committed.was_part, committed.frame_done);
            }
            Some(Err(error)) => return CloseReason::from_transport(error),
        }
    }
}

/// Receives, reassembles and delivers frames; returns why receiving stopped.
async fn read(
    shared: &Shared,
    conn: &dyn Connection,
    mut reassembly: Reassembly,
    events: &mpsc::Sender<LinkEvent>,
    undelivered: &Arc<Semaphore>,
    max_undelivered: usize,
) -> CloseReason {
    loop {
        let bytes = match conn.recv().await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return CloseReason::PeerClosed,
            Err(error) => return CloseReason::from_transport(error),
        };
        let received_at = Instant::now();
        let received = match reassembly.receive(&bytes, &shared.counters) {
            Ok(Some(received)) => received,
            Ok(None) => continue,
            Err(violation) => return CloseReason::ProtocolViolation(violation),
        };
        drop(bytes);
        shared.counters.received(Priority::of(&received.frame), received.wire_len);
        let share = received.wire_len.min(max_undelivered) as u32; // validated: the budget fits u32
        let credit = undelivered.clone().acquire_many_owned(share).await.expect("this semaphore is never closed");
        let event = LinkEvent::Frame(InboundFrame {
            link: shared.id,
            peer: shared.peer,
            frame: received.frame,
            received_at,
            wire_len: received.wire_len,
            _credit: credit,
        });
        if events.send(event).await.is_err() {
            return CloseReason::EventsDropped;
        }
    }
}
