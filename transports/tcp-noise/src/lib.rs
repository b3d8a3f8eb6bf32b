//! # quorumnet-tcp-noise
//!
//! The `tcp-noise` transport: TCP carrying core's Noise secure channel
//! ([`quorumnet_core::secure`], WIRE.md §2). Addresses are `tcp-noise://host:port` — IPv4 and IPv6
//! literals (`tcp-noise://[::1]:7000`) or names; port 0 on `listen` picks a free port, which
//! [`Listener::local_addr`] reports.
//!
//! ## Guarantees
//! - Every connection is mutually authenticated, admitted by the live
//!   [`Admission`](quorumnet_core::transport::Admission) handle and, for a
//!   dialer that names one, the expected validator. Listener-side refusals reset the TCP connection.
//! - Dialing is bounded by `dial_timeout` (resolution and connect) plus `handshake_timeout`; a listener
//!   runs at most `max_concurrent_handshakes` handshakes at once (further peers wait in the OS backlog),
//!   each bounded by `handshake_timeout` from accept. Handshake failures are logged (`tracing`, target
//!   `quorumnet_tcp_noise`) and never surface from [`Listener::accept`].
//! - Sockets use `TCP_NODELAY` (the writer already coalesces), keepalive, and on Linux/Android
//!   `TCP_NOTSENT_LOWAT`.
//!
//! ## K, the unsent bound
//! `K =` [`SEND_BUDGET`] (176 KiB: the user-space queue plus the writer's batch — credit returns only
//! after `write` handed the bytes to the kernel) `+` [`KERNEL_UNSENT_BOUND`] (80 KiB: the kernel
//! starts a new segment of a write only while fewer than [`NOTSENT_LOWAT`] = 16 KiB are unsent, and
//! fills that segment up to one GSO size of 64 KiB, the loopback and Ethernet default)
//! `= 256 KiB`, the contract's ceiling.
//! On systems without `TCP_NOTSENT_LOWAT` the kernel part is the socket send buffer and K is not
//! honest; the transport still works. A single frame larger than the send budget is accepted into an
//! empty queue.
//!
//! ```no_run
//! # async fn demo(ctx: quorumnet_core::transport::TransportContext) -> Result<(), quorumnet_core::transport::TransportError> {
//! use quorumnet_core::transport::{Connection, Listener, Transport};
//! use quorumnet_tcp_noise::TcpNoiseTransport;
//!
//! let transport = TcpNoiseTransport::new(ctx);
//! let mut listener = transport.listen(&"tcp-noise://127.0.0.1:0".parse().unwrap()).await?;
//! let addr = listener.local_addr();
//! let inbound = tokio::spawn(async move { listener.accept().await });
//! let conn = transport.dial(&addr, None).await?;
//! conn.send("hello".into()).await?;
//! # drop(inbound);
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::secure::{run_handshake, ChannelOptions, NoiseHandshake, Role, SecureConnection};
use quorumnet_core::transport::{
    tcp, AcceptQueue, Connection, Handshake, Inbound, Listener, PeerAddress, Transport, TransportContext,
    TransportError, TransportPlugin, MAX_UNSENT_BOUND,
};
use tokio::io::AsyncWrite;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tracing::Instrument;

/// The address scheme, without `://`.
pub const SCHEME: &str = "tcp-noise";

pub use quorumnet_core::transport::tcp::{KERNEL_UNSENT_BOUND, NOTSENT_LOWAT};

/// User-space part of K: frame bytes (with their u32 prefixes) queued or in the writer's batch —
/// whatever of the 256 KiB the kernel part leaves, 176 KiB.
pub const SEND_BUDGET: usize = MAX_UNSENT_BOUND - KERNEL_UNSENT_BOUND;

const _: () = assert!(SEND_BUDGET + KERNEL_UNSENT_BOUND <= MAX_UNSENT_BOUND);

/// TCP + Noise. Share it behind an `Arc` (the registry does); listeners and connections outlive it.
#[derive(Debug)]
pub struct TcpNoiseTransport {
    ctx: TransportContext,
}

impl TcpNoiseTransport {
    /// A transport for `ctx`'s identity, chain, admission handle and limits.
    pub fn new(ctx: TransportContext) -> Self {
        TcpNoiseTransport { ctx }
    }
}

/// `host:port` from `tcp-noise://host:port`.
fn socket_target(addr: &PeerAddress) -> Result<&str, TransportError> {
    if addr.scheme() != SCHEME {
        let reason = "not a tcp-noise:// address".to_owned();
        return Err(TransportError::InvalidAddress { addr: addr.to_string(), reason });
    }
    tcp::check_host_port(addr, addr.rest())?;
    Ok(addr.rest())
}

fn peer_address(socket: SocketAddr) -> PeerAddress {
    PeerAddress::new(SCHEME, &socket.to_string()).expect("a socket address is a valid address rest")
}

