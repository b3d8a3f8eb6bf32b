//! An authenticated TCP connection: u32 length-prefixed frames, a writer task, reads on demand.
//!
//! # Backpressure (K)
//! - User space: `send` takes one permit per byte (a frame above the budget takes all of them, so it
//!   waits for an empty queue and then travels alone) from a [`USER_QUEUE_BYTES`] semaphore; the writer
//!   task returns them once the batch holding the frame was written to the kernel. The channel to the
//!   writer is bounded too ([`OUTBOX_FRAMES`]), so many tiny frames cannot pile up either.
//! - Kernel: on Linux `TCP_NOTSENT_LOWAT` = [`KERNEL_UNSENT_BYTES`] stops the kernel from taking more
//!   while that many bytes are unsent; it may overshoot by up to one segment batch
//!   ([`KERNEL_OVERSHOOT_BYTES`]). Elsewhere `SO_SNDBUF` is set to the same size, which bounds unsent
//!   plus unacknowledged bytes, so at least as tightly.
//! - K = [`UNSENT_BOUND`] = the sum, 256 KiB. Bytes the kernel already sent (and the peer's receive
//!   buffer holds) are not "unsent": against a peer that never reads, about K plus the peer's receive
//!   window is accepted before `send` stays pending — far below the contract's 16 MiB.
//!
//! Reading happens only when the application calls `recv`, so a fast sender cannot grow our memory:
//! the kernel's receive window pushes back on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use quorumnet_core::codec::framing::{self, FrameDecoder};
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::{check_outgoing_frame, Connection, PeerAddress, TransportError};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

/// Bytes `send` may have accepted that the writer task has not yet handed to the kernel.
pub const USER_QUEUE_BYTES: usize = 128 * 1024;
/// Unsent bytes the kernel holds before it stops taking more (`TCP_NOTSENT_LOWAT`, or `SO_SNDBUF`).
pub const KERNEL_UNSENT_BYTES: usize = 64 * 1024;
/// How far past [`KERNEL_UNSENT_BYTES`] one write may fill the kernel queue (one 64 KiB segment batch).
pub const KERNEL_OVERSHOOT_BYTES: usize = 64 * 1024;
/// K, as [`Connection::unsent_bound`] declares it.
pub const UNSENT_BOUND: usize = USER_QUEUE_BYTES + KERNEL_UNSENT_BYTES + KERNEL_OVERSHOOT_BYTES;
/// Frames queued for the writer task at most.
pub const OUTBOX_FRAMES: usize = 1024;
/// The writer hands the kernel its batch once it holds this many bytes (or the queue is empty).
const WRITE_BATCH_BYTES: usize = 64 * 1024;
/// How long a dropped connection's writer keeps trying to deliver what was accepted, like `SO_LINGER`.
pub const DROP_LINGER: Duration = Duration::from_secs(10);
/// Read buffer growth step.
const READ_CHUNK_BYTES: usize = 64 * 1024;

enum Outgoing {
    /// A frame, with the budget it holds until it reached the kernel.
    Frame(Bytes, OwnedSemaphorePermit),
    /// Flush, then send FIN.
    Close(oneshot::Sender<Result<(), String>>),
}

/// One authenticated link. See the module doc for its backpressure.
pub struct TcpConnection {
    remote: ValidatorId,
    remote_addr: PeerAddress,
    max_frame_len: usize,
    budget: Arc<Semaphore>,
    outbox: mpsc::Sender<Outgoing>,
    closed: AtomicBool,
    writer_failure: Arc<Mutex<Option<String>>>,
    reader: tokio::sync::Mutex<Reader>,
    /// Dropped with the connection: tells the writer task to give up on a peer that does not read.
    _dropped: oneshot::Sender<()>,
}

struct Reader {
    half: OwnedReadHalf,
    buf: BytesMut,
    decoder: FrameDecoder,
    ended: Option<Result<(), String>>,
}

impl TcpConnection {
    /// Wraps a stream whose handshake proved `remote`; spawns the writer task.
    pub(crate) fn new(stream: TcpStream, remote: ValidatorId, remote_addr: PeerAddress, max_frame_len: usize) -> Self {
        let (read_half, write_half) = stream.into_split();
        let (outbox, queue) = mpsc::channel(OUTBOX_FRAMES);
        let budget = Arc::new(Semaphore::new(USER_QUEUE_BYTES));
        let writer_failure = Arc::new(Mutex::new(None));
        let writer = Writer { half: write_half, queue, limit: max_frame_len, budget: budget.clone() };
        let (dropped, abandoned) = oneshot::channel();
        tokio::spawn(writer.run(writer_failure.clone(), abandoned));
        TcpConnection {
            remote,
            remote_addr,
            max_frame_len,
            budget,
            outbox,
            closed: AtomicBool::new(false),
            writer_failure,
            _dropped: dropped,
            reader: tokio::sync::Mutex::new(Reader {
                half: read_half,
                buf: BytesMut::new(),
                decoder: FrameDecoder::new(max_frame_len),
                ended: None,
            }),
        }
    }

    fn lost(&self, reason: impl Into<String>) -> TransportError {
        TransportError::ConnectionLost { peer: self.remote, reason: reason.into() }
    }

    /// Why `send` cannot go on: we closed, or the writer task failed.
    fn unusable(&self) -> TransportError {
        if self.closed.load(Ordering::Acquire) {
            TransportError::Closed
        } else {
            self.writer_lost()
        }
    }

