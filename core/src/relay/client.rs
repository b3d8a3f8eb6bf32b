//! A validator's link to one relay: the authenticated connection, multiplexing its circuits, its
//! reservation requests and the circuits the relay announces.
//!
//! Two tasks per link: a reader that dispatches every frame without ever waiting on a circuit
//! (credit guarantees a circuit's data fits its buffer), and a writer that drains one queue into
//! the connection. The queue is a channel without a capacity of its own because what enters it is
//! bounded elsewhere: each circuit's data by its local unsent bound, each circuit's control frames by
//! one `Credit` per quarter window read, one `Close` and one `Reset`; requests by the callers waiting
//! on them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument as _;

use super::circuit::{CircuitShared, CircuitStream};
use super::config::RelayClientConfig;
use super::wire::{RelayFrame, RelayReason};
use crate::identity::ValidatorId;
use crate::transport::{Connection, PeerAddress, TransportError};

/// A circuit the relay announced, before its Noise handshake.
pub(crate) struct PendingCircuit {
    pub(crate) stream: CircuitStream,
    pub(crate) from: ValidatorId,
    pub(crate) relay: PeerAddress,
}

struct Outgoing {
    frame: Bytes,
    data: Option<(Arc<CircuitShared>, usize)>,
}

/// The state of one link, shared by its tasks, its circuits and the transport.
pub(crate) struct LinkShared {
    relay: PeerAddress,
    relay_id: ValidatorId,
    config: RelayClientConfig,
    out: mpsc::UnboundedSender<Outgoing>,
    state: Mutex<LinkState>,
    failed: watch::Sender<Option<String>>,
}

#[derive(Default)]
struct LinkState {
    circuits: HashMap<u64, Arc<CircuitShared>>,
    /// The next even circuit number this side opens.
    next_circuit: u64,
    connects: HashMap<u64, oneshot::Sender<Result<(), RelayReason>>>,
    reservation: Option<oneshot::Sender<Result<Duration, RelayReason>>>,
    incoming: Option<mpsc::Sender<PendingCircuit>>,
}

impl LinkShared {
    /// Starts the link's tasks over `conn`, an authenticated connection to the relay at `relay`.
    pub(crate) fn start(conn: Box<dyn Connection>, relay: PeerAddress, config: RelayClientConfig) -> Arc<Self> {
        let conn: Arc<dyn Connection> = Arc::from(conn);
        let (out, queue) = mpsc::unbounded_channel();
        let link = Arc::new(LinkShared {
            relay: relay.clone(),
            relay_id: conn.remote(),
            config,
            out,
            state: Mutex::new(LinkState::default()),
            failed: watch::channel(None).0,
        });
        let span = tracing::info_span!("relay_link", relay = %relay, relay_id = %conn.remote().short());
        tokio::spawn(write_loop(Arc::downgrade(&link), conn.clone(), queue).instrument(span.clone()));
        tokio::spawn(read_loop(Arc::downgrade(&link), conn).instrument(span));
        link
    }

    fn lock(&self) -> MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The relay's proven identity.
    pub(crate) fn relay_id(&self) -> ValidatorId {
        self.relay_id
    }

    pub(crate) fn circuit_unsent_bound(&self) -> usize {
        self.config.circuit_unsent_bound
    }

    /// Whether the link still works.
    pub(crate) fn is_alive(&self) -> bool {
        self.failed.borrow().is_none()
    }

    /// Resolves once the link failed, with why.
    pub(crate) async fn failure(&self) -> String {
        let mut failed = self.failed.subscribe();
        let why = failed.wait_for(Option::is_some).await.map(|why| why.clone()).ok().flatten();
        why.unwrap_or_else(|| "the link was dropped".into())
    }

    /// Queues `frame` for the writer; `data` says which circuit's unsent bytes it carries.
    pub(crate) fn queue(&self, frame: RelayFrame, data: Option<(Arc<CircuitShared>, usize)>) {
        // A closed queue means the link failed; the failure reached every circuit already.
        let _ = self.out.send(Outgoing { frame: Bytes::from(frame.encode()), data });
    }

    /// Drops circuit `id` from the link's table (its stream is gone).
    pub(crate) fn forget(&self, id: u64) {
        self.lock().circuits.remove(&id);
    }

