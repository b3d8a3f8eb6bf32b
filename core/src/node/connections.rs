//! The connection manager: one link per validator of the current set (or per validator the
//! topology picks), dialed with jittered
//! exponential backoff, a deterministic tie-break when both ends dial at once, and validator-set
//! changes applied live.
//!
//! - **Who dials**: every validator dials every other one at its addresses (its newest signed address
//!   record, else the validator set's). The lower [`ValidatorId`] dials at once; the higher one waits
//!   [`NodeConfig::dial_grace`](super::NodeConfig::dial_grace) first, since the lower one's connection
//!   would win the tie-break anyway, and still dials after it, for a lower peer that cannot dial out.
//! - **Tie-break**: when a second connection to a peer comes up, both ends keep the same one: the one
//!   dialed by the lower id; if both were dialed by the same side, the newer (the older one is a
//!   connection that side already gave up on). The other is closed.
//! - **Backoff**: after a failed dial or a lost link the next dial waits `min · 2^attempts`, capped at
//!   the maximum, times a jitter factor in `1 ± jitter` from the node's seeded rng. A link that stayed
//!   up at least as long as the backoff it earned (`min · 2^attempts`) resets it when it ends and is
//!   redialed at once (a reset, not a failing path: each moment without it costs its messages a
//!   hop); one that comes up and drops sooner (a flapping path, a peer that accepts and then fails)
//!   does not, so it is redialed ever less often instead of at the minimum forever. While the node is
//!   eclipsed (see [`liveness`](crate::node::liveness)), those that do not hear it are redialed at the
//!   minimum whatever they earned: a direct link is its way around peers that drop its traffic.
//! - **Which validators**: every one in a full mesh; under a bounded
//!   [`Topology`](crate::node::topology::Topology) only the node's picks and the links reliable
//!   delivery opens on demand are dialed and redialed, and inbound links beyond the topology's cap
//!   from validators the node did not pick are closed.
//! - **While a link is down** another peer is grafted as our parent for the lost peer's messages
//!   ([`GossipPolicy::graft_after_link_loss`](crate::node::gossip::GossipPolicy::graft_after_link_loss)),
//!   so they come pushed, one hop longer, instead of announced and pulled. A link replaced by the
//!   tie-break may have lost wants and answers in flight: wants to that peer are forgotten and its
//!   next digest starts over. A new address for a validator we are not connected to (a set
//!   change or an address record) is dialed at once, with the backoff reset.
//! - **Set changes**: a validator that joins is admitted and dialed; one that leaves is refused by the
//!   admission handle, disconnected, and forgotten (knowledge, wants, counters).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::actor::{AbortOnDrop, ActiveLink, Actor, DialOutcome, Peer};
use super::clock::earlier;
use super::events::{Direction, DisconnectReason, NodeEvent};
use crate::identity::ValidatorId;
use crate::message::AddressRecord;
use crate::node::gossip::RecordUpdate;
use crate::node::link::{CloseReason, LinkId, PeerLink};
use crate::transport::{Connection, PeerAddress};
use crate::validator::ValidatorSet;

