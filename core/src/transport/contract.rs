use async_trait::async_trait;
use bytes::Bytes;

use crate::identity::ValidatorId;

use super::{PeerAddress, TransportError};

/// A way to reach peers: one per address scheme (`mem`, `tcp-noise`, `quic`, `ws`, …).
///
/// Built with the local key pair, the chain id, the live [`Admission`](super::Admission) handle and a
/// [`TransportConfig`](super::TransportConfig) — together a [`TransportContext`](super::TransportContext).
/// Every connection it yields is authenticated (the remote proved its identity, bound to this link and
/// this chain) and admitted; an unadmitted peer never gets a [`Connection`].
///
/// A third-party transport proves it keeps this contract by passing `quorumnet-conformance`.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// The address scheme this transport serves, without `://`.
    fn scheme(&self) -> &'static str;

    /// Whether every peer this transport reaches runs in this process, in a simulation: only then
    /// may nodes share a [`VerificationCache`](crate::node::VerificationCache). `false` unless a
    /// simulator says otherwise.
    fn is_simulated(&self) -> bool {
        false
    }

    /// Starts accepting connections at `addr`.
    ///
    /// # Returns
    /// A [`Listener`] whose [`Listener::local_addr`] is the real address (port 0 resolved).
    ///
    /// # Errors
    /// [`TransportError::InvalidAddress`] for an address of another scheme or shape,
    /// [`TransportError::Io`] when the address cannot be bound.
    async fn listen(&self, addr: &PeerAddress) -> Result<Box<dyn Listener>, TransportError>;

    /// Connects to `addr` and runs the handshake. With `expected`, the connection fails unless the
    /// remote proves exactly that identity. The whole attempt is bounded by the configured dial and
    /// handshake timeouts.
    ///
    /// # Errors
    /// [`TransportError::Unreachable`] / [`TransportError::Timeout`] when nobody answers in time,
    /// [`TransportError::Handshake`] when the remote's identity is unproven, unadmitted or unexpected.
    async fn dial(
        &self,
        addr: &PeerAddress,
        expected: Option<ValidatorId>,
    ) -> Result<Box<dyn Connection>, TransportError>;
}

/// Accepts inbound connections.
///
/// # Closing
/// A listener is closed by dropping it; there is no `close` method, because `accept` takes `&mut self`
/// and so no `accept` can be pending when the owner drops it. Dropping stops taking inbound
/// connections at once (a new dial to the address fails within the dialer's dial and handshake
/// timeouts), aborts the handshakes in progress (their peers see the connection fail), and drops the
/// connections that finished their handshake but were never returned by `accept` (their dialers see
/// what dropping a [`Connection`] shows: a clean end with no frame). Connections already returned by
/// `accept` are the caller's and carry on. [`AcceptQueue`](super::AcceptQueue) implements all of this.
/// Checked by `quorumnet-conformance`'s `dropped_listener_ends_unaccepted_connections`.
#[async_trait]
pub trait Listener: Send + 'static {
    /// The address peers dial, with any port 0 replaced by the bound port.
    fn local_addr(&self) -> PeerAddress;

    /// The next authenticated, admitted connection.
    ///
    /// Handshakes run concurrently (bounded by the config) and their failures are logged, not
    /// returned: a garbage or stalled peer never takes the listener down or delays other peers.
    ///
    /// # Errors
    /// Only when the listener itself can accept no more ([`TransportError::ListenerClosed`]).
    async fn accept(&mut self) -> Result<Box<dyn Connection>, TransportError>;
}

