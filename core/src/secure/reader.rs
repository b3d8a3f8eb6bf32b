//! The receive half of a [`SecureConnection`](super::SecureConnection): one reader task reads large
//! chunks, decrypts the Noise messages in them, splits the plaintext into frames and hands them to
//! `recv` through a byte-bounded inbox. When the inbox is full the task stops reading, so a slow
//! consumer back-pressures the peer through the stream (TCP's window) instead of growing a queue.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Buf as _, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::sync::Notify;

use super::wire::{whole_message_len, NOISE_LEN_PREFIX_LEN};
use crate::codec::FrameDecoder;
use crate::transport::outbox::Outbox;

/// Bytes asked of the stream per read, at most: the read buffer starts at [`FIRST_READ_CHUNK`] and
/// doubles whenever a read fills it, so idle connections stay small and busy ones read in large chunks.
const READ_CHUNK: usize = 256 * 1024;

/// The read buffer of a new connection: room for a few handshake-sized messages.
const FIRST_READ_CHUNK: usize = 16 * 1024;

/// How the inbound stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum End {
    /// The peer closed between frames.
    Clean,
    /// Reset, truncated, or failed to decrypt.
    Lost(String),
    /// The peer broke the framing (empty or oversize frame).
    Violation(String),
}

/// Frames decoded and not yet taken by `recv`.
pub(super) struct Inbox {
    state: Mutex<InState>,
    /// Wakes `recv` callers: frames arrived or the stream ended.
    frame_ready: Notify,
    /// Wakes the reader: the consumer made room.
    room: Notify,
    /// The reader stops reading while this many frame bytes wait.
    budget: usize,
}

#[derive(Default)]
struct InState {
    frames: VecDeque<Bytes>,
    bytes: usize,
    end: Option<End>,
    reader_waiting: bool,
}

impl Inbox {
    pub(super) fn new(budget: usize) -> Self {
        Inbox { state: Mutex::default(), frame_ready: Notify::new(), room: Notify::new(), budget }
    }

    fn lock(&self) -> MutexGuard<'_, InState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next frame, or how the stream ended once every frame before the end was taken.
    /// Cancel-safe: a frame leaves the inbox only in the synchronous step that returns it.
    pub(super) async fn pop(&self) -> Result<Bytes, End> {
        // Fast path: a frame is waiting, no waiter registration (which costs Notify's own lock).
        if let Some(result) = self.try_pop() {
            return result;
        }
        // Boxed so the common case's future stays small (async_trait allocates it per `recv`).
        Box::pin(self.pop_when_ready()).await
    }

    async fn pop_when_ready(&self) -> Result<Bytes, End> {
        loop {
            let notified = self.frame_ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(result) = self.try_pop() {
                return result;
            }
            notified.await;
        }
    }

    /// The next frame or the end; `None` when the caller must wait.
    fn try_pop(&self) -> Option<Result<Bytes, End>> {
        let mut s = self.lock();
        if let Some(frame) = s.frames.pop_front() {
            s.bytes -= frame.len();
            // Hysteresis: wake the reader once half the budget is free, not per frame.
            if s.reader_waiting && s.bytes <= self.budget / 2 {
                s.reader_waiting = false;
                drop(s);
                self.room.notify_one();
            }
            return Some(Ok(frame));
        }
        s.end.clone().map(Err)
    }

    fn push(&self, frames: &mut Vec<Bytes>) {
        if frames.is_empty() {
            return;
        }
        let mut s = self.lock();
        s.bytes += frames.iter().map(Bytes::len).sum::<usize>();
        s.frames.extend(frames.drain(..));
        drop(s);
        self.frame_ready.notify_waiters();
    }

    fn end(&self, end: End) {
        self.lock().end.get_or_insert(end);
        self.frame_ready.notify_waiters();
    }

    /// Waits until fewer than `budget` frame bytes wait for `recv`.
    async fn wait_for_room(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.lock();
                if s.bytes < self.budget {
                    return;
                }
                s.reader_waiting = true;
            }
            notified.await;
        }
    }
}

