//! [`QuicConnection`]: frames (u32 length + bytes) on the one bidirectional stream, a byte-bounded
//! queue drained by a writer task into quinn, and a reader that parses frames out of quinn's chunks.
//!
//! # How it ends
//! Each direction ends on its own: `close` (or dropping the handle) lets the writer flush the queue,
//! FIN the stream and wait until the peer acknowledged every byte; reading the peer's FIN ends the
//! other direction. The QUIC connection itself is closed with code 0 only once both have ended — or
//! once ours has and the handle was dropped (nobody will read any more). quinn keeps received stream
//! data readable after the connection closes, so a peer that has not yet read our last frames still
//! gets them, then `Ok(None)`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use quinn::{ConnectionError, ReadError, RecvStream, SendStream, StoppedError, WriteError};
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::{check_outgoing_frame, Connection, PeerAddress, TransportError};
use tokio::sync::{mpsc, watch, Mutex, Semaphore, TryAcquireError};
use tracing::Instrument as _;

use crate::proof::CloseCode;
use crate::settings::{SEND_BUDGET, STREAM_WINDOW};

/// The u32 length before every frame.
const LEN_PREFIX: usize = 4;
/// Frames under this size are copied into the writer's batch buffer (one quinn chunk for many
/// frames); larger ones go to quinn as their own chunk, uncopied.
const COPY_BELOW: usize = 16 * 1024;
/// The most the writer takes from the queue before handing a batch to quinn.
const BATCH_MAX: usize = 64 * 1024;

/// The pieces a handshake leaves: the QUIC connection and its one stream, and whom it proved.
pub(crate) struct Established {
    pub conn: quinn::Connection,
    pub send: SendStream,
    pub recv: RecvStream,
    pub remote: ValidatorId,
    pub remote_addr: PeerAddress,
}

/// A [`Connection`] over QUIC. K = [`SEND_BUDGET`] (the queue) + [`STREAM_WINDOW`] (what quinn holds);
/// a frame larger than the budget is accepted alone, into an empty queue.
pub struct QuicConnection {
    remote: ValidatorId,
    remote_addr: PeerAddress,
    max_frame_len: usize,
    conn: quinn::Connection,
    /// Bytes of queue room: a frame takes `min(len + 4, SEND_BUDGET)` permits, returned once quinn took it.
    room: Arc<Semaphore>,
    queue: mpsc::UnboundedSender<Outgoing>,
    closed: AtomicBool,
    /// The writer's outcome once the sending direction ended: `Ok` flushed and acknowledged.
    sent: watch::Receiver<Option<Result<(), String>>>,
    reader: Mutex<Reader>,
    ending: Arc<Ending>,
    /// Dropped with the handle: tells the writer to bound what is left of its flush.
    _alive: watch::Sender<()>,
}

enum Outgoing {
    Frame { frame: Bytes, permits: u32 },
    Close,
}

/// Which directions are over; the last one to end closes the QUIC connection.
struct Ending {
    conn: quinn::Connection,
    state: SyncMutex<(bool, bool)>,
}

impl Ending {
    fn sending_ended(&self) {
        self.mark(|(sent, _)| *sent = true);
    }

    fn receiving_ended(&self) {
        self.mark(|(_, received)| *received = true);
    }

    fn mark(&self, set: impl FnOnce(&mut (bool, bool))) {
        let mut state = self.state.lock().expect("never poisoned: no panics under the lock");
        set(&mut state);
        if *state == (true, true) {
            self.conn.close(CloseCode::Done.varint(), b"done");
        }
    }
}

struct Reader {
    stream: RecvStream,
    buf: BytesMut,
    ended: Option<End>,
}

#[derive(Clone)]
enum End {
    Clean,
    Lost(String),
    Violation(String),
}

