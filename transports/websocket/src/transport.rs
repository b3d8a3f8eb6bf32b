//! [`WebSocketTransport`]: listening and dialing, and what runs between TCP accept/connect and the
//! secure channel — TLS (`wss://`), the HTTP upgrade, the Noise handshake — all of it within the
//! handshake timeout.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::secure::{run_handshake, ChannelOptions, NoiseHandshake, NoiseKeys, Role, SecureConnection};
use quorumnet_core::transport::{
    tcp, AcceptQueue, Connection, Handshake, HandshakeFailure, Inbound, Listener, PeerAddress, Transport,
    TransportContext, TransportError,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument as _;

use crate::address::{peer_address, WsAddress, SCHEME, SECURE_SCHEME};
use crate::settings::{stream_unsent_bound, SEND_BUDGET, TLS_UNSENT_BOUND};
use crate::stream::WsByteStream;
use crate::tls::WssConfig;
use crate::upgrade;

/// WebSocket + Noise, for `ws://` ([`Self::new`]) or `wss://` ([`Self::secure`]) addresses. Share it
/// behind an `Arc` (the registry does); listeners and connections outlive it.
///
/// ```no_run
/// # async fn demo(ctx: quorumnet_core::transport::TransportContext) -> Result<(), Box<dyn std::error::Error>> {
/// use quorumnet_core::transport::{Connection, Listener, Transport};
/// use quorumnet_websocket::{WebSocketTransport, WssConfig};
///
/// let tls = WssConfig::new()
///     .serve_pem_files("cert.pem".as_ref(), "key.pem".as_ref())?
///     .trust_pem_file("peers-ca.pem".as_ref())?;
/// let transport = WebSocketTransport::secure(ctx, tls);
/// let mut listener = transport.listen(&"wss://0.0.0.0:443/quorumnet".parse()?).await?;
/// let conn = transport.dial(&"wss://validator-7.example:443/quorumnet".parse()?, None).await?;
/// conn.send("hello".into()).await?;
/// # drop(listener); Ok(()) }
/// ```
pub struct WebSocketTransport {
    ctx: TransportContext,
    scheme: &'static str,
    /// `wss://` only.
    tls: Option<WssConfig>,
    /// Tests only: replaces the identity payload this side's dials present.
    forge: Option<PayloadForger>,
}

/// Makes the (encoded) identity payload a dial presents for a handshake with these Noise keys.
/// **Tests only**, see [`WebSocketTransport::with_payload_forger_for_testing`].
pub type PayloadForger = Arc<dyn Fn(&NoiseKeys) -> Vec<u8> + Send + Sync>;

impl std::fmt::Debug for WebSocketTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketTransport").field("scheme", &self.scheme).field("tls", &self.tls).finish()
    }
}

impl WebSocketTransport {
    /// A `ws://` transport (no TLS) for `ctx`'s identity, chain, admission handle and limits.
    pub fn new(ctx: TransportContext) -> Self {
        WebSocketTransport { ctx, scheme: SCHEME, tls: None, forge: None }
    }

    /// A `wss://` transport: listeners serve `tls`'s certificate, dialers trust its roots. A config
    /// without a certificate can only dial, one without roots only listen.
    pub fn secure(ctx: TransportContext, tls: WssConfig) -> Self {
        WebSocketTransport { ctx, scheme: SECURE_SCHEME, tls: Some(tls), forge: None }
    }

    /// Makes this transport's dials present `forge`'s identity payload over the real TLS, upgrade and
    /// Noise handshake. **Tests only**: lets a conformance impostor or a negative test present a
    /// forged or replayed proof; honest code never calls it.
    #[doc(hidden)]
    pub fn with_payload_forger_for_testing(mut self, forge: PayloadForger) -> Self {
        self.forge = Some(forge);
        self
    }

    fn missing_tls(&self, addr: &PeerAddress, what: &str) -> TransportError {
        let reason = format!("{what}: build the transport with WebSocketTransport::secure and a WssConfig");
        TransportError::Io {
            addr: addr.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, reason),
        }
    }
}