impl Actor {
    /// Switches to `set`: admission, address book, and peers follow. `report` emits
    /// [`NodeEvent::ValidatorSetChanged`] (not for the set the node starts with).
    pub(crate) fn apply_set(&mut self, set: Arc<ValidatorSet>, report: bool) {
        self.admission.set_validators(set.ids());
        let unlinked: Vec<(ValidatorId, Vec<PeerAddress>)> = self
            .peers
            .iter()
            .filter(|(_, peer)| peer.link.is_none())
            .map(|(id, _)| (*id, self.book.addresses_of(id).to_vec()))
            .collect();
        self.book.set_validators(&set);
        for (peer, before) in unlinked {
            if set.contains(&peer) && self.book.addresses_of(&peer) != before.as_slice() {
                self.dial_afresh(peer);
            }
        }
        self.liveness_set_changed(set.clone());
        let left: Vec<ValidatorId> = self.peers.keys().filter(|id| !set.contains(id)).copied().collect();
        let joined: Vec<ValidatorId> = set.ids().filter(|id| *id != self.me && !self.peers.contains_key(id)).collect();
        self.set = set;
        for peer in &left {
            self.linked.remove(peer);
            let had_link = self.peers.remove(peer).is_some_and(|state| {
                if let Some(active) = state.link {
                    close_in_background(active.link);
                    true
                } else {
                    false
                }
            });
            self.forget(peer);
            self.limiter.remove(peer);
            self.origin_limiter.remove(peer);
            self.reliable_peer_removed(*peer);
            if had_link {
                self.emit(NodeEvent::PeerDisconnected { peer: *peer, reason: DisconnectReason::LeftValidatorSet });
            }
        }
        for peer in &joined {
            self.peers.insert(*peer, Peer::default());
        }
        // Schedules the first dial of each joined validator the node wants a link to.
        self.topology_set_changed();
        if report && (!joined.is_empty() || !left.is_empty()) {
            tracing::info!(joined = joined.len(), left = left.len(), "validator set changed");
            self.emit(NodeEvent::ValidatorSetChanged { joined, left });
        }
    }

    /// Forgets what gossip knew about `peer`'s holdings and requests.
    fn forget(&mut self, peer: &ValidatorId) {
        self.knowledge.forget_peer(peer);
        self.announced.forget_peer(peer);
        self.policy.forget_peer(peer);
    }

    /// When to dial `peer` first (again): at once if we have the lower id, after the grace otherwise.
    /// Under a bounded topology at once: the peer dials us only if it picked us too, which is rare.
    pub(crate) fn first_dial_at(&self, peer: &ValidatorId, now: Instant) -> Instant {
        if self.me < *peer || !self.link_plan.is_full_mesh() {
            now
        } else {
            now + self.config.dial_grace
        }
    }

    /// The next dial deadline over all peers, or earlier: a lower bound kept as dials are scheduled,
    /// made exact by [`dial_due`](Self::dial_due). The actor asks for its deadline on every turn of
    /// its loop, and a scan of a thousand peers per frame would cost more than the frame.
    pub(crate) fn next_dial_at(&self) -> Option<Instant> {
        self.dial_hint
    }