    fn writer_lost(&self) -> TransportError {
        let failure = self.writer_failure.lock().expect("writer failure lock").clone();
        self.lost(failure.unwrap_or_else(|| "the writer task stopped".into()))
    }
}

#[async_trait]
impl Connection for TcpConnection {
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
        UNSENT_BOUND
    }

    async fn send(&self, frame: Bytes) -> Result<(), TransportError> {
        check_outgoing_frame(&frame, self.max_frame_len)?;
        if self.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        // Both awaits are cancel-safe: a dropped future returns the permits, and an unsent message
        // (which owns the permits) is dropped whole, so the frame is accepted entirely or not at all.
        let permits = frame.len().min(USER_QUEUE_BYTES) as u32;
        let permit = self.budget.clone().acquire_many_owned(permits).await.map_err(|_| self.unusable())?;
        self.outbox.send(Outgoing::Frame(frame, permit)).await.map_err(|_| self.unusable())
    }

    async fn recv(&self) -> Result<Option<Bytes>, TransportError> {
        let mut reader = self.reader.lock().await;
        let reader = &mut *reader;
        loop {
            if let Some(ended) = &reader.ended {
                return ended.clone().map(|()| None).map_err(|reason| self.lost(reason));
            }
            match reader.decoder.decode(&mut reader.buf) {
                Ok(Some(frame)) => return Ok(Some(frame)),
                Ok(None) => {}
                Err(e) => {
                    let reason = format!("{e}; the connection is unusable");
                    reader.ended = Some(Err(reason.clone()));
                    return Err(TransportError::ProtocolViolation { peer: self.remote, reason });
                }
            }
            if reader.buf.capacity() - reader.buf.len() < READ_CHUNK_BYTES / 4 {
                reader.buf.reserve(READ_CHUNK_BYTES);
            }
            // Cancel-safe: bytes read are in `buf` whether or not this future survives.
            match reader.half.read_buf(&mut reader.buf).await {
                Ok(0) if reader.buf.is_empty() => reader.ended = Some(Ok(())),
                Ok(0) => {
                    reader.ended = Some(Err(format!("stream ended inside a frame ({} bytes of it)", reader.buf.len())))
                }
                Ok(_) => {}
                Err(e) => reader.ended = Some(Err(e.to_string())),
            }
        }
    }

    async fn close(&self) -> Result<(), TransportError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let (done, flushed) = oneshot::channel();
        self.outbox.send(Outgoing::Close(done)).await.map_err(|_| self.writer_lost())?;
        flushed.await.map_err(|_| self.writer_lost())?.map_err(|reason| self.lost(reason))
    }
}

struct Writer {
    half: OwnedWriteHalf,
    queue: mpsc::Receiver<Outgoing>,
    limit: usize,
    budget: Arc<Semaphore>,
}

impl Writer {
    /// Writes queued frames in batches until the connection is closed or dropped (then sends FIN), or
    /// the socket fails (then records why and fails every waiting `send`). A dropped connection's
    /// frames get [`DROP_LINGER`] to leave; then the link is abandoned, so a peer that never reads
    /// cannot keep this task and its socket alive.
    async fn run(mut self, failure: Arc<Mutex<Option<String>>>, dropped: oneshot::Receiver<()>) {
        let mut closers = Vec::new();
        let linger = async {
            let _ = dropped.await;
            tokio::time::sleep(DROP_LINGER).await;
        };
        let result = tokio::select! {
            result = self.write_then_fin(&mut closers) => result,
            () = linger => Err(format!("dropped with frames still unsent after {DROP_LINGER:?}; abandoned the link")),
        };
        if let Err(reason) = &result {
            tracing::debug!(%reason, "custom-tcp writer stopped");
            *failure.lock().expect("writer failure lock") = Some(reason.clone());
            self.budget.close();
        }
        for closer in closers {
            let _ = closer.send(result.clone());
        }
    }

    async fn write_then_fin(&mut self, closers: &mut Vec<oneshot::Sender<Result<(), String>>>) -> Result<(), String> {
        self.write_all_queued(closers).await?;
        self.half.shutdown().await.map_err(|e| format!("sending FIN: {e}"))
    }

    /// Returns when every sender is gone, or a `Close` arrived and what was queued before it is written.
    async fn write_all_queued(&mut self, closers: &mut Vec<oneshot::Sender<Result<(), String>>>) -> Result<(), String> {
        let mut batch = BytesMut::with_capacity(WRITE_BATCH_BYTES);
        let mut held = Vec::new();
        while let Some(first) = self.queue.recv().await {
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Outgoing::Frame(frame, permit) => {
                        framing::write_frame(&mut batch, &frame, self.limit).map_err(|e| e.to_string())?;
                        held.push(permit);
                    }
                    Outgoing::Close(closer) => {
                        // Refuse new frames; those already queued are still written.
                        self.queue.close();
                        closers.push(closer);
                    }
                }
                if batch.len() < WRITE_BATCH_BYTES {
                    next = self.queue.try_recv().ok();
                }
            }
            self.half.write_all(&batch).await.map_err(|e| e.to_string())?;
            held.clear();
            if batch.capacity() > 2 * WRITE_BATCH_BYTES {
                // A large frame went through: give its memory back.
                batch = BytesMut::with_capacity(WRITE_BATCH_BYTES);
            } else {
                batch.clear();
            }
        }
        Ok(())
    }
}