impl QuicConnection {
    /// Starts the writer task for a connection whose handshake succeeded.
    /// `drop_flush_limit` bounds the background flush of a connection dropped without `close`
    /// ([`DROP_FLUSH_LIMIT`](crate::settings::DROP_FLUSH_LIMIT) unless a test shortens it).
    pub(crate) fn spawn(established: Established, max_frame_len: usize, drop_flush_limit: Duration) -> Self {
        let Established { conn, send, recv, remote, remote_addr } = established;
        let room = Arc::new(Semaphore::new(SEND_BUDGET));
        let (queue, queued) = mpsc::unbounded_channel();
        let (report, sent) = watch::channel(None);
        let ending = Arc::new(Ending { conn: conn.clone(), state: SyncMutex::new((false, false)) });
        let span = tracing::info_span!("quic_connection", peer = %remote, addr = %remote_addr);
        let writer = Writer { send, queued, room: room.clone(), report, ending: ending.clone() };
        let (alive, handle) = watch::channel(());
        tokio::spawn(writer.run(handle, drop_flush_limit).instrument(span));
        QuicConnection {
            remote,
            remote_addr,
            max_frame_len,
            conn,
            room,
            queue,
            closed: AtomicBool::new(false),
            sent,
            reader: Mutex::new(Reader { stream: recv, buf: BytesMut::new(), ended: None }),
            ending,
            _alive: alive,
        }
    }

    fn lost(&self, reason: impl Into<String>) -> TransportError {
        TransportError::ConnectionLost { peer: self.remote, reason: reason.into() }
    }

    /// Why the writer stopped, for a `send` that found the queue gone.
    fn writer_gone(&self) -> TransportError {
        match &*self.sent.borrow() {
            Some(Err(reason)) => self.lost(reason.clone()),
            _ => TransportError::Closed,
        }
    }

    fn permits(frame: &Bytes) -> u32 {
        (frame.len() + LEN_PREFIX).min(SEND_BUDGET) as u32
    }

    fn enqueue(&self, frame: Bytes, permits: u32) -> Result<(), TransportError> {
        self.queue.send(Outgoing::Frame { frame, permits }).map_err(|_| self.writer_gone())
    }

    fn check_open(&self, frame: &Bytes) -> Result<(), TransportError> {
        check_outgoing_frame(frame, self.max_frame_len)?;
        if self.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        Ok(())
    }
}

#[async_trait]
impl Connection for QuicConnection {
    fn remote(&self) -> ValidatorId {
        self.remote
    }

    fn remote_addr(&self) -> Option<PeerAddress> {
        Some(self.remote_addr.clone())
    }

    fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    fn unsent_bound(&self) -> usize {
        SEND_BUDGET + STREAM_WINDOW
    }

    async fn send(&self, frame: Bytes) -> Result<(), TransportError> {
        self.check_open(&frame)?;
        let permits = Self::permits(&frame);
        // Cancel-safe: a dropped acquire takes nothing, and queueing after it cannot wait.
        let room = self.room.acquire_many(permits).await.map_err(|_| self.writer_gone())?;
        room.forget();
        self.enqueue(frame, permits)
    }

    fn try_send(&self, frame: &Bytes) -> Option<Result<(), TransportError>> {
        if let Err(e) = self.check_open(frame) {
            return Some(Err(e));
        }
        let permits = Self::permits(frame);
        match self.room.try_acquire_many(permits) {
            Ok(room) => {
                room.forget();
                Some(self.enqueue(frame.clone(), permits))
            }
            Err(TryAcquireError::NoPermits) => None,
            Err(TryAcquireError::Closed) => Some(Err(self.writer_gone())),
        }
    }

    async fn recv(&self) -> Result<Option<Bytes>, TransportError> {
        let mut reader = self.reader.lock().await;
        let outcome = reader.next(self.max_frame_len).await;
        match outcome {
            Ok(frame) => Ok(Some(frame)),
            Err(end) => {
                if reader.ended.is_none() {
                    reader.ended = Some(end.clone());
                    if let End::Violation(reason) = &end {
                        self.conn.close(CloseCode::ProtocolViolation.varint(), reason.as_bytes());
                    }
                    self.ending.receiving_ended();
                }
                match end {
                    End::Clean => Ok(None),
                    End::Lost(reason) => Err(self.lost(reason)),
                    End::Violation(reason) => Err(TransportError::ProtocolViolation { peer: self.remote, reason }),
                }
            }
        }
    }

