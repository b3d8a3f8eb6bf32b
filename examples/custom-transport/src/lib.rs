//! # custom-transport-example
//!
//! A quorumnet transport written the way a third party would write one: against `quorumnet-core`'s
//! public API only, registered by scheme, and proven by `quorumnet-conformance`. It is an example, not
//! a product: the link is authenticated but **not encrypted** (use `tcp-noise` for that).
//!
//! - Addresses: `custom-tcp://IP:PORT` (IPv4 or `[IPv6]`); port 0 on `listen` picks a free port, which
//!   [`Listener::local_addr`] reports.
//! - Handshake: a signed challenge (see [`handshake`]), bounded by the config's `handshake_timeout`,
//!   counted from accept / connect; the connect itself is bounded by `dial_timeout`. The listener runs up
//!   to `max_concurrent_handshakes` at once; more connection attempts wait in the OS backlog.
//! - Frames: u32 big-endian length prefix (`quorumnet_core::codec::framing`), 1 byte up to the config's
//!   `max_frame_len`. An oversize or empty frame from the peer is a protocol violation.
//! - Backpressure: K = 256 KiB ([`connection::UNSENT_BOUND`]): 128 KiB in user space, 64 KiB of unsent
//!   kernel buffer (`TCP_NOTSENT_LOWAT` on Linux, `SO_SNDBUF` elsewhere) and 64 KiB for the kernel's
//!   overshoot. A frame larger than the user-space budget waits for an empty queue, then travels alone.
//! - Close: `close` writes what was accepted, then half-closes (FIN); the peer's `recv` returns every
//!   frame, then `Ok(None)`. Our own `recv` keeps working until the peer closes too. Dropping a
//!   connection does the same without waiting, giving the unsent frames at most
//!   [`connection::DROP_LINGER`] (10 s) to leave before the link is abandoned.
//!
//! ```no_run
//! use std::sync::Arc;
//! use custom_transport_example::CustomTcp;
//! use quorumnet_core::identity::{ChainId, Keypair};
//! use quorumnet_core::transport::{Admission, Transport, TransportConfig, TransportContext};
//!
//! # async fn run() -> Result<(), quorumnet_core::transport::TransportError> {
//! let key = Arc::new(Keypair::from_seed(&[1; 32]));
//! let ctx = TransportContext {
//!     admission: Admission::for_validators([key.validator_id()]),
//!     keypair: key,
//!     chain_id: ChainId::from_network_name("devnet"),
//!     config: TransportConfig::local(),
//! };
//! let transport = CustomTcp::new(ctx);
//! let mut listener = transport.listen(&"custom-tcp://127.0.0.1:0".parse().unwrap()).await?;
//! println!("listening on {}", listener.local_addr());
//! let connection = listener.accept().await?;
//! println!("{} connected", connection.remote());
//! # Ok(()) }
//! ```

pub mod connection;
pub mod handshake;
mod listener;

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::{
    Connection, HandshakeFailure, Listener, PeerAddress, Transport, TransportContext, TransportError, TransportPlugin,
};
use tokio::net::TcpStream;

pub use connection::TcpConnection;

/// The address scheme this transport serves.
pub const SCHEME: &str = "custom-tcp";

inventory::submit! {
    TransportPlugin {
        scheme: SCHEME,
        description: "example third-party transport: TCP with a signed challenge (authenticated, not encrypted)",
        build: |ctx| Ok(Arc::new(CustomTcp::new(ctx.clone()))),
    }
}

/// TCP with a signed-challenge handshake. Cheap to clone the context into; one per node.
pub struct CustomTcp {
    ctx: TransportContext,
}

impl CustomTcp {
    /// A transport for the node described by `ctx`.
    pub fn new(ctx: TransportContext) -> Self {
        CustomTcp { ctx }
    }
}

#[async_trait]
impl Transport for CustomTcp {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    async fn listen(&self, addr: &PeerAddress) -> Result<Box<dyn Listener>, TransportError> {
        Ok(Box::new(listener::bind(self.ctx.clone(), socket_addr(addr)?).await?))
    }

