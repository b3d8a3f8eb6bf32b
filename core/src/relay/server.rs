//! [`RelayServer`]: the relay. It accepts authenticated connections from a [`Listener`] of any
//! transport (so only identities its admission handle admits ever reach it), holds reservations,
//! bridges each `Connect` to the reserved target as a circuit, and forwards circuit bytes it cannot
//! read: the two ends run the Noise channel end to end inside them.
//!
//! # Limits (from [`RelayConfig`])
//! Reservations expire unless renewed, and beyond `max_reservations` are refused with
//! `ReservationCapReached`. Circuits beyond `max_circuits` (or `max_circuits_per_peer` for either
//! end) are reset with `CircuitCapReached`; a circuit that carried `circuit_byte_limit` bytes or
//! lasted `circuit_time_limit` is reset with `ByteLimit` / `TimeLimit`. Each direction of each
//! circuit keeps to its credit window (checked here: a side that overruns it is reset with
//! `CreditViolation`), so a stopped reader holds at most one window of its sender's data, and the
//! link it shares with other circuits keeps moving.
//!
//! # Backpressure
//! Each link has one reader task and one writer task; the writer's queue holds
//! `link_queue_frames` frames. A reader forwarding to a full queue waits — only when the target's own
//! link is slower than its traffic, never because one of the target's circuits stopped reading,
//! since the target's side always takes what its credit allows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tracing::Instrument as _;

use super::config::RelayConfig;
use super::credit::Window;
use super::wire::{RelayFrame, RelayReason, INITIAL_CREDIT};
use crate::identity::ValidatorId;
use crate::transport::{Connection, Listener, PeerAddress};

/// What a relay holds right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Validators connected.
    pub links: usize,
    /// Unexpired reservations.
    pub reservations: usize,
    /// Open circuits.
    pub circuits: usize,
    /// Circuit data bytes forwarded since start.
    pub bytes_forwarded: u64,
}

/// A test's view of (and hand in) the bytes a relay forwards: called on every `Data` payload.
type Tap = Arc<dyn Fn(&mut Vec<u8>) + Send + Sync>;

/// A running relay; dropping it stops it (every link and circuit ends).
///
/// ```no_run
/// # async fn demo(ctx: quorumnet_core::transport::TransportContext) -> Result<(), Box<dyn std::error::Error>> {
/// use quorumnet_core::relay::{RelayConfig, RelayServer};
/// use quorumnet_core::transport::build_transport;
///
/// // The relay listens like any node: here on tcp-noise, admitting ctx.admission's validators.
/// let addr = "tcp-noise://0.0.0.0:7100".parse()?;
/// let listener = build_transport(&addr, &ctx)?.listen(&addr).await?;
/// let relay = RelayServer::spawn(listener, RelayConfig::recommended());
/// println!("validators behind NAT listen on relay://{}/<their id>", relay.local_addr());
/// # Ok(()) }
/// ```
pub struct RelayServer {
    local: PeerAddress,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    config: RelayConfig,
    state: Mutex<State>,
    tap: Mutex<Option<Tap>>,
}

#[derive(Default)]
struct State {
    next_link: u64,
    links: HashMap<u64, LinkEntry>,
    reservations: HashMap<ValidatorId, Reservation>,
    /// (link, circuit number on that link) → the circuit.
    ends: HashMap<(u64, u64), u64>,
    circuits: HashMap<u64, Relayed>,
    next_relayed: u64,
    bytes_forwarded: u64,
}

struct LinkEntry {
    peer: ValidatorId,
    out: mpsc::Sender<Bytes>,
    next_circuit: u64,
    circuits: usize,
}

struct Reservation {
    link: u64,
    expires: Instant,
}

/// One circuit: its two ends (0 = dialer, 1 = target), each end's window for the data it sends.
struct Relayed {
    ends: [(u64, u64); 2],
    windows: [Window; 2],
    closed: [bool; 2],
    bytes: u64,
    /// Resets the circuit at its time limit; `None` once it fired.
    timer: Option<JoinHandle<()>>,
}

/// Frames to send once the state lock is released: (queue, encoded frame).
type Sends = Vec<(mpsc::Sender<Bytes>, Bytes)>;

