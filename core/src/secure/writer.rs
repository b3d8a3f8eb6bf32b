//! The send half of a [`SecureConnection`](super::SecureConnection): a byte-bounded queue that `send`
//! fills and one writer task drains, coalescing frames into Noise messages and Noise messages into
//! large `write`s.
//!
//! Layout of the queue: frames up to [`COPY_THRESHOLD`] bytes are copied, with their u32 prefix, into
//! an open `tail` buffer (so a burst of small frames is already one contiguous plaintext); a larger
//! frame's prefix goes into the tail, which is then sealed into `segments`, and the frame's own `Bytes`
//! follows as a segment of its own, never copied before encryption.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{BufMut as _, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio::sync::Notify;

use super::wire::{noise_len_prefix, MAX_PLAINTEXT_LEN, NOISE_LEN_PREFIX_LEN, TAG_LEN};
use crate::codec::framing::LENGTH_PREFIX_LEN;

/// Frames up to this size are copied into the shared tail buffer by `send`: copying 1 KiB costs less
/// than a queue entry and lets the writer encrypt a burst straight from one buffer.
pub(super) const COPY_THRESHOLD: usize = 1024;

/// The tail buffer is sealed into a segment at this length: one maximal Noise message, so a full tail is
/// encrypted straight from its buffer.
const TAIL_CHUNK: usize = MAX_PLAINTEXT_LEN;

/// Plaintext pieces at least this long get Noise messages of their own, encrypted straight from their
/// buffer; shorter ones are copied together so that many small frames share one message. 16 KiB keeps
/// the cost of an extra message (18 bytes, one AEAD call) under 0.1 % of what it carries.
const DIRECT_MIN: usize = 16 * 1024;

/// The writer hands its output buffer to the stream once it holds this much ciphertext: large enough
/// that a burst of small frames costs one syscall per ~300 frames, small enough that credits return to
/// senders while the rest of a batch is still being encrypted.
pub(super) const FLUSH_AT: usize = 64 * 1024;

/// Output buffer size: a flush's worth plus the two maximal Noise messages one `absorb` may seal.
const OUT_CAPACITY: usize = FLUSH_AT + 2 * (NOISE_LEN_PREFIX_LEN + MAX_PLAINTEXT_LEN + TAG_LEN);

/// The queue between `send` and the writer task.
pub(super) struct Outbox {
    state: Mutex<OutState>,
    /// Wakes the writer: data queued, closing, or failed.
    data_ready: Notify,
    /// Wakes senders waiting for credit (and `close` waiting for the writer to finish).
    space: Notify,
    /// Bytes (frames plus prefixes) that may be accepted-but-not-yet-written.
    budget: usize,
}

#[derive(Default)]
struct OutState {
    segments: VecDeque<Bytes>,
    tail: BytesMut,
    /// Accepted bytes (frame + prefix) not yet handed to the stream: the queue plus the writer's batch.
    queued: usize,
    /// No more frames: flush what is queued, then shut the stream's write side.
    closing: bool,
    /// The connection failed; the reason.
    failed: Option<String>,
    /// The writer task has ended: `Ok` after a clean shutdown.
    finished: Option<Result<(), String>>,
    /// The writer waits for `data_ready`: the next `push` must wake it.
    writer_idle: bool,
}

/// Why an operation on the outbox cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum OutboxError {
    /// `close` was called.
    Closed,
    /// The connection failed.
    Failed(String),
}

impl Outbox {
    pub(super) fn new(budget: usize) -> Self {
        Outbox { state: Mutex::default(), data_ready: Notify::new(), space: Notify::new(), budget }
    }

    fn lock(&self) -> MutexGuard<'_, OutState> {
        // A panic while holding this lock cannot leave the queue half-updated in a way that matters
        // more than the panic itself; keep serving the other half of the connection.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `frame` (already checked against the frame limit) once there is credit for it. A frame
    /// larger than the whole budget is accepted into an empty queue. Cancel-safe: the frame is queued
    /// in one synchronous step or not at all.
    pub(super) async fn push(&self, frame: Bytes) -> Result<(), OutboxError> {
        let cost = LENGTH_PREFIX_LEN + frame.len();
        let mut frame = Some(frame);
        // Fast path: credit available, no waiter registration (which costs Notify's own lock).
        if let Some(result) = self.try_push(&mut frame, cost) {
            return result;
        }
        // Boxed so the common case's future stays small (async_trait allocates it per `send`).
        Box::pin(self.push_when_credited(frame, cost)).await
    }

    /// Queues `frame` (already checked against the frame limit) if there is credit for it now;
    /// `None`, queueing nothing, when [`push`](Self::push) would wait.
    pub(super) fn try_push_now(&self, frame: &Bytes) -> Option<Result<(), OutboxError>> {
        self.try_push(&mut Some(frame.clone()), LENGTH_PREFIX_LEN + frame.len())
    }

