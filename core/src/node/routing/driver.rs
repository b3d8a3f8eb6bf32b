//! The actor's side of routing: the [`Node`] methods behind
//! [`MessageRouter`](crate::node::MessageRouter). Each asks the actor one [`RoutingCommand`] and does
//! any slow work (a relay's listen) on the caller's task, so the actor only reads its state.
//!
//! - [`Node::find_route`] fills a [`LinkObservation`] from the peer's link, address book, dial
//!   failures and ping RTT, and the pure [`route_for`] turns it into a [`Route`].
//! - [`Node::send_via_route`] is [`Node::send_reliable`] once a route exists: whichever the route,
//!   the message goes on the destination's own authenticated link (a relay circuit carries Noise end
//!   to end), so the acknowledgement still comes from the destination.
//! - [`Node::forward_message`] verifies another validator's envelope like a received one, then sends
//!   it to every connected validator and keeps it for gossip, as a broadcast of our own would be.
//! - [`Node::register_as_relay`] listens with one of the node's transports and runs a
//!   [`RelayServer`] on that listener, under the node's identity and admission.

use tokio::sync::oneshot;

use super::{choose_address, route_for, LinkObservation, Route, RouteQuality, RoutingError};
use crate::identity::ValidatorId;
use crate::message::{ConsensusMessage, Envelope, MessageId};
use crate::node::actor::{Actor, Command};
use crate::node::handle::Node;
use crate::relay::{RelayConfig, RelayServer, SCHEME as RELAY_SCHEME};
use crate::transport::{PeerAddress, Transport};

/// A routing question or action from a handle.
pub(crate) enum RoutingCommand {
    Observe { peer: ValidatorId, reply: oneshot::Sender<Option<LinkObservation>> },
    Forward { envelope: Envelope, reply: oneshot::Sender<Result<MessageId, RoutingError>> },
    Transport { scheme: String, reply: oneshot::Sender<Result<std::sync::Arc<dyn Transport>, RoutingError>> },
}

impl Actor {
    pub(crate) fn on_routing_command(&mut self, command: RoutingCommand) {
        match command {
            RoutingCommand::Observe { peer, reply } => {
                let _ = reply.send(self.observe(peer));
            }
            RoutingCommand::Forward { envelope, reply } => {
                let _ = reply.send(self.forward_verified(envelope));
            }
            RoutingCommand::Transport { scheme, reply } => {
                let _ = reply.send(self.relay_host_transport(&scheme));
            }
        }
    }

    /// What this node knows of its path to `peer`; `None` if `peer` is not another validator of the set.
    fn observe(&self, peer: ValidatorId) -> Option<LinkObservation> {
        let state = self.peers.get(&peer)?;
        let usable = |scheme: &str| self.transports.contains_key(scheme);
        Some(LinkObservation {
            link: state.link.as_ref().map(|active| active.address.clone()),
            next_dial: choose_address(self.book.addresses_of(&peer), usable, state.attempts).cloned(),
            rtt: self.liveness.rtt.estimate(&peer),
            failures: state.attempts,
        })
    }

    /// Checks `envelope` as a received one would be, then pushes it to every connected validator and
    /// keeps it for gossip.
    fn forward_verified(&mut self, mut envelope: Envelope) -> Result<MessageId, RoutingError> {
        let id = envelope.id();
        let message = match self.judge(&id, &mut envelope) {
            Ok(Some(message)) => message,
            Ok(None) => {
                return Err(RoutingError::NotForwarded { reason: "older than every validator set kept".into() })
            }
            Err(misbehaviour) => return Err(RoutingError::NotForwarded { reason: format!("{misbehaviour:?}") }),
        };
        // The same path as our own broadcasts: seen, stored for gossip repair, sent to every link.
        self.send_own(envelope, message.kind());
        Ok(id)
    }

    fn relay_host_transport(&self, scheme: &str) -> Result<std::sync::Arc<dyn Transport>, RoutingError> {
        let available =
            || self.transports.keys().filter(|s| *s != RELAY_SCHEME).cloned().collect::<Vec<_>>().join(", ");
        if scheme == RELAY_SCHEME {
            return Err(RoutingError::CannotHostRelay {
                scheme: scheme.into(),
                why: format!(
                    "a relay is reached directly, not through another relay; listen on one of: {}",
                    available()
                ),
            });
        }
        self.transports.get(scheme).cloned().ok_or_else(|| RoutingError::CannotHostRelay {
            scheme: scheme.into(),
            why: format!("this node has no {scheme} transport (it has: {})", available()),
        })
    }
}