/// An authenticated, message-oriented connection to one peer.
///
/// All methods take `&self` so one task can `send` while another `recv`s.
///
/// # Contract
/// - A frame is opaque bytes, 1 up to [`Self::max_frame_len`]; empty and oversize `send`s are errors.
/// - Frames arrive in order, whole and exactly once, or the connection fails: a transport never
///   silently drops, duplicates or reorders.
/// - Backpressure: at most [`Self::unsent_bound`] bytes (K ≤ 256 KiB) sit accepted-but-unsent; beyond
///   that `send` stays pending until the link drains. A frame larger than K (the frame limit is
///   4 MiB by default) is accepted when nothing else is unsent, so the bound is *K, or one frame if
///   larger*: such a frame never waits for room it can never have, and it is the only one unsent.
/// - After the peer's [`Self::close`], `recv` returns every frame it sent, then `Ok(None)`.
/// - [`Self::close`] ends the sending direction only: after a local close, `recv` keeps returning the
///   frames the peer sends, then `Ok(None)` once the peer closes too (a half-close).
/// - Dropping a connection without `close` closes it in the background: the frames already accepted
///   are still delivered and the peer then sees `Ok(None)`, as after `close`. Nothing waits for that
///   flush, so it must be bounded by the transport (a dead peer's link fails by its keepalive or idle
///   timeout, and the peer then sees an error, never `Ok(None)`). Frames the peer sends after the drop
///   are discarded; its `send`s may fail with [`TransportError::ConnectionLost`].
///
/// `quorumnet-conformance` checks each of these; the cases for the last three and for the one-frame
/// bound are `recv_works_after_local_close`, `dropped_connection_delivers_what_it_accepted` and
/// `frame_larger_than_k_is_accepted_alone`.
#[async_trait]
pub trait Connection: Send + Sync + 'static {
    /// The remote validator, proven by the handshake — never merely claimed.
    fn remote(&self) -> ValidatorId;

    /// The remote's address, where the transport knows one (for logs).
    fn remote_addr(&self) -> Option<PeerAddress> {
        None
    }

    /// Largest frame this connection sends or receives.
    fn max_frame_len(&self) -> usize;

    /// K: the most bytes that may sit accepted-but-unsent before `send` stays pending, counting
    /// user-space queues and, where the OS allows, unsent kernel buffer. At most 256 KiB. One frame
    /// larger than K is accepted alone, when nothing else is unsent.
    fn unsent_bound(&self) -> usize;

    /// Queues one frame. Pending while K bytes are unsent. Cancel-safe: if the future is dropped
    /// before it completes, the frame was either wholly accepted or not at all.
    ///
    /// # Errors
    /// [`TransportError::EmptyFrame`], [`TransportError::FrameTooLarge`], [`TransportError::Closed`]
    /// after `close`, [`TransportError::ConnectionLost`] when the link failed.
    async fn send(&self, frame: Bytes) -> Result<(), TransportError>;

    /// Queues `frame` now if [`send`](Self::send) would complete without waiting, exactly as that
    /// `send` would; `None` when it would wait (or the transport has no such path: the default), and
    /// then nothing was queued. Lets a caller with nothing else queued skip a task hand-over per frame
    /// (the node's links do: on loopback, a wakeup costs about what the frame's syscall does).
    ///
    /// # Errors
    /// As [`send`](Self::send), inside the `Some`.
    fn try_send(&self, frame: &Bytes) -> Option<Result<(), TransportError>> {
        let _ = frame;
        None
    }

    /// The next frame; `Ok(None)` once the peer closed cleanly. Cancel-safe: a dropped `recv` future
    /// loses no frame.
    ///
    /// # Errors
    /// [`TransportError::ConnectionLost`] for a reset or truncated link,
    /// [`TransportError::ProtocolViolation`] for an oversize or empty frame from the peer.
    async fn recv(&self) -> Result<Option<Bytes>, TransportError>;

    /// Sends what was accepted, then closes the sending direction; the peer's `recv` sees `Ok(None)`.
    /// This side's `recv` goes on until the peer closes too. Idempotent.
    ///
    /// # Errors
    /// [`TransportError::ConnectionLost`] if queued frames could not be flushed.
    async fn close(&self) -> Result<(), TransportError>;
}

/// Checks a frame against a connection's limit: transports call this at the top of `send`.
///
/// # Errors
/// [`TransportError::EmptyFrame`] or [`TransportError::FrameTooLarge`].
pub fn check_outgoing_frame(frame: &[u8], max_frame_len: usize) -> Result<(), TransportError> {
    match frame.len() {
        0 => Err(TransportError::EmptyFrame),
        len if len > max_frame_len => Err(TransportError::FrameTooLarge { len, limit: max_frame_len }),
        _ => Ok(()),
    }
}
