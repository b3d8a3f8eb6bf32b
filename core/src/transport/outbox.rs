//! [`Outbox`]: the byte-bounded send queue between a connection's `send` and its writer task, shared
//! by the transports that frame a single stream (tcp-noise through `secure`, QUIC).
//!
//! Frames up to [`COPY_THRESHOLD`] bytes are copied, with their u32 prefix, into an open `tail` buffer
//! by `send` itself, so a burst of small frames is already one contiguous buffer when the writer wakes
//! (and one wakeup serves the whole burst: `send` wakes the writer only if it sleeps). A larger frame's
//! prefix goes into the tail, which is then cut into a segment, and the frame's own `Bytes` follows as
//! a segment of its own, never copied. Credit returns only when the writer reports the bytes handed
//! to the stream ([`Outbox::release`]), so the unsent bytes stay within the budget.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use bytes::{BufMut as _, Bytes, BytesMut};
use tokio::sync::Notify;

use crate::codec::framing::LENGTH_PREFIX_LEN;

/// Frames up to this size are copied into the shared tail buffer by `send`: copying 1 KiB costs less
/// than a queue entry and lets the writer take a burst as one buffer.
pub const COPY_THRESHOLD: usize = 1024;

/// The queue between `send` and the writer task.
pub struct Outbox {
    state: Mutex<OutState>,
    /// Wakes the writer: data queued, closing, or failed.
    data_ready: Notify,
    /// Wakes senders waiting for credit (and `close` waiting for the writer to finish).
    space: Notify,
    /// Bytes (frames plus prefixes) that may be accepted-but-not-yet-written.
    budget: usize,
    /// The open tail is cut into a segment at this length (see [`Outbox::new`]).
    tail_chunk: usize,
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
pub enum OutboxError {
    /// `close` was called.
    Closed,
    /// The connection failed.
    Failed(String),
}

impl Outbox {
    /// An outbox accepting up to `budget` unwritten bytes (frames plus prefixes; one frame larger than
    /// that is accepted into an empty outbox), whose small frames are gathered into segments of at most
    /// `tail_chunk` bytes — the unit the writer handles best (one Noise message for tcp-noise).
    pub fn new(budget: usize, tail_chunk: usize) -> Self {
        Outbox { state: Mutex::default(), data_ready: Notify::new(), space: Notify::new(), budget, tail_chunk }
    }

    fn lock(&self) -> MutexGuard<'_, OutState> {
        // A panic while holding this lock cannot leave the queue half-updated in a way that matters
        // more than the panic itself; keep serving the other half of the connection.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `frame` (already checked against the frame limit) once there is credit for it. A frame
    /// larger than the whole budget is accepted into an empty queue. Cancel-safe: the frame is queued
    /// in one synchronous step or not at all.
    pub async fn push(&self, frame: Bytes) -> Result<(), OutboxError> {
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
    pub fn try_push_now(&self, frame: &Bytes) -> Option<Result<(), OutboxError>> {
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
        s.enqueue(frame.take().expect("a frame is pushed once"), self.tail_chunk);
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
    pub fn begin_close(&self) {
        self.lock().closing = true;
        self.data_ready.notify_one();
        self.space.notify_waiters();
    }

    /// Marks the connection failed: pending and future sends fail, the writer stops without flushing.
    pub fn fail(&self, reason: String) {
        self.lock().failed.get_or_insert(reason);
        self.data_ready.notify_one();
        self.space.notify_waiters();
    }

    /// Waits until the writer task has ended; its outcome.
    pub async fn finished(&self) -> Result<(), String> {
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
    pub async fn next_batch(&self) -> Batch {
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
    pub fn release(&self, bytes: usize) {
        let mut s = self.lock();
        s.queued -= bytes;
        drop(s);
        self.space.notify_waiters();
    }

    /// Records the writer's outcome (an error also fails the outbox) and wakes whoever waits in
    /// [`finished`](Self::finished) or for credit.
    pub fn finish(&self, outcome: Result<(), String>) {
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
    fn enqueue(&mut self, frame: Bytes, tail_chunk: usize) {
        let inline = frame.len() <= COPY_THRESHOLD;
        let needed = LENGTH_PREFIX_LEN + if inline { frame.len() } else { 0 };
        if self.tail.len() + needed > tail_chunk || self.tail.capacity() - self.tail.len() < needed {
            if !self.tail.is_empty() {
                let full = self.tail.split().freeze();
                self.segments.push_back(full);
            }
            // Reuses the previous chunk once the writer has dropped every segment cut from it.
            self.tail.reserve(tail_chunk);
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

/// What the writer is to do next.
pub enum Batch {
    /// Write these segments in order, then [`release`](Outbox::release) their length.
    Frames(VecDeque<Bytes>),
    /// Everything accepted was handed over and `close` was called: end the stream.
    Shutdown,
    /// The connection failed: stop without flushing.
    Fail(String),
}