impl Node {
    /// The current route to `dest`: the live link's (direct, or through the relay of its
    /// `relay://` address), else the one the next dial takes; `None` when `dest` has neither (no link
    /// and no address with a transport here). Quality from [`RouteQuality::recommended`].
    ///
    /// ```no_run
    /// # async fn demo(node: quorumnet_core::node::Node, peer: quorumnet_core::identity::ValidatorId)
    /// # -> Result<(), quorumnet_core::node::routing::RoutingError> {
    /// use quorumnet_core::node::routing::RouteKind;
    ///
    /// if let Some(route) = node.find_route(peer).await? {
    ///     match route.via {
    ///         RouteKind::Direct => println!("direct, quality {:.2}", route.quality),
    ///         RouteKind::Relay(relay) => println!("through {relay}, quality {:.2}", route.quality),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`RoutingError::NotAValidator`] for an id outside the current set (or this node's own);
    /// [`RoutingError::Node`] once the node stopped.
    pub async fn find_route(&self, dest: ValidatorId) -> Result<Option<Route>, RoutingError> {
        let observed = self.ask(|reply| Command::Routing(RoutingCommand::Observe { peer: dest, reply })).await?;
        let observed = observed.ok_or(RoutingError::NotAValidator { peer: dest })?;
        Ok(route_for(&observed, &RouteQuality::recommended()))
    }

    /// Sends `message` to `dest` on its current route, reliably ([`Node::send_reliable`]: wait for
    /// the destination's own acknowledgement with [`Node::wait_for_ack`]).
    ///
    /// # Errors
    /// [`RoutingError::NoRoute`] when `dest` has no link and no address this node can dial (give the
    /// node the transport of one of its addresses, `relay` for `relay://` ones);
    /// [`RoutingError::NotAValidator`]; [`RoutingError::Node`] for what `send_reliable` refuses.
    pub async fn send_via_route(
        &self,
        dest: ValidatorId,
        message: &ConsensusMessage,
    ) -> Result<MessageId, RoutingError> {
        if self.find_route(dest).await?.is_none() {
            return Err(RoutingError::NoRoute { peer: dest });
        }
        Ok(self.send_reliable(dest, message).await?)
    }

    /// Re-broadcasts another validator's `envelope` (e.g. one from the inbox, to push it past a
    /// partition): verified as a received envelope is, then sent to every connected validator and
    /// kept for gossip. Returns its id.
    ///
    /// # Errors
    /// [`RoutingError::NotForwarded`] for an envelope that does not verify against the validator set
    /// (or is too old for any set kept); [`RoutingError::Node`] once the node stopped.
    pub async fn forward_message(&self, envelope: Envelope) -> Result<MessageId, RoutingError> {
        self.ask(|reply| Command::Routing(RoutingCommand::Forward { envelope, reply })).await?
    }

    /// Makes this node a relay too: listens at `listen` with the node's transport for its scheme and
    /// runs a [`RelayServer`] on that listener, under this node's identity and admission (so it serves
    /// the validators it admits). The relay runs until the returned server is dropped. Validators
    /// behind it listen at `relay://<its local_addr>`.
    ///
    /// # Errors
    /// [`RoutingError::CannotHostRelay`] when this node has no transport for `listen`'s scheme, or it
    /// is `relay`: run [`RelayServer::spawn`] directly over a listener of the transport you want;
    /// [`RoutingError::Listen`]; [`RoutingError::Node`] once the node stopped.
    pub async fn register_as_relay(
        &self,
        listen: &PeerAddress,
        config: RelayConfig,
    ) -> Result<RelayServer, RoutingError> {
        let scheme = listen.scheme().to_owned();
        let transport = self.ask(|reply| Command::Routing(RoutingCommand::Transport { scheme, reply })).await??;
        let listener = transport
            .listen(listen)
            .await
            .map_err(|source| RoutingError::Listen { addr: listen.clone(), source: Box::new(source) })?;
        Ok(RelayServer::spawn(listener, config))
    }
}