/// The Noise handshake over the upgraded WebSocket, then the secure channel with this transport's K.
async fn secure_channel<S>(
    ctx: &TransportContext,
    ws: WebSocketStream<S>,
    remote_addr: PeerAddress,
    role: Role,
    expected: Option<ValidatorId>,
    tls: bool,
    forge: Option<&PayloadForger>,
) -> Result<SecureConnection, TransportError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut stream = WsByteStream::new(ws);
    let keys = NoiseKeys::generate();
    let mut handshake =
        NoiseHandshake::with_keys(role, &ctx.keypair, ctx.chain_id, ctx.admission.clone(), expected, &keys);
    if let Some(forge) = forge {
        handshake.replace_local_payload_for_testing(forge(&keys));
    }
    let established = run_handshake(&mut stream, handshake, ctx.config.handshake_timeout, remote_addr.as_str()).await?;
    let options = ChannelOptions {
        send_budget: SEND_BUDGET,
        stream_unsent_bound: stream_unsent_bound(tls),
        remote_addr: Some(remote_addr),
        ..ChannelOptions::new(ctx.config.max_frame_len)
    };
    Ok(SecureConnection::spawn(established, stream, options))
}

fn tls_failed(peer: &PeerAddress, error: std::io::Error) -> TransportError {
    TransportError::Handshake { peer: peer.to_string(), failure: HandshakeFailure::Protocol(format!("TLS: {error}")) }
}

/// The dialer's side after connect: TLS when `connector` is given, the upgrade, Noise.
async fn dial_over(
    ctx: &TransportContext,
    stream: TcpStream,
    addr: &WsAddress<'_>,
    remote_addr: PeerAddress,
    expected: Option<ValidatorId>,
    connector: Option<TlsConnector>,
    forge: Option<&PayloadForger>,
) -> Result<SecureConnection, TransportError> {
    let Some(connector) = connector else {
        let ws = upgrade::client(stream, addr, &remote_addr).await?;
        return secure_channel(ctx, ws, remote_addr, Role::Initiator, expected, false, forge).await;
    };
    let name = rustls::pki_types::ServerName::try_from(addr.host.to_owned()).map_err(|e| {
        TransportError::InvalidAddress { addr: remote_addr.to_string(), reason: format!("not a TLS server name: {e}") }
    })?;
    let mut tls = connector.connect(name, stream).await.map_err(|e| tls_failed(&remote_addr, e))?;
    tls.get_mut().1.set_buffer_limit(Some(TLS_UNSENT_BOUND));
    let ws = upgrade::client(tls, addr, &remote_addr).await?;
    secure_channel(ctx, ws, remote_addr, Role::Initiator, expected, true, forge).await
}

#[async_trait]
impl Transport for WebSocketTransport {
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    async fn listen(&self, addr: &PeerAddress) -> Result<Box<dyn Listener>, TransportError> {
        let parsed = WsAddress::parse(addr, self.scheme)?;
        let acceptor = match &self.tls {
            None => None,
            Some(tls) => Some(TlsAcceptor::from(
                tls.server.clone().ok_or_else(|| self.missing_tls(addr, "wss:// listeners need a certificate"))?,
            )),
        };
        let socket = tcp::resolve(addr, parsed.host_port).await?[0];
        let io_error = |source| TransportError::Io { addr: addr.to_string(), source };
        let listener = TcpListener::bind(socket).await.map_err(io_error)?;
        let local = peer_address(self.scheme, listener.local_addr().map_err(io_error)?, parsed.path);
        tracing::info!(addr = %local, "listening");
        let inbound = WsInbound { listener, ctx: self.ctx.clone(), scheme: self.scheme, acceptor };
        Ok(Box::new(AcceptQueue::spawn(local, &self.ctx.config, inbound)))
    }