/// Configures `stream`, runs the handshake and starts the channel. Until the handshake succeeds the
/// socket lingers 0, so a failed handshake, and one the listener's own deadline cuts off by dropping
/// this future, resets the connection: the peer sees a refusal rather than a clean end.
async fn secure(
    ctx: &TransportContext,
    mut stream: TcpStream,
    remote: SocketAddr,
    role: Role,
    expected: Option<ValidatorId>,
) -> Result<SecureConnection, TransportError> {
    let remote_addr = peer_address(remote);
    let io_error = |source| TransportError::Io { addr: remote_addr.to_string(), source };
    tcp::configure(&stream).map_err(io_error)?;
    socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO)).map_err(io_error)?;
    let handshake = NoiseHandshake::new(role, ctx, expected);
    let timeout = ctx.config.handshake_timeout;
    let established = run_handshake(&mut stream, handshake, timeout, remote_addr.as_str()).await?;
    socket2::SockRef::from(&stream).set_linger(None).map_err(io_error)?;
    let options = ChannelOptions {
        send_budget: SEND_BUDGET,
        stream_unsent_bound: KERNEL_UNSENT_BOUND,
        remote_addr: Some(remote_addr),
        ..ChannelOptions::new(ctx.config.max_frame_len)
    };
    let (read, write) = stream.into_split();
    Ok(SecureConnection::spawn_split(
        established,
        read,
        ResetUnlessShutDown { inner: Some(write), shut_down: false },
        options,
    ))
}

/// The write half the secure channel drives. A clean `shutdown` (after the writer flushed) sends FIN.
/// Dropped without one — the channel failed and discarded queued frames — it arms linger 0 and lets
/// the socket close with the read half, as a reset: the peer sees its connection fail, never a clean
/// end that would hide frames it will not get.
struct ResetUnlessShutDown {
    inner: Option<OwnedWriteHalf>,
    shut_down: bool,
}

impl ResetUnlessShutDown {
    fn half(&mut self) -> Pin<&mut OwnedWriteHalf> {
        Pin::new(self.inner.as_mut().expect("present until drop"))
    }
}

impl AsyncWrite for ResetUnlessShutDown {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.half().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.half().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let result = ready!(self.half().poll_shutdown(cx));
        self.shut_down = result.is_ok();
        Poll::Ready(result)
    }
}

impl Drop for ResetUnlessShutDown {
    fn drop(&mut self) {
        if let Some(half) = self.inner.take().filter(|_| !self.shut_down) {
            // Best effort: the socket closes either way.
            let _ = socket2::SockRef::from(half.as_ref()).set_linger(Some(Duration::ZERO));
            half.forget();
        }
    }
}

#[async_trait]
impl Transport for TcpNoiseTransport {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    async fn listen(&self, addr: &PeerAddress) -> Result<Box<dyn Listener>, TransportError> {
        let socket = tcp::resolve(addr, socket_target(addr)?).await?[0];
        let io_error = |source| TransportError::Io { addr: addr.to_string(), source };
        let listener = TcpListener::bind(socket).await.map_err(io_error)?;
        let local = peer_address(listener.local_addr().map_err(io_error)?);
        tracing::info!(addr = %local, "listening");
        let inbound = TcpInbound { listener, ctx: self.ctx.clone() };
        Ok(Box::new(AcceptQueue::spawn(local, &self.ctx.config, inbound)))
    }

    async fn dial(
        &self,
        addr: &PeerAddress,
        expected: Option<ValidatorId>,
    ) -> Result<Box<dyn Connection>, TransportError> {
        let stream = tcp::connect(addr, socket_target(addr)?, self.ctx.config.dial_timeout).await?;
        let remote = stream.peer_addr().map_err(|source| TransportError::Io { addr: addr.to_string(), source })?;
        let connection = secure(&self.ctx, stream, remote, Role::Initiator, expected).await?;
        Ok(Box::new(connection))
    }
}

/// Inbound TCP connections for the shared [`AcceptQueue`], each secured as a responder.
struct TcpInbound {
    listener: TcpListener,
    ctx: TransportContext,
}

#[async_trait]
impl Inbound for TcpInbound {
    type Pending = (TcpStream, SocketAddr);

    async fn next(&mut self) -> Option<Self::Pending> {
        Some(tcp::accept(&self.listener).await)
    }

    fn authenticate(&self, (stream, remote): Self::Pending) -> Handshake {
        let ctx = self.ctx.clone();
        let span = tracing::debug_span!("tcp_inbound", %remote);
        Box::pin(
            async move {
                let connection = secure(&ctx, stream, remote, Role::Responder, None).await?;
                tracing::debug!(peer = %Connection::remote(&connection), "inbound connection authenticated");
                Ok(Box::new(connection) as Box<dyn Connection>)
            }
            .instrument(span),
        )
    }
}

inventory::submit! {
    TransportPlugin {
        scheme: SCHEME,
        description: "TCP with the Noise_XX secure channel (WIRE.md §2)",
        build: |ctx| Ok(Arc::new(TcpNoiseTransport::new(ctx.clone()))),
    }
}