    async fn dial(
        &self,
        addr: &PeerAddress,
        expected: Option<ValidatorId>,
    ) -> Result<Box<dyn Connection>, TransportError> {
        let target = socket_addr(addr)?;
        let config = &self.ctx.config;
        let mut stream = tokio::time::timeout(config.dial_timeout, TcpStream::connect(target))
            .await
            .map_err(|_| TransportError::Timeout { what: "custom-tcp connect", after: config.dial_timeout })?
            .map_err(|e| TransportError::Unreachable { addr: addr.to_string(), reason: e.to_string() })?;
        limit_unsent_kernel_bytes(&stream, addr)?;
        let local =
            handshake::Local { key: &self.ctx.keypair, chain: &self.ctx.chain_id, admission: &self.ctx.admission };
        let remote = within_handshake_timeout(&self.ctx, addr, handshake::dial(&mut stream, &local, expected)).await?;
        Ok(Box::new(TcpConnection::new(stream, remote, addr.clone(), config.max_frame_len)))
    }
}

/// Runs a handshake under the configured limit and turns its failure into a [`TransportError`].
async fn within_handshake_timeout(
    ctx: &TransportContext,
    peer: &PeerAddress,
    handshake: impl std::future::Future<Output = Result<ValidatorId, handshake::HandshakeError>>,
) -> Result<ValidatorId, TransportError> {
    let after = ctx.config.handshake_timeout;
    match tokio::time::timeout(after, handshake).await {
        Err(_) => Err(TransportError::Timeout { what: "custom-tcp handshake", after }),
        Ok(Ok(id)) => Ok(id),
        Ok(Err(handshake::HandshakeError::Failure(failure))) => Err(handshake_error(peer, failure)),
        Ok(Err(handshake::HandshakeError::Io(source))) => Err(TransportError::Io { addr: peer.to_string(), source }),
    }
}

fn handshake_error(peer: &PeerAddress, failure: HandshakeFailure) -> TransportError {
    TransportError::Handshake { peer: peer.to_string(), failure }
}

/// The socket address of a `custom-tcp://IP:PORT` address.
fn socket_addr(addr: &PeerAddress) -> Result<SocketAddr, TransportError> {
    let invalid = |reason: String| TransportError::InvalidAddress { addr: addr.to_string(), reason };
    if addr.scheme() != SCHEME {
        return Err(invalid(format!("this transport serves {SCHEME}://, not {}://", addr.scheme())));
    }
    addr.rest().parse().map_err(|e| invalid(format!("expected IP:PORT, e.g. {SCHEME}://127.0.0.1:7000 ({e})")))
}

/// Bounds the unsent bytes the kernel holds for `stream` (see [`connection`]).
fn limit_unsent_kernel_bytes(stream: &TcpStream, addr: &PeerAddress) -> Result<(), TransportError> {
    let socket = socket2::SockRef::from(stream);
    let io = |source| TransportError::Io { addr: addr.to_string(), source };
    socket.set_tcp_nodelay(true).map_err(io)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket.set_tcp_notsent_lowat(connection::KERNEL_UNSENT_BYTES as u32).map_err(io)?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    socket.set_send_buffer_size(connection::KERNEL_UNSENT_BYTES).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorumnet_core::identity::{ChainId, Keypair};
    use quorumnet_core::transport::{build_transport, Admission, TransportConfig};

    #[test]
    fn registers_under_its_scheme() {
        let key = Arc::new(Keypair::from_seed(&[1; 32]));
        let ctx = TransportContext {
            admission: Admission::open(),
            keypair: key,
            chain_id: ChainId::from_network_name("test"),
            config: TransportConfig::test(),
        };
        let transport = build_transport(&"custom-tcp://127.0.0.1:1".parse().unwrap(), &ctx).unwrap();
        assert_eq!(transport.scheme(), SCHEME);
    }

    #[test]
    fn refuses_addresses_it_cannot_use() {
        assert!(matches!(
            socket_addr(&"tcp-noise://127.0.0.1:1".parse().unwrap()),
            Err(TransportError::InvalidAddress { .. })
        ));
        assert!(matches!(
            socket_addr(&"custom-tcp://localhost".parse().unwrap()),
            Err(TransportError::InvalidAddress { .. })
        ));
        assert_eq!(socket_addr(&"custom-tcp://[::1]:7".parse().unwrap()).unwrap(), "[::1]:7".parse().unwrap());
    }
}