    async fn close(&self) -> Result<(), TransportError> {
        if !self.closed.swap(true, Ordering::AcqRel) {
            // A writer already gone has published its outcome, which is what we wait for below.
            let _ = self.queue.send(Outgoing::Close);
        }
        let mut sent = self.sent.clone();
        let outcome = sent.wait_for(Option::is_some).await.map(|outcome| outcome.clone());
        match outcome {
            Ok(Some(Ok(()))) => Ok(()),
            Ok(Some(Err(reason))) => Err(self.lost(reason)),
            _ => Err(self.lost("the writer task ended without a report")),
        }
    }
}

impl Drop for QuicConnection {
    fn drop(&mut self) {
        // Nobody reads any more; the writer, seeing its queue closed, flushes and FINs in the
        // background — within the drop flush limit, or it closes with code 4 — and then the connection
        // closes.
        self.ending.receiving_ended();
    }
}

impl std::fmt::Debug for QuicConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicConnection").field("remote", &self.remote).field("addr", &self.remote_addr).finish()
    }
}

impl Reader {
    /// The next whole frame, or why there is none.
    async fn next(&mut self, max_frame_len: usize) -> Result<Bytes, End> {
        if let Some(end) = &self.ended {
            return Err(end.clone());
        }
        loop {
            if let Some(frame) = self.parse(max_frame_len)? {
                return Ok(frame);
            }
            // Cancel-safe: a dropped `read_chunk` leaves the data in quinn.
            match self.stream.read_chunk(usize::MAX, true).await {
                Ok(Some(chunk)) => self.buf.put(chunk.bytes),
                Ok(None) if self.buf.is_empty() => return Err(End::Clean),
                Ok(None) => {
                    return Err(End::Lost(format!("the stream ended inside a frame ({} bytes)", self.buf.len())))
                }
                Err(e) => return Err(read_failure(e)),
            }
        }
    }