    async fn push_when_credited(&self, mut frame: Option<Bytes>, cost: usize) -> Result<(), OutboxError> {
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(result) = self.try_push(&mut frame, cost) {
                return result;
            }
            notified.await;
        }
    }

    /// Queues the frame (taking it out of `frame`) if there is credit; `None` when the caller must wait.
    fn try_push(&self, frame: &mut Option<Bytes>, cost: usize) -> Option<Result<(), OutboxError>> {
        let mut s = self.lock();
        if let Some(reason) = &s.failed {
            return Some(Err(OutboxError::Failed(reason.clone())));
        }
        if s.closing {
            return Some(Err(OutboxError::Closed));
        }
        if s.queued != 0 && s.queued + cost > self.budget {
            return None;
        }
        s.enqueue(frame.take().expect("a frame is pushed once"));
        s.queued += cost;
        // Wake the writer only if it sleeps: while it works it takes everything queued anyway.
        let wake = std::mem::take(&mut s.writer_idle);
        drop(s);
        if wake {
            self.data_ready.notify_one();
        }
        Some(Ok(()))
    }

    /// Stops accepting frames; the writer flushes the queue, then shuts the stream down.
    pub(super) fn begin_close(&self) {
        self.lock().closing = true;
        self.data_ready.notify_one();
        self.space.notify_waiters();
    }

    /// Marks the connection failed: pending and future sends fail, the writer stops without flushing.
    pub(super) fn fail(&self, reason: String) {
        self.lock().failed.get_or_insert(reason);
        self.data_ready.notify_one();
        self.space.notify_waiters();
    }

    /// Waits until the writer task has ended; its outcome.
    pub(super) async fn finished(&self) -> Result<(), String> {
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(outcome) = &self.lock().finished {
                return outcome.clone();
            }
            notified.await;
        }
    }

    /// What the writer should do next, waiting for it.
    async fn next_batch(&self) -> Batch {
        loop {
            let notified = self.data_ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.lock();
                if let Some(reason) = &s.failed {
                    return Batch::Fail(reason.clone());
                }
                if !s.tail.is_empty() {
                    let tail = s.tail.split().freeze();
                    s.segments.push_back(tail);
                }
                if !s.segments.is_empty() {
                    return Batch::Frames(std::mem::take(&mut s.segments));
                }
                if s.closing {
                    return Batch::Shutdown;
                }
                s.writer_idle = true;
            }
            notified.await;
        }
    }

    /// Returns `bytes` of credit: they reached the stream.
    fn release(&self, bytes: usize) {
        let mut s = self.lock();
        s.queued -= bytes;
        drop(s);
        self.space.notify_waiters();
    }

    fn finish(&self, outcome: Result<(), String>) {
        let mut s = self.lock();
        if let Err(reason) = &outcome {
            s.failed.get_or_insert_with(|| reason.clone());
        }
        s.finished = Some(outcome);
        drop(s);
        self.space.notify_waiters();
    }
}

impl OutState {
    fn enqueue(&mut self, frame: Bytes) {
        let inline = frame.len() <= COPY_THRESHOLD;
        let needed = LENGTH_PREFIX_LEN + if inline { frame.len() } else { 0 };
        if self.tail.len() + needed > TAIL_CHUNK || self.tail.capacity() - self.tail.len() < needed {
            if !self.tail.is_empty() {
                let full = self.tail.split().freeze();
                self.segments.push_back(full);
            }
            // Reuses the previous chunk once the writer has dropped every segment cut from it.
            self.tail.reserve(TAIL_CHUNK);
        }
        self.tail.put_u32(frame.len() as u32);
        if inline {
            self.tail.put_slice(&frame);
        } else {
            let prefix = self.tail.split().freeze();
            self.segments.push_back(prefix);
            self.segments.push_back(frame);
        }
    }
}

enum Batch {
    Frames(VecDeque<Bytes>),
    Shutdown,
    Fail(String),
}

/// Encrypts plaintext into length-prefixed Noise transport messages in one output buffer.
struct Sealer {
    noise: Arc<snow::StatelessTransportState>,
    nonce: u64,
    out: Box<[u8]>,
    filled: usize,
    /// Plaintext bytes sealed into `out` since the last flush: the credit a flush returns.
    sealed_plain: usize,
    /// Small pieces waiting to share one Noise message.
    staging: Box<[u8]>,
    staged: usize,
}

impl Sealer {
    fn new(noise: Arc<snow::StatelessTransportState>) -> Self {
        Sealer {
            noise,
            nonce: 0,
            out: vec![0; OUT_CAPACITY].into_boxed_slice(),
            filled: 0,
            sealed_plain: 0,
            staging: vec![0; MAX_PLAINTEXT_LEN].into_boxed_slice(),
            staged: 0,
        }
    }