    fn link_error(&self, reason: String) -> TransportError {
        TransportError::Unreachable { addr: self.relay.to_string(), reason }
    }

    /// Asks the relay for a circuit to `target`.
    ///
    /// # Errors
    /// [`TransportError::Unreachable`] with the relay's reason (no reservation, a cap), or when the link
    /// failed; [`TransportError::Timeout`] when the relay does not answer within the request timeout.
    pub(crate) async fn connect(self: &Arc<Self>, target: ValidatorId) -> Result<CircuitStream, TransportError> {
        let (answer, answered) = oneshot::channel();
        let circuit = {
            let mut s = self.lock();
            let id = s.next_circuit;
            s.next_circuit += 2;
            let circuit = CircuitShared::new(id);
            s.circuits.insert(id, circuit.clone());
            s.connects.insert(id, answer);
            circuit
        };
        let stream = CircuitStream::new(circuit.clone(), self.clone(), target);
        self.queue(RelayFrame::Connect { circuit: circuit.id, target }, None);
        let limit = self.config.request_timeout;
        match tokio::time::timeout(limit, answered).await {
            Ok(Ok(Ok(()))) => Ok(stream),
            Ok(Ok(Err(reason))) => Err(self.link_error(format!("relay refused a circuit to {target}: {reason}"))),
            Ok(Err(_)) => Err(self.link_error(format!("relay link failed: {}", self.failure_now()))),
            Err(_) => {
                self.lock().connects.remove(&circuit.id);
                Err(TransportError::Timeout { what: "relay circuit (Connect)", after: limit })
            }
        }
    }

    /// Asks the relay for (or renews) a reservation for this validator; returns its lifetime.
    ///
    /// # Errors
    /// As [`Self::connect`].
    pub(crate) async fn reserve(&self) -> Result<Duration, TransportError> {
        let (answer, answered) = oneshot::channel();
        self.lock().reservation = Some(answer);
        self.queue(RelayFrame::Reserve {}, None);
        let limit = self.config.request_timeout;
        match tokio::time::timeout(limit, answered).await {
            Ok(Ok(Ok(lifetime))) => Ok(lifetime),
            Ok(Ok(Err(reason))) => Err(self.link_error(format!("relay refused the reservation: {reason}"))),
            Ok(Err(_)) => Err(self.link_error(format!("relay link failed: {}", self.failure_now()))),
            Err(_) => Err(TransportError::Timeout { what: "relay reservation (Reserve)", after: limit }),
        }
    }

    fn failure_now(&self) -> String {
        self.failed.borrow().clone().unwrap_or_else(|| "closed".into())
    }

    /// Where announced circuits go (the listener's queue), or nowhere (they are reset).
    pub(crate) fn set_incoming(&self, incoming: Option<mpsc::Sender<PendingCircuit>>) {
        self.lock().incoming = incoming;
    }

    fn reset_circuit(&self, id: u64, reason: RelayReason) {
        if let Some(circuit) = self.lock().circuits.remove(&id) {
            circuit.reset(format!("{reason} (detected here)"));
        }
        self.queue(RelayFrame::Reset { circuit: id, reason }, None);
    }

