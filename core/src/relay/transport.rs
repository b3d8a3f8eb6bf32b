//! [`RelayTransport`]: the `relay` transport plugin. A relayed address names a relay and a validator
//! behind it; dialing one opens a circuit through the relay and runs the Noise channel of WIRE.md §2
//! end to end over it, so the [`Connection`] it yields is authenticated by the destination itself.
//!
//! # Addresses
//! `relay://<relay address>/<validator id, 64 hex digits>`, e.g.
//! `relay://ws://203.0.113.7:443/3f…a1` or `relay://mem://relay-1/3f…a1`: the relay is reached at the
//! inner address with the transport of its scheme (any scheme but `relay`), and the last path segment
//! names the validator. [`Transport::listen`] takes the same address with the listener's own id, or
//! the bare `relay://<relay address>`, and its [`Listener::local_addr`] is always the full form — the
//! address to publish in the validator's signed address record.
//!
//! # Links
//! One authenticated connection per relay carries every circuit of this transport through it, both
//! the ones it dials and the ones its listeners accept (circuit numbers cannot collide, WIRE.md §7). A
//! listener keeps its link up: it reserves at `listen`, renews at half the lifetime, and on a failed
//! link re-dials after [`RelayClientConfig::reconnect_delay`] and reserves again.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tracing::Instrument as _;

use super::circuit::CircuitStream;
use super::client::{LinkShared, PendingCircuit};
use super::config::RelayClientConfig;
use crate::identity::ValidatorId;
use crate::secure::{run_handshake, ChannelOptions, NoiseHandshake, NoiseKeys, Role, SecureConnection};
use crate::transport::{
    build_transport, AcceptQueue, Admission, Connection, Handshake, Inbound, Listener, PeerAddress, Transport,
    TransportContext, TransportError,
};

/// The address scheme.
pub const SCHEME: &str = "relay";

/// The secure channel's send budget over a circuit: with the circuit's own unsent bound (64 KiB by
/// default) it makes K = 128 KiB, under the 256 KiB ceiling with room for the relay link's share.
const SEND_BUDGET: usize = 64 * 1024;

/// A parsed relayed address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayAddress {
    /// Where the relay listens (the inner address).
    pub relay: PeerAddress,
    /// The validator behind it; `None` only in a listen address.
    pub target: Option<ValidatorId>,
}

impl RelayAddress {
    /// Parses `relay://<relay address>[/<validator id hex>]`.
    ///
    /// ```
    /// use quorumnet_core::relay::RelayAddress;
    ///
    /// let id = "ab".repeat(32);
    /// let parsed = RelayAddress::parse(&format!("relay://mem://r1/{id}").parse().unwrap()).unwrap();
    /// assert_eq!(parsed.relay.as_str(), "mem://r1");
    /// assert_eq!(parsed.target.unwrap().to_string(), id);
    /// assert_eq!(RelayAddress::parse(&"relay://mem://r1".parse().unwrap()).unwrap().target, None);
    /// assert!(RelayAddress::parse(&"relay://relay://r1".parse().unwrap()).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TransportError::InvalidAddress`] for another scheme, an inner address that does not parse or
    /// is itself relayed.
    pub fn parse(addr: &PeerAddress) -> Result<Self, TransportError> {
        let invalid = |reason: &str| TransportError::InvalidAddress {
            addr: addr.to_string(),
            reason: format!("{reason} (expected relay://<relay address>/<validator id hex>)"),
        };
        if addr.scheme() != SCHEME {
            return Err(invalid("not a relay:// address"));
        }
        let rest = addr.rest();
        let id_len = 2 * 32;
        let (inner, target) = match rest.len().checked_sub(id_len + 1).map(|cut| rest.split_at(cut)) {
            Some((inner, tail)) if tail.starts_with('/') && tail[1..].bytes().all(|b| b.is_ascii_hexdigit()) => {
                (inner, Some(tail[1..].parse::<ValidatorId>().map_err(|_| invalid("bad validator id"))?))
            }
            _ => (rest, None),
        };
        let relay: PeerAddress = inner.parse().map_err(|_| invalid("the relay's address does not parse"))?;
        if relay.scheme() == SCHEME {
            return Err(invalid("a relay is reached directly, not through another relay"));
        }
        Ok(RelayAddress { relay, target })
    }

    /// The full form, `relay://<relay>/<target>`.
    pub fn to_address(&self, target: ValidatorId) -> PeerAddress {
        PeerAddress::new(SCHEME, &format!("{}/{target}", self.relay)).expect("a relay address with an id is valid")
    }
}

