//! [`QuicTransport`]: endpoints, dialing, and the listener's [`Inbound`] source.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::{
    AcceptQueue, Connection, Handshake, Inbound, Listener, PeerAddress, Transport, TransportContext, TransportError,
};
use tracing::Instrument as _;

use crate::address::{peer_address, resolve, SCHEME};
use crate::connection::QuicConnection;
use crate::handshake::{authenticate, ProofMaker};
use crate::proof::{self, Role};
use crate::settings::{transport_config, udp_socket, DROP_FLUSH_LIMIT};
use crate::tls::{client_crypto, server_crypto, TlsSetupError, SERVER_NAME};

/// QUIC with the §3 identity proof. Share it behind an `Arc` (the registry does); listeners and
/// connections outlive it.
pub struct QuicTransport {
    ctx: TransportContext,
    make_proof: ProofMaker,
    server: quinn::ServerConfig,
    client: quinn::ClientConfig,
    /// One client endpoint (UDP socket) per local bind address, made on first use.
    clients: Mutex<HashMap<SocketAddr, quinn::Endpoint>>,
    drop_flush_limit: Duration,
}

impl std::fmt::Debug for QuicTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicTransport").field("local", &self.ctx.keypair.validator_id()).finish_non_exhaustive()
    }
}

impl QuicTransport {
    /// A transport for `ctx`'s identity, chain, admission handle and limits, with a fresh self-signed
    /// server certificate.
    ///
    /// # Errors
    /// [`TlsSetupError`] if the certificate or the TLS configuration cannot be made.
    pub fn new(ctx: TransportContext) -> Result<Self, TlsSetupError> {
        Self::with_proof_maker(ctx, Arc::new(proof::sign))
    }

    /// As [`Self::new`], with the proof this side presents made by `make_proof`. **Tests only**: lets a
    /// conformance impostor or a negative test present a forged or replayed proof over a real session.
    #[doc(hidden)]
    pub fn with_proof_maker(ctx: TransportContext, make_proof: ProofMaker) -> Result<Self, TlsSetupError> {
        let transport = transport_config();
        let mut server = quinn::ServerConfig::with_crypto(server_crypto()?);
        server.transport_config(transport.clone());
        let mut client = quinn::ClientConfig::new(client_crypto()?);
        client.transport_config(transport);
        Ok(QuicTransport {
            ctx,
            make_proof,
            server,
            client,
            clients: Mutex::new(HashMap::new()),
            drop_flush_limit: DROP_FLUSH_LIMIT,
        })
    }

    /// Replaces [`DROP_FLUSH_LIMIT`] for this transport's connections. **Tests only**: lets a test see
    /// a dropped connection give up in less than the 20 s production waits.
    #[doc(hidden)]
    pub fn with_drop_flush_limit_for_testing(mut self, limit: Duration) -> Self {
        self.drop_flush_limit = limit;
        self
    }