    /// Seals `plaintext` (≤ [`MAX_PLAINTEXT_LEN`]) as the next message.
    fn seal(
        noise: &snow::StatelessTransportState,
        nonce: &mut u64,
        out: &mut [u8],
        filled: &mut usize,
        plaintext: &[u8],
    ) -> Result<(), String> {
        let len = plaintext.len() + TAG_LEN;
        out[*filled..*filled + NOISE_LEN_PREFIX_LEN].copy_from_slice(&noise_len_prefix(len));
        let body = &mut out[*filled + NOISE_LEN_PREFIX_LEN..*filled + NOISE_LEN_PREFIX_LEN + len];
        noise.write_message(*nonce, plaintext, body).map_err(|e| format!("encrypting: {e}"))?;
        *nonce += 1;
        *filled += NOISE_LEN_PREFIX_LEN + len;
        Ok(())
    }

    fn seal_direct(&mut self, plaintext: &[u8]) -> Result<(), String> {
        Self::seal(&self.noise, &mut self.nonce, &mut self.out, &mut self.filled, plaintext)?;
        self.sealed_plain += plaintext.len();
        Ok(())
    }

    fn seal_staged(&mut self) -> Result<(), String> {
        if self.staged > 0 {
            Self::seal(&self.noise, &mut self.nonce, &mut self.out, &mut self.filled, &self.staging[..self.staged])?;
            self.sealed_plain += self.staged;
            self.staged = 0;
        }
        Ok(())
    }

    /// Takes as much of `rest` as fits the current message. A long piece, or the batch's last piece
    /// when nothing is staged, is sealed straight from `rest` (staged crumbs are sealed first, so order
    /// holds); a short one is copied into the staging message, which is sealed once full.
    fn absorb<'a>(&mut self, rest: &'a [u8], last: bool) -> Result<&'a [u8], String> {
        if rest.len() >= DIRECT_MIN || (last && self.staged == 0) {
            self.seal_staged()?;
            let (chunk, rest) = rest.split_at(rest.len().min(MAX_PLAINTEXT_LEN));
            self.seal_direct(chunk)?;
            return Ok(rest);
        }
        let n = rest.len().min(MAX_PLAINTEXT_LEN - self.staged);
        self.staging[self.staged..self.staged + n].copy_from_slice(&rest[..n]);
        self.staged += n;
        if self.staged == MAX_PLAINTEXT_LEN {
            self.seal_staged()?;
        }
        Ok(&rest[n..])
    }

    /// Writes the sealed messages to `stream`; the plaintext credit they carried.
    async fn flush<W: AsyncWrite + Unpin>(&mut self, stream: &mut W) -> Result<usize, String> {
        stream.write_all(&self.out[..self.filled]).await.map_err(|e| format!("writing: {e}"))?;
        self.filled = 0;
        Ok(std::mem::take(&mut self.sealed_plain))
    }
}

/// The writer task: drains the outbox into `stream` until closed or failed.
pub(super) async fn run_writer<W: AsyncWrite + Unpin>(
    outbox: Arc<Outbox>,
    mut stream: W,
    noise: Arc<snow::StatelessTransportState>,
) {
    let outcome = write_loop(&outbox, &mut stream, noise).await;
    match &outcome {
        Ok(()) => tracing::debug!("write side shut down cleanly"),
        Err(reason) => tracing::debug!(%reason, "writer stopped"),
    }
    outbox.finish(outcome);
}

async fn write_loop<W: AsyncWrite + Unpin>(
    outbox: &Outbox,
    stream: &mut W,
    noise: Arc<snow::StatelessTransportState>,
) -> Result<(), String> {
    // Allocated with the first batch: a connection that never sends holds no output buffers.
    let mut sealer = None;
    loop {
        let segments = match outbox.next_batch().await {
            Batch::Frames(segments) => segments,
            Batch::Fail(reason) => return Err(reason),
            Batch::Shutdown => {
                stream.shutdown().await.map_err(|e| format!("shutting down: {e}"))?;
                return Ok(());
            }
        };
        let sealer = sealer.get_or_insert_with(|| Sealer::new(noise.clone()));
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            let mut rest = &segment[..];
            while !rest.is_empty() {
                rest = sealer.absorb(rest, last)?;
                if sealer.filled >= FLUSH_AT {
                    outbox.release(sealer.flush(stream).await?);
                }
            }
        }
        sealer.seal_staged()?;
        outbox.release(sealer.flush(stream).await?);
        stream.flush().await.map_err(|e| format!("flushing: {e}"))?;
    }
}