/// Makes the (encoded) identity payload a dial presents; **tests only**, see
/// [`RelayTransport::with_payload_forger_for_testing`].
pub type PayloadForger = Arc<dyn Fn(&NoiseKeys) -> Vec<u8> + Send + Sync>;

/// The `relay` transport (see [`crate::relay`]).
///
/// ```no_run
/// # async fn demo(ctx: quorumnet_core::transport::TransportContext, relay_id: quorumnet_core::identity::ValidatorId)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use quorumnet_core::relay::RelayTransport;
/// use quorumnet_core::transport::{Listener, Transport};
///
/// ctx.admission.allow(relay_id); // the relay is a configured relay: admitted like a validator
/// let relayed = RelayTransport::new(ctx.clone()); // reaches relays with the registry's transports
/// let mut listener = relayed.listen(&"relay://ws://203.0.113.7:443".parse()?).await?;
/// println!("publish {}", listener.local_addr()); // relay://ws://203.0.113.7:443/<my id>
/// let conn = listener.accept().await?; // a validator that dialed that address, proven end to end
/// # Ok(()) }
/// ```
pub struct RelayTransport {
    shared: Arc<TransportShared>,
}

struct TransportShared {
    ctx: TransportContext,
    inner: Option<Arc<dyn Transport>>,
    config: RelayClientConfig,
    links: tokio::sync::Mutex<HashMap<PeerAddress, Arc<LinkShared>>>,
    forge: Option<PayloadForger>,
    /// Who may answer at a relay's address; `None`: the node's own admission (`ctx.admission`).
    relay_admission: Option<Admission>,
}

impl RelayTransport {
    /// Reaches each relay with the registry's transport for its address's scheme, built from `ctx`.
    pub fn new(ctx: TransportContext) -> Self {
        Self::build(ctx, None, RelayClientConfig::recommended())
    }

    /// Reaches every relay with `inner` (e.g. a simulator's [`Transport`], or one with its own
    /// admission handle for the relay links).
    pub fn over(ctx: TransportContext, inner: Arc<dyn Transport>) -> Self {
        Self::build(ctx, Some(inner), RelayClientConfig::recommended())
    }

    /// The same transport with `config`.
    #[must_use]
    pub fn with_config(self, config: RelayClientConfig) -> Self {
        self.rebuilt(|shared| shared.config = config)
    }

    /// The same transport, accepting the identities `admission` admits on its links to relays,
    /// instead of the node's own admission handle (relays reached with the registry's transports,
    /// as [`new`](Self::new) does; an [`over`](Self::over) transport has its own). For nodes that know a relay only by its address
    /// (`relays = ["ws://…"]`): [`Admission::open`] accepts whichever key answers there. That lets
    /// nobody in — these links are only dialled — and costs nothing in safety, since a relay is
    /// untrusted anyway: every circuit runs the Noise channel end to end, authenticated by (and
    /// admitted as) the validator at its other end. A wrong relay can only refuse service.
    ///
    /// ```
    /// # fn demo(ctx: quorumnet_core::transport::TransportContext) {
    /// use quorumnet_core::relay::RelayTransport;
    /// use quorumnet_core::transport::Admission;
    ///
    /// let relayed = RelayTransport::new(ctx).admitting_relays(Admission::open());
    /// # }
    /// ```
    #[must_use]
    pub fn admitting_relays(self, admission: Admission) -> Self {
        self.rebuilt(|shared| shared.relay_admission = Some(admission))
    }

    /// Makes this transport's dials present `forge`'s identity payload over the real circuit and Noise
    /// handshake. **Tests only** (conformance impostors).
    #[doc(hidden)]
    #[must_use]
    pub fn with_payload_forger_for_testing(self, forge: PayloadForger) -> Self {
        self.rebuilt(|shared| shared.forge = Some(forge))
    }

    fn build(ctx: TransportContext, inner: Option<Arc<dyn Transport>>, config: RelayClientConfig) -> Self {
        let links = Default::default();
        let shared = TransportShared { ctx, inner, config, links, forge: None, relay_admission: None };
        RelayTransport { shared: Arc::new(shared) }
    }

