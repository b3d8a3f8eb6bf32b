//! [`QuicConnection`]: frames (u32 length + bytes) on the one bidirectional stream, the core
//! [`Outbox`] (byte-bounded; `send` copies small frames into one buffer) drained by a writer task into
//! quinn, and a reader that cuts frames out of quinn's chunks.
//!
//! # How it ends
//! Each direction ends on its own: `close` (or dropping the handle) lets the writer flush the queue,
//! FIN the stream and wait until the peer acknowledged every byte; reading the peer's FIN ends the
//! other direction. The QUIC connection itself is closed with code 0 only once both have ended — or
//! once ours has and the handle was dropped (nobody will read any more). quinn keeps received stream
//! data readable after the connection closes, so a peer that has not yet read our last frames still
//! gets them, then `Ok(None)`.

use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Buf as _, Bytes, BytesMut};
use quinn::{ConnectionError, ReadError, RecvStream, SendStream, StoppedError, WriteError};
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::outbox::{Batch, Outbox, OutboxError};
use quorumnet_core::transport::{check_outgoing_frame, Connection, PeerAddress, TransportError};
use tokio::sync::{watch, Mutex};
use tracing::Instrument as _;

use crate::proof::CloseCode;
use crate::settings::{SEND_BUDGET, STREAM_WINDOW};

/// The u32 length before every frame.
const LEN_PREFIX: usize = 4;
/// The outbox gathers small frames into quinn chunks of up to this size: quinn's cost grows with the
/// number of chunks, not their size, and one chunk this large still returns credit every 64 KiB.
const CHUNK: usize = 64 * 1024;

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
    /// Frames accepted and not yet taken by quinn; its writer reports the sending direction's outcome
    /// (`Ok`: flushed and acknowledged).
    outbox: Arc<Outbox>,
    reader: Mutex<Reader>,
    ending: Arc<Ending>,
    /// Dropped with the handle: tells the writer to bound what is left of its flush.
    _alive: watch::Sender<()>,
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
    /// What is left of quinn's last chunk: whole frames are cut out of it without a copy.
    chunk: Bytes,
    /// The start of a frame that spans chunks, gathered until it is whole.
    partial: BytesMut,
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
        let outbox = Arc::new(Outbox::new(SEND_BUDGET, CHUNK));
        let ending = Arc::new(Ending { conn: conn.clone(), state: SyncMutex::new((false, false)) });
        let span = tracing::info_span!("quic_connection", peer = %remote, addr = %remote_addr);
        let writer = Writer { send, outbox: outbox.clone(), ending: ending.clone() };
        let (alive, handle) = watch::channel(());
        tokio::spawn(writer.run(handle, drop_flush_limit).instrument(span));
        QuicConnection {
            remote,
            remote_addr,
            max_frame_len,
            conn,
            outbox,
            reader: Mutex::new(Reader { stream: recv, chunk: Bytes::new(), partial: BytesMut::new(), ended: None }),
            ending,
            _alive: alive,
        }
    }

    fn lost(&self, reason: impl Into<String>) -> TransportError {
        TransportError::ConnectionLost { peer: self.remote, reason: reason.into() }
    }

    fn outbox_error(&self, error: OutboxError) -> TransportError {
        match error {
            OutboxError::Closed => TransportError::Closed,
            OutboxError::Failed(reason) => self.lost(reason),
        }
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
        check_outgoing_frame(&frame, self.max_frame_len)?;
        // Cancel-safe: the outbox queues the frame in one synchronous step or not at all.
        self.outbox.push(frame).await.map_err(|e| self.outbox_error(e))
    }

    fn try_send(&self, frame: &Bytes) -> Option<Result<(), TransportError>> {
        if let Err(e) = check_outgoing_frame(frame, self.max_frame_len) {
            return Some(Err(e));
        }
        self.outbox.try_push_now(frame).map(|queued| queued.map_err(|e| self.outbox_error(e)))
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
        self.outbox.begin_close();
        self.outbox.finished().await.map_err(|reason| self.lost(reason))
    }
}