impl RelayServer {
    /// Starts relaying for every connection `listener` accepts.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(listener: Box<dyn Listener>, config: RelayConfig) -> Self {
        let local = listener.local_addr();
        let shared = Arc::new(Shared { config, state: Mutex::default(), tap: Mutex::default() });
        let span = tracing::info_span!("relay", addr = %local);
        let task = tokio::spawn(accept_loop(listener, shared.clone()).instrument(span));
        RelayServer { local, shared, task }
    }

    /// Where validators reach the relay (the inner address of their `relay://` addresses).
    pub fn local_addr(&self) -> PeerAddress {
        self.local.clone()
    }

    /// What the relay holds now.
    pub fn stats(&self) -> RelayStats {
        let now = Instant::now();
        let s = self.shared.lock();
        RelayStats {
            links: s.links.len(),
            reservations: s.reservations.values().filter(|r| r.expires > now).count(),
            circuits: s.circuits.len(),
            bytes_forwarded: s.bytes_forwarded,
        }
    }

    /// Calls `tap` on every circuit `Data` payload before forwarding it, and lets it change the bytes.
    /// **Tests only**: proves the relay sees only ciphertext and cannot alter traffic undetected.
    #[doc(hidden)]
    pub fn tap_for_testing(&self, tap: impl Fn(&mut Vec<u8>) + Send + Sync + 'static) {
        *self.shared.tap.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(tap));
    }
}

impl Drop for RelayServer {
    fn drop(&mut self) {
        // The accept loop owns the link tasks (a JoinSet): aborting it ends every link.
        self.task.abort();
    }
}

impl std::fmt::Debug for RelayServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayServer").field("local", &self.local).field("stats", &self.stats()).finish()
    }
}

async fn accept_loop(mut listener: Box<dyn Listener>, shared: Arc<Shared>) {
    let mut links = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            Some(_) = links.join_next(), if !links.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok(conn) => {
                    let conn: Arc<dyn Connection> = Arc::from(conn);
                    let (out, queue) = mpsc::channel(shared.config.link_queue_frames.max(1));
                    let link = shared.add_link(conn.remote(), out);
                    let span = tracing::info_span!("relay_peer", peer = %conn.remote().short(), link);
                    links.spawn(write_loop(conn.clone(), queue).instrument(span.clone()));
                    links.spawn(read_loop(shared.clone(), link, conn).instrument(span));
                }
                Err(error) => {
                    tracing::warn!(%error, "relay listener closed");
                    return;
                }
            },
        }
    }
}

async fn write_loop(conn: Arc<dyn Connection>, mut queue: mpsc::Receiver<Bytes>) {
    while let Some(frame) = queue.recv().await {
        if conn.send(frame).await.is_err() {
            return;
        }
    }
}

async fn read_loop(shared: Arc<Shared>, link: u64, conn: Arc<dyn Connection>) {
    loop {
        let frame = match conn.recv().await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(error) => {
                tracing::debug!(%error, "relay link lost");
                break;
            }
        };
        let sends = match RelayFrame::decode(&frame) {
            Ok(frame) => shared.handle(link, frame),
            Err(error) => Err(format!("undecodable relay frame: {error}")),
        };
        match sends {
            Ok(sends) => deliver(sends).await,
            Err(violation) => {
                tracing::info!(%violation, "closing a link that broke the relay protocol");
                break;
            }
        }
    }
    deliver(shared.remove_link(link)).await;
}