    /// A fresh transport (no links yet) with this one's settings, changed by `change`.
    fn rebuilt(self, change: impl FnOnce(&mut TransportShared)) -> Self {
        let old = &self.shared;
        let mut rebuilt = Self::build(old.ctx.clone(), old.inner.clone(), old.config.clone());
        let shared = Arc::get_mut(&mut rebuilt.shared).expect("just built");
        (shared.forge, shared.relay_admission) = (old.forge.clone(), old.relay_admission.clone());
        change(shared);
        rebuilt
    }

    /// A raw circuit to the validator at `addr`, with no handshake. **Tests only**: lets a test send
    /// garbage or half a handshake through a real relay.
    ///
    /// # Errors
    /// As [`Transport::dial`] before the handshake.
    #[doc(hidden)]
    pub async fn open_raw_circuit_for_testing(&self, addr: &PeerAddress) -> Result<CircuitStream, TransportError> {
        let (relay, target) = self.shared.dial_target(addr)?;
        self.shared.link(&relay).await?.connect(target).await
    }
}

impl std::fmt::Debug for RelayTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayTransport").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl TransportShared {
    fn dial_target(&self, addr: &PeerAddress) -> Result<(PeerAddress, ValidatorId), TransportError> {
        let parsed = RelayAddress::parse(addr)?;
        let target = parsed.target.ok_or_else(|| TransportError::InvalidAddress {
            addr: addr.to_string(),
            reason: "a dial needs the validator: relay://<relay address>/<validator id hex>".into(),
        })?;
        Ok((parsed.relay, target))
    }

    /// The working link to `relay`, dialed if there is none.
    async fn link(&self, relay: &PeerAddress) -> Result<Arc<LinkShared>, TransportError> {
        // Held across the dial so concurrent users of one relay share one link; the dial is bounded
        // by the inner transport's dial and handshake timeouts.
        let mut links = self.links.lock().await;
        if let Some(link) = links.get(relay).filter(|l| l.is_alive()) {
            return Ok(link.clone());
        }
        let inner = match &self.inner {
            Some(inner) => inner.clone(),
            None => match &self.relay_admission {
                Some(admission) => {
                    build_transport(relay, &TransportContext { admission: admission.clone(), ..self.ctx.clone() })?
                }
                None => build_transport(relay, &self.ctx)?,
            },
        };
        let limit = self.ctx.config.dial_timeout + self.ctx.config.handshake_timeout;
        let conn = tokio::time::timeout(limit, inner.dial(relay, None))
            .await
            .map_err(|_| TransportError::Timeout { what: "dialing the relay", after: limit })??;
        let link = LinkShared::start(conn, relay.clone(), self.config.clone());
        tracing::debug!(%relay, relay_id = %link.relay_id().short(), "relay link up");
        links.insert(relay.clone(), link.clone());
        Ok(link)
    }

    /// The Noise channel over `stream`, as `role`.
    async fn secure(
        &self,
        mut stream: CircuitStream,
        role: Role,
        expected: Option<ValidatorId>,
        remote_addr: PeerAddress,
    ) -> Result<SecureConnection, TransportError> {
        let ctx = &self.ctx;
        let keys = NoiseKeys::generate();
        let mut handshake =
            NoiseHandshake::with_keys(role, &ctx.keypair, ctx.chain_id, ctx.admission.clone(), expected, &keys);
        if let (Some(forge), Role::Initiator) = (&self.forge, role) {
            handshake.replace_local_payload_for_testing(forge(&keys));
        }
        let established =
            run_handshake(&mut stream, handshake, ctx.config.handshake_timeout, remote_addr.as_str()).await?;
        let options = ChannelOptions {
            send_budget: SEND_BUDGET,
            stream_unsent_bound: self.config.circuit_unsent_bound,
            remote_addr: Some(remote_addr),
            ..ChannelOptions::new(ctx.config.max_frame_len)
        };
        Ok(SecureConnection::spawn(established, stream, options))
    }
}

#[async_trait]
impl Transport for RelayTransport {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    /// Simulated when the relays are reached over a simulated transport ([`RelayTransport::over`]
    /// one): the relays and every validator behind them are then in this process's simulation.
    fn is_simulated(&self) -> bool {
        self.shared.inner.as_ref().is_some_and(|inner| inner.is_simulated())
    }

