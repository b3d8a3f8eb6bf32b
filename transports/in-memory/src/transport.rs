//! [`MemoryTransport`] and its [`MemoryListener`].

use async_trait::async_trait;
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::{
    Connection, HandshakeFailure, Listener, PeerAddress, Transport, TransportContext, TransportError,
};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument as _;

use crate::connection::MemoryConnection;
use crate::handshake::{self, Prover, Role};
use crate::link::LinkEnd;
use crate::network::{MemoryNetwork, Registration};

/// The address scheme this transport serves.
pub const SCHEME: &str = "mem";

/// The `mem` transport: listens and dials on a [`MemoryNetwork`].
///
/// Every connection is mutually authenticated by a signed-nonce handshake run over the simulated
/// link (see the crate docs) and admitted by the context's live [`quorumnet_core::transport::Admission`].
///
/// ```
/// use std::sync::Arc;
/// use quorumnet_core::identity::{ChainId, Keypair};
/// use quorumnet_core::transport::{Admission, Transport, TransportConfig, TransportContext};
/// use quorumnet_memory::{MemoryNetwork, MemoryTransport};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let (alice, bob) = (Arc::new(Keypair::from_seed(&[1; 32])), Arc::new(Keypair::from_seed(&[2; 32])));
/// let admission = Admission::for_validators([alice.validator_id(), bob.validator_id()]);
/// let context = |keypair: &Arc<Keypair>| TransportContext {
///     keypair: keypair.clone(),
///     chain_id: ChainId::from_network_name("devnet"),
///     admission: admission.clone(),
///     config: TransportConfig::test(),
/// };
/// let network = MemoryNetwork::new(7);
/// let a = MemoryTransport::new(network.clone(), context(&alice));
/// let b = MemoryTransport::new(network, context(&bob));
///
/// let mut listener = b.listen(&"mem://bob".parse().unwrap()).await.unwrap();
/// let addr = listener.local_addr();
/// let (dialed, accepted) = tokio::join!(
///     a.dial(&addr, Some(bob.validator_id())),
///     listener.accept(),
/// );
/// let (dialed, accepted) = (dialed.unwrap(), accepted.unwrap());
/// assert_eq!(accepted.remote(), alice.validator_id());
/// dialed.send(bytes::Bytes::from_static(b"vote")).await.unwrap();
/// assert_eq!(&accepted.recv().await.unwrap().unwrap()[..], b"vote");
/// # });
/// ```
pub struct MemoryTransport {
    network: MemoryNetwork,
    ctx: TransportContext,
    prover: Prover,
}

impl MemoryTransport {
    /// A transport on `network` that proves `ctx.keypair`'s identity and admits by `ctx.admission`.
    pub fn new(network: MemoryNetwork, ctx: TransportContext) -> Self {
        let prover = Prover::Honest(ctx.keypair.clone());
        Self::with_prover(network, ctx, prover)
    }

    pub(crate) fn with_prover(network: MemoryNetwork, ctx: TransportContext, prover: Prover) -> Self {
        MemoryTransport { network, ctx, prover }
    }

    /// The network this transport lives on.
    pub fn network(&self) -> &MemoryNetwork {
        &self.network
    }

    /// The validator id that hosts this transport's links (for partitions and per-pair config).
    fn host(&self) -> ValidatorId {
        self.ctx.keypair.validator_id()
    }
}

/// The listener name in `addr`, or why `addr` is not a `mem` address.
fn listener_name(addr: &PeerAddress) -> Result<&str, TransportError> {
    if addr.scheme() == SCHEME {
        Ok(addr.rest())
    } else {
        Err(TransportError::InvalidAddress {
            addr: addr.to_string(),
            reason: format!("the in-memory transport serves {SCHEME}://name addresses"),
        })
    }
}

