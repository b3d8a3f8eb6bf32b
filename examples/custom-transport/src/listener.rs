//! The inbound side: TCP connections accepted from a bound socket and handed, one handshake each, to
//! core's shared [`AcceptQueue`], which runs them concurrently, bounded in number and in time.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use quorumnet_core::transport::{
    AcceptQueue, Connection, Handshake, Inbound, PeerAddress, TransportContext, TransportError,
};

use crate::{handshake, limit_unsent_kernel_bytes, within_handshake_timeout, TcpConnection, SCHEME};

/// After a failed `accept` (out of file descriptors, say), wait this long before the next, so the loop
/// does not spin while the condition lasts.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// Binds `addr` and starts accepting; the returned queue is the [`Listener`](quorumnet_core::transport::Listener),
/// and dropping it stops accepting.
pub(crate) async fn bind(ctx: TransportContext, addr: SocketAddr) -> Result<AcceptQueue, TransportError> {
    let io = |source| TransportError::Io { addr: addr.to_string(), source };
    let socket = tokio::net::TcpListener::bind(addr).await.map_err(io)?;
    let bound = socket.local_addr().map_err(io)?;
    let local_addr = PeerAddress::new(SCHEME, &bound.to_string()).expect("a socket address is a valid address rest");
    let config = ctx.config.clone();
    Ok(AcceptQueue::spawn(local_addr, &config, TcpInbound { socket, ctx }))
}

/// A bound TCP socket as the queue's source of raw inbound connections.
struct TcpInbound {
    socket: tokio::net::TcpListener,
    ctx: TransportContext,
}

#[async_trait]
impl Inbound for TcpInbound {
    type Pending = (tokio::net::TcpStream, SocketAddr);

    async fn next(&mut self) -> Option<Self::Pending> {
        loop {
            match self.socket.accept().await {
                Ok(accepted) => return Some(accepted),
                Err(e) => {
                    tracing::warn!(error = %e, "custom-tcp accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            }
        }
    }

    fn authenticate(&self, (stream, peer): Self::Pending) -> Handshake {
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let peer = PeerAddress::new(SCHEME, &peer.to_string()).expect("a socket address is a valid address rest");
            handshake_inbound(stream, &ctx, &peer).await
        })
    }
}

async fn handshake_inbound(
    mut stream: tokio::net::TcpStream,
    ctx: &TransportContext,
    peer: &PeerAddress,
) -> Result<Box<dyn Connection>, TransportError> {
    limit_unsent_kernel_bytes(&stream, peer)?;
    let local = handshake::Local { key: &ctx.keypair, chain: &ctx.chain_id, admission: &ctx.admission };
    let remote = within_handshake_timeout(ctx, peer, handshake::accept(&mut stream, &local)).await?;
    Ok(Box::new(TcpConnection::new(stream, remote, peer.clone(), ctx.config.max_frame_len)))
}