async fn deliver(sends: Sends) {
    for (queue, frame) in sends {
        // A closed queue belongs to a link that is going away; its circuits are reset with it.
        let _ = queue.send(frame).await;
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add_link(&self, peer: ValidatorId, out: mpsc::Sender<Bytes>) -> u64 {
        let mut s = self.lock();
        let link = s.next_link;
        s.next_link += 1;
        s.links.insert(link, LinkEntry { peer, out, next_circuit: 1, circuits: 0 });
        link
    }

    /// One frame from `link`: updates the state and says what to send where.
    ///
    /// # Errors
    /// A frame only the relay sends: the link broke the protocol and is closed.
    fn handle(self: &Arc<Self>, link: u64, frame: RelayFrame) -> Result<Sends, String> {
        let mut s = self.lock();
        let mut sends = Sends::new();
        let reply = |s: &State, sends: &mut Sends, frame: RelayFrame| push(s, sends, link, frame);
        match frame {
            RelayFrame::Reserve {} => {
                let answer = self.reserve(&mut s, link);
                reply(&s, &mut sends, answer);
            }
            RelayFrame::Connect { circuit, target } => {
                if let Err(reason) = self.connect(&mut s, &mut sends, link, circuit, target) {
                    reply(&s, &mut sends, RelayFrame::Reset { circuit, reason });
                }
            }
            RelayFrame::Data { circuit, mut bytes } => {
                let Some((index, side)) = end_of(&s, link, circuit) else { return Ok(sends) };
                let len = bytes.len() as u64;
                let relayed = s.circuits.get_mut(&index).expect("ends and circuits change together");
                let verdict = if relayed.closed[side] {
                    Err(RelayReason::ProtocolViolation)
                } else if relayed.windows[side].spend(len).is_err() {
                    Err(RelayReason::CreditViolation)
                } else if relayed.bytes + len > self.config.circuit_byte_limit {
                    Err(RelayReason::ByteLimit)
                } else {
                    relayed.bytes += len;
                    Ok(relayed.ends[1 - side])
                };
                match verdict {
                    Ok((to_link, to_circuit)) => {
                        s.bytes_forwarded += len;
                        if let Some(tap) = self.tap.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                            tap(&mut bytes);
                        }
                        push(&s, &mut sends, to_link, RelayFrame::Data { circuit: to_circuit, bytes });
                    }
                    Err(reason) => reset(&mut s, &mut sends, index, reason),
                }
            }
            RelayFrame::Credit { circuit, bytes } => {
                let Some((index, side)) = end_of(&s, link, circuit) else { return Ok(sends) };
                let relayed = s.circuits.get_mut(&index).expect("ends and circuits change together");
                // Credit from this side returns the window of the data the other side sends.
                match relayed.windows[1 - side].restore(bytes) {
                    Ok(()) => {
                        let (to_link, to_circuit) = relayed.ends[1 - side];
                        push(&s, &mut sends, to_link, RelayFrame::Credit { circuit: to_circuit, bytes });
                    }
                    Err(_) => reset(&mut s, &mut sends, index, RelayReason::CreditViolation),
                }
            }
            RelayFrame::Close { circuit } => {
                let Some((index, side)) = end_of(&s, link, circuit) else { return Ok(sends) };
                let relayed = s.circuits.get_mut(&index).expect("ends and circuits change together");
                relayed.closed[side] = true;
                let both = relayed.closed == [true, true];
                let (to_link, to_circuit) = relayed.ends[1 - side];
                push(&s, &mut sends, to_link, RelayFrame::Close { circuit: to_circuit });
                if both {
                    remove(&mut s, index);
                }
            }
            RelayFrame::Reset { circuit, reason } => {
                let Some((index, side)) = end_of(&s, link, circuit) else { return Ok(sends) };
                if let Some(relayed) = remove(&mut s, index) {
                    let (to_link, to_circuit) = relayed.ends[1 - side];
                    push(&s, &mut sends, to_link, RelayFrame::Reset { circuit: to_circuit, reason });
                }
            }
            other => return Err(format!("a validator sent {other:?}, which only relays send")),
        }
        Ok(sends)
    }

    fn reserve(&self, s: &mut State, link: u64) -> RelayFrame {
        let now = Instant::now();
        s.reservations.retain(|_, r| r.expires > now);
        let peer = s.links[&link].peer;
        if !s.reservations.contains_key(&peer) && s.reservations.len() >= self.config.max_reservations {
            tracing::info!(peer = %peer.short(), cap = self.config.max_reservations, "reservation refused: cap");
            return RelayFrame::Refused { reason: RelayReason::ReservationCapReached };
        }
        let lifetime = self.config.reservation_lifetime;
        // A renewal from another link (the validator reconnected) moves the reservation there.
        s.reservations.insert(peer, Reservation { link, expires: now + lifetime });
        tracing::debug!(peer = %peer.short(), ?lifetime, "reservation held");
        RelayFrame::Reserved { expires_in_ms: u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX) }
    }

    fn connect(
        self: &Arc<Self>,
        s: &mut State,
        sends: &mut Sends,
        link: u64,
        circuit: u64,
        target: ValidatorId,
    ) -> Result<(), RelayReason> {
        if circuit % 2 == 1 || s.ends.contains_key(&(link, circuit)) {
            return Err(RelayReason::ProtocolViolation);
        }
        let now = Instant::now();
        let target_link = match s.reservations.get(&target) {
            Some(r) if r.expires > now && s.links.contains_key(&r.link) => r.link,
            _ => return Err(RelayReason::NoReservation),
        };
        let per_peer = self.config.max_circuits_per_peer;
        if s.circuits.len() >= self.config.max_circuits
            || s.links[&link].circuits >= per_peer
            || s.links[&target_link].circuits >= per_peer
        {
            return Err(RelayReason::CircuitCapReached);
        }
        let from = s.links[&link].peer;
        let target_end = {
            let entry = s.links.get_mut(&target_link).expect("checked above");
            let number = entry.next_circuit;
            entry.next_circuit += 2;
            entry.circuits += 1;
            number
        };
        s.links.get_mut(&link).expect("the link is reading").circuits += 1;
        let index = s.next_relayed;
        s.next_relayed += 1;
        let timer = tokio::spawn(time_limit(Arc::downgrade(self), index, now + self.config.circuit_time_limit));
        s.circuits.insert(
            index,
            Relayed {
                ends: [(link, circuit), (target_link, target_end)],
                windows: [Window::new(INITIAL_CREDIT); 2],
                closed: [false; 2],
                bytes: 0,
                timer: Some(timer),
            },
        );
        s.ends.insert((link, circuit), index);
        s.ends.insert((target_link, target_end), index);
        tracing::debug!(from = %from.short(), to = %target.short(), index, "circuit opened");
        push(s, sends, target_link, RelayFrame::Incoming { circuit: target_end, from });
        push(s, sends, link, RelayFrame::Connected { circuit });
        Ok(())
    }

    /// The link ended: its reservation goes, and its circuits are reset at their other ends.
    fn remove_link(&self, link: u64) -> Sends {
        let mut s = self.lock();
        s.links.remove(&link);
        s.reservations.retain(|_, r| r.link != link);
        let on_link: Vec<u64> =
            s.circuits.iter().filter(|(_, c)| c.ends.iter().any(|e| e.0 == link)).map(|(i, _)| *i).collect();
        let mut sends = Sends::new();
        for index in on_link {
            reset(&mut s, &mut sends, index, RelayReason::PeerGone);
        }
        sends
    }
}

