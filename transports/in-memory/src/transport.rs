//! [`MemoryTransport`] and its [`MemoryListener`].

use async_trait::async_trait;
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::{
    AcceptQueue, Connection, Handshake, HandshakeFailure, Inbound, Listener, PeerAddress, Transport, TransportContext,
    TransportError,
};
use tokio::sync::mpsc;
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

    fn is_simulated(&self) -> bool {
        true
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
        let inbound = MemoryInbound { backlog, ctx: self.ctx.clone(), prover: self.prover.clone() };
        let queue = AcceptQueue::spawn(local_addr, &self.ctx.config, inbound);
        Ok(Box::new(MemoryListener { queue, _registration: registration }))
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

/// Links from the network's backlog for the shared [`AcceptQueue`], each run through the listener side
/// of the handshake.
struct MemoryInbound {
    backlog: mpsc::Receiver<LinkEnd>,
    ctx: TransportContext,
    prover: Prover,
}

#[async_trait]
impl Inbound for MemoryInbound {
    type Pending = LinkEnd;

    async fn next(&mut self) -> Option<LinkEnd> {
        self.backlog.recv().await
    }

    fn authenticate(&self, link: LinkEnd) -> Handshake {
        let (ctx, prover) = (self.ctx.clone(), self.prover.clone());
        let span = tracing::debug_span!("mem_inbound", link = link.number());
        Box::pin(
            async move {
                let admission = &ctx.admission;
                let judge = |id: ValidatorId| {
                    admission.check(&id).map_err(|refusal| HandshakeFailure::NotAdmitted { id, refusal })
                };
                let remote =
                    handshake::run(&link, Role::Listener, &prover, &ctx.chain_id, judge).await.map_err(|failure| {
                        TransportError::Handshake { peer: format!("inbound link {}", link.number()), failure }
                    })?;
                Ok(Box::new(MemoryConnection::new(link, remote, None, ctx.config.max_frame_len)) as Box<dyn Connection>)
            }
            .instrument(span),
        )
    }
}

/// Accepts authenticated, admitted connections on one `mem://name` (the shared [`AcceptQueue`]).
/// Dropping it frees the name and closes the listener as the queue documents.
pub struct MemoryListener {
    queue: AcceptQueue,
    _registration: Registration,
}

impl std::fmt::Debug for MemoryListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryListener").field("local_addr", &self.queue.local_addr()).finish()
    }
}

#[async_trait]
impl Listener for MemoryListener {
    fn local_addr(&self) -> PeerAddress {
        self.queue.local_addr()
    }

    async fn accept(&mut self) -> Result<Box<dyn Connection>, TransportError> {
        self.queue.accept().await
    }
}