    /// Starts every dial that is due, and sets the next dial deadline exactly.
    pub(crate) fn dial_due(&mut self) {
        let now = self.clock.now();
        let waiting = |peer: &&Peer| peer.link.is_none() && peer.dialing.is_none();
        let due: Vec<ValidatorId> = self
            .peers
            .iter()
            .filter(|(_, peer)| waiting(peer) && peer.next_dial.is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        for peer in due {
            self.start_dial(peer);
        }
        let next = self.peers.values().filter(waiting).filter_map(|peer| peer.next_dial).min();
        self.dial_hint = next;
    }

    /// Dials `peer` at the address [`routing::choose_address`](super::routing::choose_address) picks
    /// (its addresses with a transport here, the next one after each failure, so a validator behind
    /// two relays is reached through the other when one fails). Without one, the peer is not dialed
    /// until a new address record arrives (it may still dial us).
    fn start_dial(&mut self, peer: ValidatorId) {
        let failures = self.peers.get(&peer).map_or(0, |state| state.attempts);
        let addresses = self.book.addresses_of(&peer);
        let usable = |scheme: &str| self.transports.contains_key(scheme);
        let address = super::routing::choose_address(addresses, usable, failures).cloned();
        let Some(state) = self.peers.get_mut(&peer) else { return };
        state.next_dial = None;
        let Some(address) = address else {
            tracing::debug!(peer = %peer.short(), "no address with a known transport: waiting to be dialed");
            return;
        };
        let transport = self.transports[address.scheme()].clone();
        let outcomes = self.dialed.clone();
        let bound = self.config.transport.dial_timeout + self.config.transport.handshake_timeout;
        let span = tracing::debug_span!("dial", peer = %peer.short(), %address);
        let task = tokio::spawn(
            async move {
                let result = match tokio::time::timeout(bound, transport.dial(&address, Some(peer))).await {
                    Ok(Ok(conn)) => Ok(conn),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(_) => Err(format!("no connection within {bound:?}")),
                };
                let _ = outcomes.send(DialOutcome { peer, address, result }).await;
            }
            .instrument(span),
        );
        state.dialing = Some(AbortOnDrop(task));
    }

    pub(crate) fn on_dialed(&mut self, outcome: DialOutcome) {
        let DialOutcome { peer, address, result } = outcome;
        let Some(state) = self.peers.get_mut(&peer) else {
            if let Ok(conn) = result {
                close_connection_in_background(conn, self.config.link.close_timeout);
            }
            return;
        };
        state.dialing = None;
        match result {
            Ok(conn) => self.install(conn, Direction::Outbound, Some(address)),
            Err(error) => {
                tracing::debug!(peer = %peer.short(), %address, %error, "dial failed");
                self.schedule_redial(peer);
            }
        }
    }

    pub(crate) fn on_accepted(&mut self, conn: Box<dyn Connection>) {
        let address = conn.remote_addr();
        self.install(conn, Direction::Inbound, address);
    }

    /// Schedules the next dial to `peer` after a failure, with backoff; none while it is banned (the
    /// unban dials it afresh).
    fn schedule_redial(&mut self, peer: ValidatorId) {
        if !self.admission.is_admitted(&peer) || !self.wants_link(&peer) {
            if let Some(state) = self.peers.get_mut(&peer) {
                state.next_dial = None;
            }
            return;
        }
        // An eclipsed node keeps dialing those that do not hear it at the shortest backoff: a direct
        // link is its way around the peers that drop its traffic, worth far more than the dials.
        let attempts = self.peers.get(&peer).map_or(0, |state| state.attempts);
        let delay = self.backoff(if self.liveness.monitor.is_eclipsed_from(&peer) { 0 } else { attempts });
        let at = self.first_dial_at(&peer, self.clock.now()) + delay;
        if let Some(state) = self.peers.get_mut(&peer) {
            // Counted whatever the delay: the count also picks the next of the peer's addresses.
            state.attempts = attempts.saturating_add(1);
            state.next_dial = Some(at);
            self.dial_hint = earlier(self.dial_hint, at);
        }
    }

    /// The reconnect delay after `attempts` failures, from the shared backoff formula.
    fn backoff(&mut self, attempts: u32) -> Duration {
        let config = &self.config;
        let (min, max, jitter) = (config.reconnect_backoff_min, config.reconnect_backoff_max, config.reconnect_jitter);
        super::backoff::jittered_backoff(min, max, jitter, attempts, &mut self.rng)
    }

    /// Makes `conn` the peer's link, or closes it, by the tie-break.
    fn install(&mut self, conn: Box<dyn Connection>, direction: Direction, address: Option<PeerAddress>) {
        let peer = conn.remote();
        let me = self.me;
        let Some(state) = self.peers.get_mut(&peer) else {
            tracing::debug!(peer = %peer.short(), "connection from outside the validator set: closing");
            close_connection_in_background(conn, self.config.link.close_timeout);
            return;
        };
        if let Err(refusal) = self.admission.check(&peer) {
            // Banned while its handshake was in flight.
            tracing::debug!(peer = %peer.short(), %refusal, "connection from a refused peer: closing");
            close_connection_in_background(conn, self.config.link.close_timeout);
            return;
        }
        if direction == Direction::Inbound && state.link.is_none() && !self.admits_inbound(&peer) {
            tracing::debug!(peer = %peer.short(), "inbound connection beyond the topology's links: closing");
            close_connection_in_background(conn, self.config.link.close_timeout);
            return;
        }
        let Some(state) = self.peers.get_mut(&peer) else { return };
        let dialer = |direction| if direction == Direction::Outbound { me } else { peer };
        let preferred_dialer = me.min(peer);
        if let Some(existing) = &state.link {
            let keep_existing =
                dialer(existing.direction) != dialer(direction) && dialer(existing.direction) == preferred_dialer;
            if keep_existing {
                tracing::debug!(peer = %peer.short(), "duplicate connection: keeping the one dialed by the lower id");
                close_connection_in_background(conn, self.config.link.close_timeout);
                return;
            }
        }
        if dialer(direction) == preferred_dialer {
            state.dialing = None; // nothing could replace this connection
        }
        let link =
            match PeerLink::spawn_with_events(Arc::from(conn), self.config.link.clone(), self.link_events.clone()) {
                Ok(link) => Arc::new(link),
                Err(error) => {
                    tracing::warn!(peer = %peer.short(), %error, "cannot start a link: closing the connection");
                    return;
                }
            };
        let active = ActiveLink {
            link,
            direction,
            address: address.clone(),
            since: self.clock.now(),
            waiting_sends: Arc::new(Semaphore::new(self.config.max_waiting_sends_per_peer)),
        };
        let replaced = state.link.replace(active);
        state.next_dial = None;
        self.linked.insert(peer);
        match replaced {
            Some(old) => {
                tracing::debug!(peer = %peer.short(), ?direction, "replacing a duplicate connection");
                close_in_background(old.link);
                self.announced.forget_peer(&peer);
                self.policy.link_replaced(&peer);
            }
            None => {
                tracing::info!(peer = %peer.short(), ?direction, "connected");
                self.emit(NodeEvent::PeerConnected { peer, direction, address });
            }
        }
        self.send_digest(&peer);
        self.reliable_peer_connected(peer);
    }

    /// The link `link` to `peer` ended: if it is the peer's current link, forget it and redial.
    pub(crate) fn on_link_closed(&mut self, link: LinkId, peer: ValidatorId, reason: CloseReason) {
        let Some(state) = self.peers.get_mut(&peer) else { return };
        if state.link.as_ref().is_none_or(|active| active.link.id() != link) {
            return; // a replaced link, closed by the tie-break
        }
        let lived = state.link.take().map(|active| self.clock.now().saturating_duration_since(active.since));
        self.linked.remove(&peer);
        let (min, max) = (self.config.reconnect_backoff_min, self.config.reconnect_backoff_max);
        let stable = lived.is_some_and(|lived| lived >= super::backoff::nominal_backoff(min, max, state.attempts));
        if stable {
            state.attempts = 0;
        }
        state.stats.disconnects += 1;
        self.forget(&peer);
        self.graft_around(peer);
        tracing::info!(peer = %peer.short(), %reason, "disconnected");
        if let CloseReason::ProtocolViolation(violation) = &reason {
            self.emit(NodeEvent::PeerMisbehaved {
                peer,
                misbehaviour: super::events::Misbehaviour::ProtocolViolation(violation.clone()),
            });
        }
        self.emit(NodeEvent::PeerDisconnected { peer, reason: DisconnectReason::Link(reason) });
        self.liveness_connection_lost(peer);
        if stable {
            self.redial_at_once(peer);
        } else {
            self.schedule_redial(peer);
        }
    }

    /// Redials `peer` with no backoff, after the loss of a link that had stayed up: a reset, not a
    /// failing path, and every moment without the link costs consensus a hop (or a repair) on each of
    /// the peer's messages. The tie-break's grace still applies, so only the lower id dials first. If
    /// this dial fails, the next waits the backoff as usual.
    fn redial_at_once(&mut self, peer: ValidatorId) {
        if !self.wants_link(&peer) {
            return;
        }
        let at = self.first_dial_at(&peer, self.clock.now());
        if let Some(state) = self.peers.get_mut(&peer) {
            state.next_dial = Some(at);
            self.dial_hint = earlier(self.dial_hint, at);
        }
    }

    /// While the link to `peer` is down, has another peer push us `peer`'s messages
    /// ([`GossipPolicy::graft_after_link_loss`](crate::node::gossip::GossipPolicy::graft_after_link_loss)).
    fn graft_around(&mut self, peer: ValidatorId) {
        let connected: Vec<ValidatorId> = self.connected().iter().copied().filter(|id| *id != peer).collect();
        let now = self.clock.now();
        if let Some((parent, id)) = self.policy.graft_after_link_loss(peer, &connected, &self.store, now, &mut self.rng)
        {
            tracing::debug!(lost = %peer.short(), parent = %parent.short(), "grafting a parent for the lost peer's messages");
            self.send_wants(&parent, &[id]);
        }
    }

    /// Dials `peer` now if it is a validator we are not connected to.
    pub(crate) fn connect_now(&mut self, peer: ValidatorId) {
        if let Some(state) = self.peers.get_mut(&peer) {
            if state.link.is_none() && state.dialing.is_none() {
                let now = self.clock.now();
                state.next_dial = Some(now);
                self.dial_hint = earlier(self.dial_hint, now);
            }
        }
    }

    /// Closes the link to `peer` on request; the connection manager redials after backoff while it is
    /// a validator.
    pub(crate) fn disconnect(&mut self, peer: ValidatorId) {
        self.disconnect_for(peer, DisconnectReason::Requested);
    }

    /// Closes the link to `peer` for `reason`; redialed after backoff unless it is banned now.
    pub(crate) fn disconnect_for(&mut self, peer: ValidatorId, reason: DisconnectReason) {
        let Some(active) = self.peers.get_mut(&peer).and_then(|state| state.link.take()) else {
            if !self.admission.is_admitted(&peer) {
                if let Some(state) = self.peers.get_mut(&peer) {
                    // Aborts a dial in flight (and the next one) to a peer banned before it connected.
                    (state.dialing, state.next_dial) = (None, None);
                }
            }
            return;
        };
        self.linked.remove(&peer);
        close_in_background(active.link);
        self.forget(&peer);
        self.emit(NodeEvent::PeerDisconnected { peer, reason });
        self.liveness_connection_lost(peer);
        self.schedule_redial(peer);
    }

    /// Keeps a verified address record; dials the validator at once at its new address if we are
    /// not connected to it.
    pub(crate) fn apply_address_record(&mut self, record: AddressRecord) {
        let validator = record.validator;
        let addresses = record.addresses.clone();
        match self.book.apply(record) {
            RecordUpdate::Inserted | RecordUpdate::Replaced { .. } => {}
            RecordUpdate::Stale { .. } | RecordUpdate::UnknownValidator => return,
        }
        tracing::debug!(validator = %validator.short(), "address record applied");
        self.emit(NodeEvent::AddressUpdated { validator, addresses });
        self.dial_afresh(validator);
    }

    /// `peer` has a new address, or was unbanned: if we are not connected to it, the backoff it earned
    /// before does not apply, so dial it as if it had just joined.
    pub(crate) fn dial_afresh(&mut self, peer: ValidatorId) {
        if !self.wants_link(&peer) {
            return;
        }
        let at = self.first_dial_at(&peer, self.clock.now());
        if let Some(state) = self.peers.get_mut(&peer) {
            if state.link.is_none() {
                state.attempts = 0;
                state.next_dial = Some(at);
                self.dial_hint = earlier(self.dial_hint, at);
            }
        }
    }
}

/// Closes a link without making the task wait for its flush.
fn close_in_background(link: Arc<PeerLink>) {
    tokio::spawn(async move { link.close().await });
}

/// Closes a connection that never became a link, flushing it for at most `within`.
fn close_connection_in_background(conn: Box<dyn Connection>, within: Duration) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(within, conn.close()).await;
    });
}