    async fn listen(&self, addr: &PeerAddress) -> Result<Box<dyn Listener>, TransportError> {
        let parsed = RelayAddress::parse(addr)?;
        let me = self.shared.ctx.keypair.validator_id();
        if parsed.target.is_some_and(|target| target != me) {
            return Err(TransportError::InvalidAddress {
                addr: addr.to_string(),
                reason: format!("a listener can only hold its own id ({me}) at the relay"),
            });
        }
        let link = self.shared.link(&parsed.relay).await?;
        let (incoming, pending) = mpsc::channel(self.shared.config.max_pending_incoming.max(1));
        link.set_incoming(Some(incoming.clone()));
        let lifetime = link.reserve().await?;
        let local = parsed.to_address(me);
        tracing::info!(addr = %local, ?lifetime, "listening through the relay");
        let span = tracing::info_span!("relay_reservation", addr = %local);
        let keeper = tokio::spawn(
            keep_reservation(self.shared.clone(), parsed.relay, link, lifetime, incoming).instrument(span),
        );
        let inbound = RelayInbound { shared: self.shared.clone(), pending, _keeper: AbortOnDrop(keeper) };
        Ok(Box::new(AcceptQueue::spawn(local, &self.shared.ctx.config, inbound)))
    }

    async fn dial(
        &self,
        addr: &PeerAddress,
        expected: Option<ValidatorId>,
    ) -> Result<Box<dyn Connection>, TransportError> {
        let (relay, target) = self.shared.dial_target(addr)?;
        let span = tracing::debug_span!("relay_dial", %addr);
        async {
            let stream = self.shared.link(&relay).await?.connect(target).await?;
            let conn =
                self.shared.secure(stream, Role::Initiator, Some(expected.unwrap_or(target)), addr.clone()).await?;
            Ok(Box::new(conn) as Box<dyn Connection>)
        }
        .instrument(span)
        .await
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keeps a listener's reservation alive: renews at half its lifetime, re-dials a failed link. Ends
/// when the listener is dropped (its queue closes).
async fn keep_reservation(
    shared: Arc<TransportShared>,
    relay: PeerAddress,
    mut link: Arc<LinkShared>,
    mut lifetime: std::time::Duration,
    incoming: mpsc::Sender<PendingCircuit>,
) {
    loop {
        tokio::select! {
            biased;
            _ = incoming.closed() => break,
            why = link.failure() => tracing::warn!(%why, "relay link lost; reconnecting"),
            _ = tokio::time::sleep(lifetime / 2) => {
                match link.reserve().await {
                    Ok(renewed) => { lifetime = renewed; continue; }
                    Err(error) => tracing::warn!(%error, "reservation renewal failed; reconnecting"),
                }
            }
        }
        // Re-dial and reserve until it works or the listener goes.
        loop {
            tokio::select! {
                biased;
                _ = incoming.closed() => { link.set_incoming(None); return; }
                _ = tokio::time::sleep(shared.config.reconnect_delay) => {}
            }
            let attempt = async {
                let fresh = shared.link(&relay).await?;
                fresh.set_incoming(Some(incoming.clone()));
                let lifetime = fresh.reserve().await?;
                Ok::<_, TransportError>((fresh, lifetime))
            };
            match attempt.await {
                Ok((fresh, renewed)) => {
                    (link, lifetime) = (fresh, renewed);
                    tracing::info!("reservation restored");
                    break;
                }
                Err(error) => tracing::warn!(%error, "relay still unreachable"),
            }
        }
    }
    link.set_incoming(None);
}

/// The circuits a listener's relay announces, for the shared [`AcceptQueue`].
struct RelayInbound {
    shared: Arc<TransportShared>,
    pending: mpsc::Receiver<PendingCircuit>,
    _keeper: AbortOnDrop,
}

#[async_trait]
impl Inbound for RelayInbound {
    type Pending = PendingCircuit;

    async fn next(&mut self) -> Option<PendingCircuit> {
        self.pending.recv().await
    }

    fn authenticate(&self, pending: PendingCircuit) -> Handshake {
        let shared = self.shared.clone();
        let remote_addr = super::RelayAddress { relay: pending.relay.clone(), target: None }.to_address(pending.from);
        let span = tracing::debug_span!("relay_inbound", from = %pending.from.short());
        Box::pin(
            async move {
                let conn = shared.secure(pending.stream, Role::Responder, None, remote_addr).await?;
                Ok(Box::new(conn) as Box<dyn Connection>)
            }
            .instrument(span),
        )
    }
}

inventory::submit! {
    crate::transport::TransportPlugin {
        scheme: SCHEME,
        description: "relay circuits (relay://<relay address>/<validator id>): Noise end to end through a relay",
        build: |ctx| Ok(Arc::new(RelayTransport::new(ctx.clone()))),
    }
}
