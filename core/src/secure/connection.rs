//! [`SecureConnection`]: the [`Connection`] every stream transport returns after the handshake.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use super::handshake::Established;
use super::reader::{run_reader, End, Inbox};
use super::writer::{run_writer, TAIL_CHUNK};
use crate::identity::ValidatorId;
use crate::transport::outbox::{Outbox, OutboxError};
use crate::transport::{check_outgoing_frame, Connection, PeerAddress, TransportError};

/// Limits of one secure channel. [`ChannelOptions::new`] gives the defaults; a transport adds what
/// its stream may hold unsent ([`Self::stream_unsent_bound`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelOptions {
    /// Largest frame sent or received (the transport config's `max_frame_len`).
    pub max_frame_len: usize,
    /// Frame bytes (u32 prefix included) `send` may queue in user space — the queue plus the writer's
    /// batch; credit returns only once the bytes were handed to the stream.
    pub send_budget: usize,
    /// Frame bytes the reader decodes ahead of `recv` before it stops reading the stream.
    pub recv_budget: usize,
    /// What the underlying stream may hold accepted-but-unsent (e.g. a TCP socket's unsent bytes
    /// under `TCP_NOTSENT_LOWAT`); added to [`Self::send_budget`] to give the connection's K.
    pub stream_unsent_bound: usize,
    /// The remote's address, for logs and [`Connection::remote_addr`].
    pub remote_addr: Option<PeerAddress>,
}

impl ChannelOptions {
    /// 128 KiB: two 64 KiB parts (the node's part size) in flight keep the writer busy while `send`
    /// refills, and leaves room under the 256 KiB K for the stream's own buffer.
    pub const DEFAULT_SEND_BUDGET: usize = 128 * 1024;

    /// 1 MiB: a few read chunks of small frames, or a quarter of a maximal frame, waiting for `recv`.
    pub const DEFAULT_RECV_BUDGET: usize = 1024 * 1024;

    /// Defaults for frames up to `max_frame_len`, over a stream that buffers nothing unsent.
    pub fn new(max_frame_len: usize) -> Self {
        ChannelOptions {
            max_frame_len,
            send_budget: Self::DEFAULT_SEND_BUDGET,
            recv_budget: Self::DEFAULT_RECV_BUDGET,
            stream_unsent_bound: 0,
            remote_addr: None,
        }
    }
}

/// An authenticated, encrypted, message-oriented connection over any byte stream (WIRE.md §2, after
/// the handshake).
///
/// - Frames travel as u32 length + bytes inside the *decrypted* stream; each Noise transport message
///   (u16 length + ciphertext) carries at most 65 519 plaintext bytes, frames span messages and several
///   frames share one.
/// - A writer task drains a byte-bounded queue, coalescing small frames into one Noise message and many
///   messages into one `write`; large frames are encrypted in maximal chunks straight from their bytes.
/// - A reader task decrypts large chunks and hands frames to [`Connection::recv`] through a
///   byte-bounded inbox; while it is full the task stops reading, so the peer feels backpressure.
/// - A frame length of 0 or above the limit from the peer ends the connection with
///   [`TransportError::ProtocolViolation`] before anything is allocated for it; a decrypt failure or a
///   truncated stream with [`TransportError::ConnectionLost`]; either is logged with the peer's id.
///
/// Dropping the connection stops the reader at once and lets the writer flush what was accepted and
/// shut the stream down in the background, as [`Connection::close`] does without waiting.
pub struct SecureConnection {
    remote: ValidatorId,
    remote_addr: Option<PeerAddress>,
    max_frame_len: usize,
    unsent_bound: usize,
    outbox: Arc<Outbox>,
    inbox: Arc<Inbox>,
    reader: JoinHandle<()>,
}

impl SecureConnection {
    /// Starts the channel's reader and writer tasks over `stream`, split in two.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn<S>(established: Established, stream: S, options: ChannelOptions) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        Self::spawn_split(established, read, write, options)
    }

    /// As [`Self::spawn`], for a stream that is already split into halves (e.g. TCP's owned halves,
    /// which need no lock between them).
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn_split<R, W>(established: Established, read: R, write: W, options: ChannelOptions) -> Self
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let remote = established.remote();
        let span = tracing::info_span!(
            "secure_connection",
            peer = %remote,
            addr = options.remote_addr.as_ref().map(tracing::field::display),
        );
        let noise = Arc::new(established.transport);
        let outbox = Arc::new(Outbox::new(options.send_budget, TAIL_CHUNK));
        let inbox = Arc::new(Inbox::new(options.recv_budget));
        tokio::spawn(run_writer(outbox.clone(), write, noise.clone()).instrument(span.clone()));
        let reader = tokio::spawn(
            run_reader(inbox.clone(), outbox.clone(), read, noise, options.max_frame_len).instrument(span),
        );
        SecureConnection {
            remote,
            remote_addr: options.remote_addr,
            max_frame_len: options.max_frame_len,
            unsent_bound: options.send_budget + options.stream_unsent_bound,
            outbox,
            inbox,
            reader,
        }
    }

    fn lost(&self, reason: String) -> TransportError {
        TransportError::ConnectionLost { peer: self.remote, reason }
    }

    fn outbox_error(&self, error: OutboxError) -> TransportError {
        match error {
            OutboxError::Closed => TransportError::Closed,
            OutboxError::Failed(reason) => self.lost(reason),
        }
    }
}

#[async_trait]
impl Connection for SecureConnection {
    fn remote(&self) -> ValidatorId {
        self.remote
    }

    fn remote_addr(&self) -> Option<PeerAddress> {
        self.remote_addr.clone()
    }

    fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// [`ChannelOptions::send_budget`] plus [`ChannelOptions::stream_unsent_bound`]: the transport
    /// chooses both so that the sum stays within
    /// [`MAX_UNSENT_BOUND`](crate::transport::MAX_UNSENT_BOUND).
    fn unsent_bound(&self) -> usize {
        self.unsent_bound
    }

    async fn send(&self, frame: Bytes) -> Result<(), TransportError> {
        check_outgoing_frame(&frame, self.max_frame_len)?;
        self.outbox.push(frame).await.map_err(|e| self.outbox_error(e))
    }

    fn try_send(&self, frame: &Bytes) -> Option<Result<(), TransportError>> {
        if let Err(e) = check_outgoing_frame(frame, self.max_frame_len) {
            return Some(Err(e));
        }
        let outcome = self.outbox.try_push_now(frame)?;
        Some(outcome.map_err(|e| self.outbox_error(e)))
    }

    async fn recv(&self) -> Result<Option<Bytes>, TransportError> {
        match self.inbox.pop().await {
            Ok(frame) => Ok(Some(frame)),
            Err(End::Clean) => Ok(None),
            Err(End::Lost(reason)) => Err(self.lost(reason)),
            Err(End::Violation(reason)) => Err(TransportError::ProtocolViolation { peer: self.remote, reason }),
        }
    }

    async fn close(&self) -> Result<(), TransportError> {
        self.outbox.begin_close();
        self.outbox.finished().await.map_err(|reason| self.lost(reason))
    }
}

impl Drop for SecureConnection {
    fn drop(&mut self) {
        self.outbox.begin_close();
        self.reader.abort();
    }
}

impl std::fmt::Debug for SecureConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureConnection")
            .field("remote", &self.remote)
            .field("remote_addr", &self.remote_addr)
            .field("unsent_bound", &self.unsent_bound)
            .finish()
    }
}
