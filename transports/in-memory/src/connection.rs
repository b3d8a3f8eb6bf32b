//! An authenticated `mem` connection: the contract's frame rules on top of a simulated link.

use async_trait::async_trait;
use bytes::Bytes;
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::{check_outgoing_frame, Connection, PeerAddress, TransportError};

use crate::link::{LinkEnd, LinkError, UNSENT_BOUND};

/// One authenticated connection over a [`crate::MemoryNetwork`] link.
///
/// - `send` accepts a frame while fewer than [`UNSENT_BOUND`] bytes are untransmitted, and is pending
///   otherwise; it is cancel-safe (a frame is queued whole or not at all).
/// - `recv` yields frames in order, whole, exactly once; `Ok(None)` after the peer's `close` (or drop)
///   once every earlier frame was received. A frame from the peer that is empty or above this side's
///   `max_frame_len` is a [`TransportError::ProtocolViolation`] and resets the connection.
/// - `close` closes the sending direction and returns at once; frames already accepted are still
///   delivered, as a TCP close flushes in the background. `recv` keeps working until the peer closes.
/// - Dropping the connection closes it; frames the peer sends afterwards fail with
///   [`TransportError::ConnectionLost`].
pub struct MemoryConnection {
    link: LinkEnd,
    remote: ValidatorId,
    remote_addr: Option<PeerAddress>,
    max_frame_len: usize,
    span: tracing::Span,
}

impl MemoryConnection {
    pub(crate) fn new(
        link: LinkEnd,
        remote: ValidatorId,
        remote_addr: Option<PeerAddress>,
        max_frame_len: usize,
    ) -> Self {
        let span = tracing::info_span!("mem_connection", link = link.number(), remote = %remote.short());
        tracing::debug!(parent: &span, "connection established");
        MemoryConnection { link, remote, remote_addr, max_frame_len, span }
    }

    fn error(&self, error: LinkError) -> TransportError {
        error.into_transport(self.remote)
    }
}

impl std::fmt::Debug for MemoryConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryConnection")
            .field("link", &self.link.number())
            .field("remote", &self.remote)
            .field("max_frame_len", &self.max_frame_len)
            .finish()
    }
}

#[async_trait]
impl Connection for MemoryConnection {
    fn remote(&self) -> ValidatorId {
        self.remote
    }

    fn remote_addr(&self) -> Option<PeerAddress> {
        self.remote_addr.clone()
    }

    fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    fn unsent_bound(&self) -> usize {
        UNSENT_BOUND
    }

    // No span entered per frame (the link's logs name it by number): at half a million frames per
    // simulated run, entering one per call was a visible share of the CPU.
    async fn send(&self, frame: Bytes) -> Result<(), TransportError> {
        check_outgoing_frame(&frame, self.max_frame_len)?;
        self.link.send(frame).await.map_err(|e| self.error(e))
    }

    fn try_send(&self, frame: &Bytes) -> Option<Result<(), TransportError>> {
        if let Err(e) = check_outgoing_frame(frame, self.max_frame_len) {
            return Some(Err(e));
        }
        self.link.try_send(frame).map(|sent| sent.map_err(|e| self.error(e)))
    }

    async fn recv(&self) -> Result<Option<Bytes>, TransportError> {
        match self.link.recv().await {
            Ok(Some(frame)) if frame.is_empty() || frame.len() > self.max_frame_len => {
                let reason =
                    format!("sent a frame of {} bytes; frames carry 1 to {} bytes", frame.len(), self.max_frame_len);
                tracing::warn!(parent: &self.span, %reason, "protocol violation, resetting the connection");
                self.link.fail("protocol violation");
                Err(TransportError::ProtocolViolation { peer: self.remote, reason })
            }
            Ok(frame) => Ok(frame),
            Err(e) => Err(self.error(e)),
        }
    }

    async fn close(&self) -> Result<(), TransportError> {
        tracing::debug!(parent: &self.span, "closing");
        self.link.close().map_err(|e| self.error(e))
    }
}