    /// Handles one frame from the relay.
    ///
    /// # Errors
    /// A frame only a validator sends, or a relay-numbered circuit with an even number: the relay
    /// broke the protocol and the link must end.
    fn dispatch(self: &Arc<Self>, frame: RelayFrame) -> Result<(), String> {
        let circuit = |id: &u64| self.lock().circuits.get(id).cloned();
        match frame {
            RelayFrame::Reserved { expires_in_ms } => {
                if let Some(answer) = self.lock().reservation.take() {
                    let _ = answer.send(Ok(Duration::from_millis(expires_in_ms)));
                }
            }
            RelayFrame::Refused { reason } => {
                if let Some(answer) = self.lock().reservation.take() {
                    let _ = answer.send(Err(reason));
                }
            }
            RelayFrame::Connected { circuit } => {
                if let Some(answer) = self.lock().connects.remove(&circuit) {
                    let _ = answer.send(Ok(()));
                }
            }
            RelayFrame::Incoming { circuit: id, from } => {
                if id % 2 == 0 {
                    return Err(format!("the relay announced circuit {id}, an even (dialer's) number"));
                }
                let shared = CircuitShared::new(id);
                let incoming = {
                    let mut s = self.lock();
                    if s.circuits.insert(id, shared.clone()).is_some() {
                        return Err(format!("the relay announced circuit {id} twice"));
                    }
                    s.incoming.clone()
                };
                let pending = PendingCircuit {
                    stream: CircuitStream::new(shared, self.clone(), from),
                    from,
                    relay: self.relay.clone(),
                };
                let refused = match incoming {
                    Some(incoming) => match incoming.try_send(pending) {
                        Ok(()) => None,
                        Err(mpsc::error::TrySendError::Full(p)) => Some((p, RelayReason::Busy)),
                        Err(mpsc::error::TrySendError::Closed(p)) => Some((p, RelayReason::Abandoned)),
                    },
                    None => Some((pending, RelayReason::Abandoned)),
                };
                if let Some((pending, reason)) = refused {
                    tracing::debug!(circuit = id, from = %from.short(), %reason, "incoming circuit refused");
                    pending.stream.refuse(reason);
                }
            }
            RelayFrame::Data { circuit: id, bytes } => {
                if let Some(c) = circuit(&id) {
                    if let Err(reason) = c.push_data(bytes) {
                        self.reset_circuit(id, reason);
                    }
                }
            }
            RelayFrame::Credit { circuit: id, bytes } => {
                if let Some(c) = circuit(&id) {
                    if let Err(reason) = c.add_credit(bytes) {
                        self.reset_circuit(id, reason);
                    }
                }
            }
            RelayFrame::Close { circuit: id } => {
                if let Some(c) = circuit(&id) {
                    c.peer_closed();
                }
            }
            RelayFrame::Reset { circuit: id, reason } => {
                let (answer, c) = {
                    let mut s = self.lock();
                    (s.connects.remove(&id), s.circuits.remove(&id))
                };
                if let Some(answer) = answer {
                    let _ = answer.send(Err(reason));
                }
                if let Some(c) = c {
                    c.reset(reason.to_string());
                }
            }
            other @ (RelayFrame::Reserve {} | RelayFrame::Connect { .. }) => {
                return Err(format!("the relay sent {other:?}, which only validators send"));
            }
        }
        Ok(())
    }

    /// The link ended: every circuit and waiting request fails with `why`.
    fn fail(&self, why: String) {
        tracing::info!(%why, "relay link ended");
        self.failed.send_replace(Some(why.clone()));
        let mut s = self.lock();
        for (_, circuit) in s.circuits.drain() {
            circuit.reset(format!("relay link failed: {why}"));
        }
        s.connects.clear();
        s.reservation = None;
        s.incoming = None;
    }
}

impl std::fmt::Debug for LinkShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkShared").field("relay", &self.relay).field("alive", &self.is_alive()).finish()
    }
}

async fn write_loop(link: Weak<LinkShared>, conn: Arc<dyn Connection>, mut queue: mpsc::UnboundedReceiver<Outgoing>) {
    while let Some(item) = queue.recv().await {
        if let Err(error) = conn.send(item.frame).await {
            if let Some(link) = link.upgrade() {
                link.fail(format!("sending to the relay: {error}"));
            }
            return;
        }
        if let Some((circuit, len)) = item.data {
            circuit.sent(len);
        }
    }
    // Every holder of the link is gone: end it cleanly.
    let _ = conn.close().await;
}

async fn read_loop(link: Weak<LinkShared>, conn: Arc<dyn Connection>) {
    let why = loop {
        let frame = match conn.recv().await {
            Ok(Some(frame)) => frame,
            Ok(None) => break "the relay closed the link".to_owned(),
            Err(error) => break format!("receiving from the relay: {error}"),
        };
        let Some(link) = link.upgrade() else { return };
        let outcome = RelayFrame::decode(&frame).map_err(|e| format!("undecodable frame from the relay: {e}"));
        if let Err(why) = outcome.and_then(|frame| link.dispatch(frame)) {
            break why;
        }
    };
    if let Some(link) = link.upgrade() {
        link.fail(why);
    }
}