impl std::fmt::Debug for MemoryTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTransport").field("local", &self.host()).field("network", &self.network).finish()
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    /// Registers `mem://name` on the network; `mem://0` picks a fresh name, which
    /// [`Listener::local_addr`] reports.
    ///
    /// # Errors
    /// [`TransportError::InvalidAddress`] for another scheme, [`TransportError::Io`] with
    /// `AddrInUse` when the name is taken.
    async fn listen(&self, addr: &PeerAddress) -> Result<Box<dyn Listener>, TransportError> {
        let (registration, backlog) = self.network.register_listener(listener_name(addr)?, self.host())?;
        let local_addr = PeerAddress::new(SCHEME, registration.name())
            .map_err(|e| TransportError::InvalidAddress { addr: addr.to_string(), reason: e.to_string() })?;
        let capacity = self.ctx.config.max_concurrent_handshakes.max(1);
        let (ready_tx, ready) = mpsc::channel(capacity);
        let span = tracing::info_span!("mem_listener", addr = %local_addr);
        let acceptor = tokio::spawn(
            accept_loop(backlog, ready_tx, self.ctx.clone(), self.prover.clone(), capacity).instrument(span),
        );
        Ok(Box::new(MemoryListener { local_addr, ready, acceptor, _registration: registration }))
    }

    /// Opens a link to `addr` and runs the handshake, bounded by the config's `handshake_timeout`
    /// (opening the link itself is instantaneous, so `dial_timeout` is never the limit).
    ///
    /// # Errors
    /// [`TransportError::Unreachable`] at once when no listener has the name or a partition cuts it
    /// off; [`TransportError::Timeout`] when the handshake does not finish in time;
    /// [`TransportError::Handshake`] when the peer's proof fails, it is not admitted or not `expected`,
    /// or it refused us ([`HandshakeFailure::ClosedByPeer`]).
    async fn dial(
        &self,
        addr: &PeerAddress,
        expected: Option<ValidatorId>,
    ) -> Result<Box<dyn Connection>, TransportError> {
        let link = self.network.connect(Some(self.host()), listener_name(addr)?)?;
        let span = tracing::debug_span!("mem_dial", link = link.number(), to = %addr);
        let admission = &self.ctx.admission;
        let judge = |id: ValidatorId| {
            if let Some(expected) = expected.filter(|e| *e != id) {
                return Err(HandshakeFailure::UnexpectedIdentity { expected, actual: id });
            }
            admission.check(&id).map_err(|refusal| HandshakeFailure::NotAdmitted { id, refusal })
        };
        let limit = self.ctx.config.handshake_timeout;
        let handshake = handshake::run(&link, Role::Dialer, &self.prover, &self.ctx.chain_id, judge);
        let remote = tokio::time::timeout(limit, handshake.instrument(span))
            .await
            .map_err(|_| TransportError::Timeout { what: "mem handshake", after: limit })?
            .map_err(|failure| TransportError::Handshake { peer: addr.to_string(), failure })?;
        Ok(Box::new(MemoryConnection::new(link, remote, Some(addr.clone()), self.ctx.config.max_frame_len)))
    }
}

/// Accepts links from the backlog and runs up to `limit` handshakes at once, each bounded by the
/// handshake timeout; admitted connections go to `ready`. Dropping the task aborts its handshakes.
async fn accept_loop(
    mut backlog: mpsc::Receiver<LinkEnd>,
    ready: mpsc::Sender<MemoryConnection>,
    ctx: TransportContext,
    prover: Prover,
    limit: usize,
) {
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
            link = backlog.recv(), if handshakes.len() < limit => match link {
                Some(link) => {
                    let span = tracing::debug_span!("mem_inbound", link = link.number());
                    handshakes.spawn(inbound(link, ready.clone(), ctx.clone(), prover.clone()).instrument(span));
                }
                None => return,
            },
        }
    }
}

/// One inbound handshake; failures are logged, never returned.
async fn inbound(link: LinkEnd, ready: mpsc::Sender<MemoryConnection>, ctx: TransportContext, prover: Prover) {
    let limit = ctx.config.handshake_timeout;
    let admission = &ctx.admission;
    let judge = |id: ValidatorId| admission.check(&id).map_err(|refusal| HandshakeFailure::NotAdmitted { id, refusal });
    match tokio::time::timeout(limit, handshake::run(&link, Role::Listener, &prover, &ctx.chain_id, judge)).await {
        Ok(Ok(remote)) => {
            let connection = MemoryConnection::new(link, remote, None, ctx.config.max_frame_len);
            // If the listener is gone, dropping the connection closes it.
            let _ = ready.send(connection).await;
        }
        Ok(Err(failure)) => tracing::info!(%failure, "inbound handshake refused"),
        Err(_) => tracing::info!(after = ?limit, "inbound handshake timed out"),
    }
}

/// Accepts authenticated, admitted connections on one `mem://name`. Dropping it frees the name and
/// aborts handshakes in progress.
pub struct MemoryListener {
    local_addr: PeerAddress,
    ready: mpsc::Receiver<MemoryConnection>,
    acceptor: JoinHandle<()>,
    _registration: Registration,
}

impl std::fmt::Debug for MemoryListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryListener").field("local_addr", &self.local_addr).finish()
    }
}

impl Drop for MemoryListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

#[async_trait]
impl Listener for MemoryListener {
    fn local_addr(&self) -> PeerAddress {
        self.local_addr.clone()
    }

    async fn accept(&mut self) -> Result<Box<dyn Connection>, TransportError> {
        match self.ready.recv().await {
            Some(connection) => Ok(Box::new(connection)),
            None => Err(TransportError::ListenerClosed { addr: self.local_addr.to_string() }),
        }
    }
}