/// Which circuit, and which of its ends, `(link, circuit)` is.
fn end_of(s: &State, link: u64, circuit: u64) -> Option<(u64, usize)> {
    let index = *s.ends.get(&(link, circuit))?;
    let side = usize::from(s.circuits[&index].ends[1] == (link, circuit));
    Some((index, side))
}

fn push(s: &State, sends: &mut Sends, link: u64, frame: RelayFrame) {
    if let Some(entry) = s.links.get(&link) {
        sends.push((entry.out.clone(), Bytes::from(frame.encode())));
    }
}

fn remove(s: &mut State, index: u64) -> Option<Relayed> {
    let relayed = s.circuits.remove(&index)?;
    if let Some(timer) = &relayed.timer {
        timer.abort();
    }
    for end in relayed.ends {
        s.ends.remove(&end);
        if let Some(entry) = s.links.get_mut(&end.0) {
            entry.circuits -= 1;
        }
    }
    Some(relayed)
}

/// Ends circuit `index` at both ends for `reason`.
fn reset(s: &mut State, sends: &mut Sends, index: u64, reason: RelayReason) {
    if let Some(relayed) = remove(s, index) {
        tracing::debug!(index, %reason, "circuit reset by the relay");
        for (link, circuit) in relayed.ends {
            push(s, sends, link, RelayFrame::Reset { circuit, reason });
        }
    }
}

async fn time_limit(shared: Weak<Shared>, index: u64, deadline: Instant) {
    tokio::time::sleep_until(deadline).await;
    let Some(shared) = shared.upgrade() else { return };
    let sends = {
        let mut s = shared.lock();
        let mut sends = Sends::new();
        // This task is the timer: it must not abort itself before delivering the resets.
        if let Some(relayed) = s.circuits.get_mut(&index) {
            relayed.timer = None;
        }
        reset(&mut s, &mut sends, index, RelayReason::TimeLimit);
        sends
    };
    deliver(sends).await;
}