    fn parse(&mut self, max_frame_len: usize) -> Result<Option<Bytes>, End> {
        let Some(prefix) = self.buf.get(..LEN_PREFIX) else { return Ok(None) };
        let len = u32::from_be_bytes(prefix.try_into().expect("4 bytes")) as usize;
        if len == 0 || len > max_frame_len {
            return Err(End::Violation(format!("frame length {len} (allowed 1..={max_frame_len})")));
        }
        if self.buf.len() < LEN_PREFIX + len {
            self.buf.reserve(LEN_PREFIX + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(LEN_PREFIX);
        Ok(Some(self.buf.split_to(len).freeze()))
    }
}

fn read_failure(error: ReadError) -> End {
    match error {
        ReadError::ConnectionLost(lost) => lost_connection(&lost),
        ReadError::Reset(code) => End::Lost(format!("the peer reset the stream (code {code})")),
        other => End::Lost(other.to_string()),
    }
}

/// The end a connection failure means for us: the peer's §3 code 3 names us a violator; anything
/// else is a lost link.
fn lost_connection(error: &ConnectionError) -> End {
    match error {
        ConnectionError::ApplicationClosed(close) => {
            let code = CloseCode::from_wire(close.error_code.into_inner());
            let reason = String::from_utf8_lossy(&close.reason);
            End::Lost(format!("the peer closed the connection ({code:?}: {reason})"))
        }
        other => End::Lost(other.to_string()),
    }
}

/// Drains the queue into quinn in batches, returns room as quinn takes bytes, and ends the sending
/// direction on `close` or when the handle is dropped.
struct Writer {
    send: SendStream,
    queued: mpsc::UnboundedReceiver<Outgoing>,
    room: Arc<Semaphore>,
    report: watch::Sender<Option<Result<(), String>>>,
    ending: Arc<Ending>,
}

impl Writer {
    async fn run(mut self, handle: watch::Receiver<()>, limit: Duration) {
        let work = async {
            self.write_until_closed().await?;
            self.finish().await
        };
        let outcome = tokio::select! {
            outcome = work => outcome,
            () = limit_after_drop(handle, limit) => {
                // A live peer that stopped reading would hold a dropped connection open for ever
                // (keep-alives beat the idle timeout): give up, and say so, never with a clean end.
                self.ending.conn.close(CloseCode::Timeout.varint(), b"dropped connection could not flush in time");
                Err(format!("the connection was dropped and could not flush within {limit:?}"))
            }
        };
        if let Err(reason) = &outcome {
            tracing::debug!(%reason, "sending direction failed");
            // Pending and future sends fail instead of waiting for room that will never come.
            self.room.close();
        }
        self.report.send_replace(Some(outcome));
        self.ending.sending_ended();
    }

    /// Writes frames until a `Close` (or the end of the queue) after everything before it.
    async fn write_until_closed(&mut self) -> Result<(), String> {
        let mut batch = BytesMut::with_capacity(BATCH_MAX);
        let mut chunks = Vec::new();
        loop {
            let Some(first) = self.queued.recv().await else { return Ok(()) };
            let mut closing = false;
            let mut permits = 0;
            let mut taken = 0;
            let mut next = Some(first);
            while let Some(item) = next.take() {
                match item {
                    Outgoing::Close => closing = true,
                    Outgoing::Frame { frame, permits: p } => {
                        permits += p;
                        taken += frame.len() + LEN_PREFIX;
                        add_frame(&mut batch, &mut chunks, frame);
                    }
                }
                // After a close, frames that raced it are still written (they were accepted).
                if closing || taken < BATCH_MAX {
                    next = self.queued.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                chunks.push(batch.split().freeze());
            }
            self.send.write_all_chunks(&mut chunks).await.map_err(|e| write_failure(&e))?;
            chunks.clear();
            self.room.add_permits(permits as usize);
            if closing {
                return Ok(());
            }
            if taken < BATCH_MAX {
                // The queue ran dry: let a sender that is mid-burst queue more before we sleep on it,
                // so one wakeup carries many frames rather than one (a wakeup costs about what
                // handing quinn a batch does).
                tokio::task::yield_now().await;
            }
        }
    }

    /// FIN, then wait until the peer acknowledged every byte (quinn's idle timeout bounds the wait).
    async fn finish(&mut self) -> Result<(), String> {
        self.send.finish().map_err(|e| e.to_string())?;
        match self.send.stopped().await {
            Ok(None) => Ok(()),
            Ok(Some(code)) => Err(format!("the peer stopped reading (code {code})")),
            // The peer closes with code 0 only once it has read our FIN.
            Err(StoppedError::ConnectionLost(ConnectionError::ApplicationClosed(close)))
                if close.error_code == CloseCode::Done.varint() =>
            {
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Resolves `limit` after the connection's handle was dropped; never while it lives.
async fn limit_after_drop(mut handle: watch::Receiver<()>, limit: Duration) {
    // `changed` fails only once the sender, owned by the handle, is gone.
    while handle.changed().await.is_ok() {}
    tokio::time::sleep(limit).await;
}

fn add_frame(batch: &mut BytesMut, chunks: &mut Vec<Bytes>, frame: Bytes) {
    batch.put_u32(frame.len() as u32);
    if frame.len() < COPY_BELOW {
        batch.put_slice(&frame);
    } else {
        chunks.push(batch.split().freeze());
        chunks.push(frame);
    }
}

fn write_failure(error: &WriteError) -> String {
    match error {
        WriteError::Stopped(code) => format!("the peer stopped reading (code {code})"),
        WriteError::ConnectionLost(lost) => match lost_connection(lost) {
            End::Lost(reason) | End::Violation(reason) => reason,
            End::Clean => "the connection closed".to_owned(),
        },
        other => other.to_string(),
    }
}