    async fn dial(
        &self,
        addr: &PeerAddress,
        expected: Option<ValidatorId>,
    ) -> Result<Box<dyn Connection>, TransportError> {
        let parsed = WsAddress::parse(addr, self.scheme)?;
        let connector = match &self.tls {
            None => None,
            Some(tls) => Some(TlsConnector::from(
                tls.client.clone().ok_or_else(|| self.missing_tls(addr, "wss:// dialers need trusted roots"))?,
            )),
        };
        let stream = tcp::connect(addr, parsed.host_port, self.ctx.config.dial_timeout).await?;
        let io_error = |source| TransportError::Io { addr: addr.to_string(), source };
        tcp::configure(&stream).map_err(io_error)?;
        let remote = stream.peer_addr().map_err(io_error)?;
        let remote_addr = peer_address(self.scheme, remote, parsed.path);
        let span = tracing::debug_span!("ws_dial", addr = %remote_addr);
        let limit = self.ctx.config.handshake_timeout;
        let connection = tokio::time::timeout(
            limit,
            dial_over(&self.ctx, stream, &parsed, remote_addr, expected, connector, self.forge.as_ref()),
        )
        .instrument(span)
        .await
        .map_err(|_| TransportError::Timeout { what: "WebSocket handshake (TLS, upgrade, Noise)", after: limit })??;
        Ok(Box::new(connection))
    }
}

/// Inbound TCP connections for the shared [`AcceptQueue`] (which bounds each by the handshake
/// timeout from accept): TLS when serving `wss://`, the upgrade, Noise as the responder.
struct WsInbound {
    listener: TcpListener,
    ctx: TransportContext,
    scheme: &'static str,
    acceptor: Option<TlsAcceptor>,
}

async fn answer(
    ctx: TransportContext,
    stream: TcpStream,
    remote_addr: PeerAddress,
    acceptor: Option<TlsAcceptor>,
) -> Result<SecureConnection, TransportError> {
    tcp::configure(&stream).map_err(|source| TransportError::Io { addr: remote_addr.to_string(), source })?;
    let Some(acceptor) = acceptor else {
        let ws = upgrade::server(stream, &remote_addr).await?;
        return secure_channel(&ctx, ws, remote_addr, Role::Responder, None, false, None).await;
    };
    let mut tls = acceptor.accept(stream).await.map_err(|e| tls_failed(&remote_addr, e))?;
    tls.get_mut().1.set_buffer_limit(Some(TLS_UNSENT_BOUND));
    let ws = upgrade::server(tls, &remote_addr).await?;
    secure_channel(&ctx, ws, remote_addr, Role::Responder, None, true, None).await
}

#[async_trait]
impl Inbound for WsInbound {
    type Pending = (TcpStream, SocketAddr);

    async fn next(&mut self) -> Option<Self::Pending> {
        Some(tcp::accept(&self.listener).await)
    }

    fn authenticate(&self, (stream, remote): Self::Pending) -> Handshake {
        let remote_addr = peer_address(self.scheme, remote, "/");
        let span = tracing::debug_span!("ws_inbound", %remote);
        let connecting = answer(self.ctx.clone(), stream, remote_addr, self.acceptor.clone());
        Box::pin(
            async move {
                let connection = connecting.await?;
                tracing::debug!(peer = %Connection::remote(&connection), "inbound connection authenticated");
                Ok(Box::new(connection) as Box<dyn Connection>)
            }
            .instrument(span),
        )
    }
}

/// Builds the transport a registry asks for: `ws://` always; `wss://` needs certificates, which the
/// registry has no way to pass (see the crate docs for how to build one).
pub(crate) fn build_secure_from_registry(_: &TransportContext) -> Result<Arc<dyn Transport>, TransportError> {
    let reason = "wss:// needs a certificate or trusted roots, which the registry cannot pass: build \
                  WebSocketTransport::secure(ctx, WssConfig) and hand it to NodeBuilder::transport_with";
    Err(TransportError::Io {
        addr: format!("{SECURE_SCHEME}://"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, reason),
    })
}
