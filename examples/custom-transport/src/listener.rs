//! Accepts TCP connections and runs their handshakes concurrently, bounded in number and in time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use quorumnet_core::transport::{Connection, Listener, PeerAddress, TransportContext, TransportError};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

use crate::{handshake, limit_unsent_kernel_bytes, within_handshake_timeout, TcpConnection, SCHEME};

/// After a failed `accept` (out of file descriptors, say), wait this long before the next, so the loop
/// does not spin while the condition lasts.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// A bound TCP socket whose accept loop runs in a task; dropped, it stops accepting.
pub struct TcpListener {
    local_addr: PeerAddress,
    ready: mpsc::Receiver<Box<dyn Connection>>,
    accept_loop: JoinHandle<()>,
}

impl TcpListener {
    /// Binds `addr` and starts accepting.
    pub(crate) async fn bind(ctx: TransportContext, addr: SocketAddr) -> Result<Self, TransportError> {
        let io = |source| TransportError::Io { addr: addr.to_string(), source };
        let socket = tokio::net::TcpListener::bind(addr).await.map_err(io)?;
        let bound = socket.local_addr().map_err(io)?;
        let local_addr =
            PeerAddress::new(SCHEME, &bound.to_string()).expect("a socket address is a valid address rest");
        // Finished connections wait here for `accept`; while it is full, handshake slots stay taken and
        // new peers wait in the OS backlog: the application's pace bounds the listener.
        let (found, ready) = mpsc::channel(ctx.config.max_concurrent_handshakes.max(1));
        let accept_loop = tokio::spawn(accept_loop(socket, ctx, found));
        Ok(TcpListener { local_addr, ready, accept_loop })
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

#[async_trait]
impl Listener for TcpListener {
    fn local_addr(&self) -> PeerAddress {
        self.local_addr.clone()
    }

    async fn accept(&mut self) -> Result<Box<dyn Connection>, TransportError> {
        self.ready.recv().await.ok_or_else(|| TransportError::ListenerClosed { addr: self.local_addr.to_string() })
    }
}

async fn accept_loop(socket: tokio::net::TcpListener, ctx: TransportContext, found: mpsc::Sender<Box<dyn Connection>>) {
    // A config of 0 would accept nobody: run at least one handshake at a time.
    let slots = Arc::new(Semaphore::new(ctx.config.max_concurrent_handshakes.max(1)));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let (stream, peer) = match socket.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "custom-tcp accept failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        let (ctx, found) = (ctx.clone(), found.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let peer = PeerAddress::new(SCHEME, &peer.to_string()).expect("a socket address is a valid address rest");
            match handshake_inbound(stream, &ctx, &peer).await {
                // The listener may be gone; then so is the connection.
                Ok(connection) => drop(found.send(connection).await),
                Err(e) => tracing::debug!(%peer, error = %e, "custom-tcp inbound handshake failed"),
            }
        });
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