/// The reader task: runs until the stream ends or fails, then records how in the inbox. A failure
/// also fails the outbox, so the writer drops its half and the stream closes.
pub(super) async fn run_reader<R: AsyncRead + Unpin>(
    inbox: Arc<Inbox>,
    outbox: Arc<Outbox>,
    stream: R,
    noise: Arc<snow::StatelessTransportState>,
    max_frame_len: usize,
) {
    let end = read_loop(&inbox, stream, &noise, max_frame_len).await;
    match &end {
        End::Clean => tracing::debug!("peer closed the connection cleanly"),
        End::Lost(reason) => {
            tracing::warn!(%reason, "connection lost");
            outbox.fail(format!("receive side failed: {reason}"));
        }
        End::Violation(reason) => {
            tracing::warn!(%reason, "peer broke the framing protocol; closing");
            outbox.fail(format!("peer broke the framing protocol: {reason}"));
        }
    }
    inbox.end(end);
}

async fn read_loop<R: AsyncRead + Unpin>(
    inbox: &Inbox,
    mut stream: R,
    noise: &snow::StatelessTransportState,
    max_frame_len: usize,
) -> End {
    let mut chunk = FIRST_READ_CHUNK;
    let mut ciphertext = BytesMut::with_capacity(chunk);
    let mut plaintext = BytesMut::new();
    let mut decoder = FrameDecoder::new(max_frame_len);
    let mut nonce = 0u64;
    let mut frames = Vec::new();
    loop {
        inbox.wait_for_room().await;
        if ciphertext.capacity() - ciphertext.len() < chunk / 4 {
            ciphertext.reserve(chunk);
        }
        let spare = ciphertext.capacity() - ciphertext.len();
        match stream.read_buf(&mut ciphertext).await {
            // A stream with framing of its own (WebSocket) reports the peer breaking it this way.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return End::Violation(format!("reading: {e}")),
            Err(e) => return End::Lost(format!("reading: {e}")),
            Ok(0) if ciphertext.is_empty() && plaintext.is_empty() => return End::Clean,
            Ok(0) => {
                return End::Lost(format!(
                    "stream ended inside a {} ({} bytes pending)",
                    if ciphertext.is_empty() { "frame" } else { "Noise message" },
                    ciphertext.len() + plaintext.len()
                ))
            }
            Ok(n) => {
                if n == spare {
                    chunk = (chunk * 2).min(READ_CHUNK);
                }
            }
        }
        let decoded =
            decrypt_and_split(noise, &mut nonce, &mut ciphertext, &mut plaintext, chunk, &mut decoder, &mut frames);
        // Frames before a bad message or frame are whole and authentic: deliver them, then the end.
        inbox.push(&mut frames);
        if let Err(end) = decoded {
            return end;
        }
    }
}

/// Decrypts every whole Noise message in `ciphertext` (consuming it) into `plaintext` and cuts the
/// whole frames there into `frames`; `plaintext` grows by at least `chunk` bytes at a time.
fn decrypt_and_split(
    noise: &snow::StatelessTransportState,
    nonce: &mut u64,
    ciphertext: &mut BytesMut,
    plaintext: &mut BytesMut,
    chunk: usize,
    decoder: &mut FrameDecoder,
    frames: &mut Vec<Bytes>,
) -> Result<(), End> {
    while let Some(len) = whole_message_len(ciphertext) {
        let message = &ciphertext[NOISE_LEN_PREFIX_LEN..NOISE_LEN_PREFIX_LEN + len];
        // snow's ring cipher decrypts in place when the output has room for the tag too.
        let start = plaintext.len();
        if plaintext.capacity() - start < len {
            // Grow to the read chunk in one step: once `recv` has dropped the frames cut from the
            // buffer, that is exactly what its allocation holds, so it is reused, not reallocated.
            // Sized like the reads (small while the connection is quiet), so a connection carrying
            // small frames cycles through a few warm kilobytes instead of touching a fresh 256 KiB.
            plaintext.reserve(len.max(chunk.saturating_sub(start)));
        }
        plaintext.resize(start + len, 0);
        match noise.read_message(*nonce, message, &mut plaintext[start..]) {
            Ok(n) => plaintext.truncate(start + n),
            Err(e) => return Err(End::Lost(format!("Noise message {nonce} ({len} bytes) failed to decrypt: {e}"))),
        }
        *nonce += 1;
        ciphertext.advance(NOISE_LEN_PREFIX_LEN + len);
        while let Some(frame) = decoder.decode(plaintext).map_err(|e| End::Violation(e.to_string()))? {
            frames.push(frame);
        }
    }
    Ok(())
}