impl Drop for QuicConnection {
    fn drop(&mut self) {
        // Nobody reads any more; the writer flushes what was accepted and FINs in the background —
        // within the drop flush limit, or it closes with code 4 — and then the connection closes.
        self.outbox.begin_close();
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
                Ok(Some(chunk)) => self.chunk = chunk.bytes,
                Ok(None) if self.partial.is_empty() => return Err(End::Clean),
                Ok(None) => {
                    let held = self.partial.len();
                    return Err(End::Lost(format!("the stream ended inside a frame ({held} bytes)")));
                }
                Err(e) => return Err(read_failure(e)),
            }
        }
    }

    /// A whole frame from what was read, if there is one. A frame inside the current chunk is a slice
    /// of it; one that spans chunks is gathered in `partial`, which the frame then owns.
    fn parse(&mut self, max_frame_len: usize) -> Result<Option<Bytes>, End> {
        if self.partial.is_empty() {
            if let Some(len) = frame_len(&self.chunk, max_frame_len)? {
                if self.chunk.len() >= LEN_PREFIX + len {
                    self.chunk.advance(LEN_PREFIX);
                    return Ok(Some(self.chunk.split_to(len)));
                }
            }
        }
        // Too little for a whole frame: take in all of the chunk that belongs to it.
        self.gather(LEN_PREFIX);
        let Some(len) = frame_len(&self.partial, max_frame_len)? else { return Ok(None) };
        // One allocation for a large frame rather than one per doubling (bounded by the frame limit).
        self.partial.reserve((LEN_PREFIX + len).saturating_sub(self.partial.len()));
        self.gather(LEN_PREFIX + len);
        if self.partial.len() < LEN_PREFIX + len {
            return Ok(None);
        }
        self.partial.advance(LEN_PREFIX);
        Ok(Some(self.partial.split().freeze()))
    }

    /// Moves bytes from the chunk into `partial` until it holds `want` bytes or the chunk is empty.
    fn gather(&mut self, want: usize) {
        let take = want.saturating_sub(self.partial.len()).min(self.chunk.len());
        self.partial.extend_from_slice(&self.chunk.split_to(take));
    }
}

/// The length a frame's prefix at the start of `buf` announces, once `buf` holds the prefix.
fn frame_len(buf: &[u8], max_frame_len: usize) -> Result<Option<usize>, End> {
    let Some(prefix) = buf.get(..LEN_PREFIX) else { return Ok(None) };
    let len = u32::from_be_bytes(prefix.try_into().expect("4 bytes")) as usize;
    if len == 0 || len > max_frame_len {
        return Err(End::Violation(format!("frame length {len} (allowed 1..={max_frame_len})")));
    }
    Ok(Some(len))
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

/// Drains the outbox into quinn, returns credit as quinn takes bytes, and ends the sending direction
/// on `close` or when the handle is dropped.
struct Writer {
    send: SendStream,
    outbox: Arc<Outbox>,
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
        }
        // An error also fails pending and future sends instead of leaving them waiting for credit.
        self.outbox.finish(outcome);
        self.ending.sending_ended();
    }

    /// Writes everything the outbox accepted until it is closed.
    async fn write_until_closed(&mut self) -> Result<(), String> {
        loop {
            let mut segments = match self.outbox.next_batch().await {
                Batch::Frames(segments) => Vec::from(segments),
                Batch::Shutdown => return Ok(()),
                Batch::Fail(reason) => return Err(reason),
            };
            let mut rest = &mut segments[..];
            // Credit returns as quinn takes each part, so senders refill the outbox while quinn waits
            // for flow-control credit for the rest.
            while !rest.is_empty() {
                let written = self.send.write_chunks(rest).await.map_err(|e| write_failure(&e))?;
                self.outbox.release(written.bytes);
                rest = &mut rest[written.chunks..];
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