    /// The client endpoint for reaching `remote`: bound to loopback for a loopback peer (so tests bind
    /// nothing else), to the unspecified address of its family otherwise.
    fn client_endpoint(&self, remote: SocketAddr) -> Result<quinn::Endpoint, TransportError> {
        let local = match remote.ip() {
            IpAddr::V4(ip) if ip.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(ip) if ip.is_loopback() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let local = SocketAddr::new(local, 0);
        let mut clients = self.clients.lock().expect("never poisoned: no panics under the lock");
        if let Some(endpoint) = clients.get(&local) {
            return Ok(endpoint.clone());
        }
        let endpoint = endpoint(local, None)?;
        clients.insert(local, endpoint.clone());
        Ok(endpoint)
    }

    async fn dial_one(
        &self,
        remote: SocketAddr,
        addr: &PeerAddress,
        expected: Option<ValidatorId>,
    ) -> Result<QuicConnection, TransportError> {
        let unreachable = |reason: String| TransportError::Unreachable { addr: addr.to_string(), reason };
        let endpoint = self.client_endpoint(remote)?;
        let connecting =
            endpoint.connect_with(self.client.clone(), remote, SERVER_NAME).map_err(|e| unreachable(e.to_string()))?;
        let dial_timeout = self.ctx.config.dial_timeout;
        let conn = tokio::time::timeout(dial_timeout, connecting)
            .await
            .map_err(|_| TransportError::Timeout { what: "QUIC connect (TLS handshake)", after: dial_timeout })?
            .map_err(|e| unreachable(e.to_string()))?;
        let limit = self.ctx.config.handshake_timeout;
        let established = authenticate(&self.ctx, &self.make_proof, conn, Role::Client, expected, limit).await?;
        Ok(QuicConnection::spawn(established, self.ctx.config.max_frame_len, self.drop_flush_limit))
    }
}

/// An endpoint on a [`udp_socket`] at `local`, serving `server` if given.
fn endpoint(local: SocketAddr, server: Option<quinn::ServerConfig>) -> Result<quinn::Endpoint, TransportError> {
    let io = |source| TransportError::Io { addr: peer_address(local).to_string(), source };
    let socket = udp_socket(local).map_err(io)?;
    let runtime = quinn::default_runtime()
        .ok_or_else(|| io(std::io::Error::other("no async runtime: QUIC endpoints need tokio")))?;
    quinn::Endpoint::new(quinn::EndpointConfig::default(), server, socket, runtime).map_err(io)
}

#[async_trait]
impl Transport for QuicTransport {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    async fn listen(&self, addr: &PeerAddress) -> Result<Box<dyn Listener>, TransportError> {
        let socket = resolve(addr).await?[0];
        let endpoint = endpoint(socket, Some(self.server.clone()))?;
        let bound = endpoint.local_addr().map_err(|source| TransportError::Io { addr: addr.to_string(), source })?;
        let local = peer_address(bound);
        tracing::info!(addr = %local, "listening");
        let inbound = QuicInbound {
            endpoint,
            ctx: self.ctx.clone(),
            make_proof: self.make_proof.clone(),
            drop_flush_limit: self.drop_flush_limit,
        };
        Ok(Box::new(AcceptQueue::spawn(local, &self.ctx.config, inbound)))
    }

    async fn dial(
        &self,
        addr: &PeerAddress,
        expected: Option<ValidatorId>,
    ) -> Result<Box<dyn Connection>, TransportError> {
        let mut last_error = None;
        for remote in resolve(addr).await? {
            match self.dial_one(remote, addr, expected).await {
                Ok(connection) => return Ok(Box::new(connection)),
                // Another address of the name may answer; a handshake failure is final.
                Err(e @ (TransportError::Unreachable { .. } | TransportError::Timeout { .. })) => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.expect("resolve yields at least one address"))
    }
}

/// Inbound QUIC connections for the shared [`AcceptQueue`]: each runs TLS, then the §3 exchange as
/// the server, both within the queue's handshake limit.
struct QuicInbound {
    endpoint: quinn::Endpoint,
    ctx: TransportContext,
    make_proof: ProofMaker,
    drop_flush_limit: Duration,
}

impl Drop for QuicInbound {
    fn drop(&mut self) {
        // The listener is closed: refuse new connections now. The socket itself stays until the
        // connections this endpoint accepted have ended (they share it).
        self.endpoint.set_server_config(None);
    }
}

#[async_trait]
impl Inbound for QuicInbound {
    type Pending = quinn::Incoming;

    async fn next(&mut self) -> Option<quinn::Incoming> {
        self.endpoint.accept().await
    }

    fn authenticate(&self, incoming: quinn::Incoming) -> Handshake {
        let ctx = self.ctx.clone();
        let make_proof = self.make_proof.clone();
        let drop_flush_limit = self.drop_flush_limit;
        let remote = incoming.remote_address();
        let span = tracing::debug_span!("quic_inbound", %remote);
        Box::pin(
            async move {
                let conn = incoming.await.map_err(|e| TransportError::Handshake {
                    peer: peer_address(remote).to_string(),
                    failure: quorumnet_core::transport::HandshakeFailure::Protocol(format!("TLS: {e}")),
                })?;
                // The queue cuts the whole handshake off at its limit; this inner one is the same bound,
                // so the peer is told code 4 rather than just seeing the connection vanish.
                let limit = ctx.config.handshake_timeout;
                let established = authenticate(&ctx, &make_proof, conn, Role::Server, None, limit).await?;
                let connection = QuicConnection::spawn(established, ctx.config.max_frame_len, drop_flush_limit);
                tracing::debug!(peer = %Connection::remote(&connection), "inbound connection authenticated");
                Ok(Box::new(connection) as Box<dyn Connection>)
            }
            .instrument(span),
        )
    }
}
