//! The actor's side of the topology: the connection manager asks [`LinkPlan`](super::LinkPlan)
//! which peers to dial and admit, and reliable delivery opens links on demand.

use tokio::time::Instant;

use super::Topology;
use crate::identity::ValidatorId;
use crate::node::actor::Actor;
use crate::node::events::{Direction, DisconnectReason};

impl Actor {
    /// Whether the connection manager should dial `peer`, and redial it when its link drops.
    pub(crate) fn wants_link(&self, peer: &ValidatorId) -> bool {
        self.link_plan.wants(peer)
    }

    /// Whether to keep an inbound connection from `peer`, given the links up now.
    pub(crate) fn admits_inbound(&self, peer: &ValidatorId) -> bool {
        self.link_plan.admits_inbound(peer, self.linked.len())
    }

    /// The set changed (`self.set` is the new one): recompute the picks, close the links this node
    /// dialed to validators it no longer picks, and schedule a dial to each new pick.
    pub(crate) fn topology_set_changed(&mut self) {
        let ids: Vec<ValidatorId> = self.set.ids().collect();
        for peer in self.link_plan.set_changed(self.me, ids.iter().copied()) {
            if self.dialed_by_me(&peer) {
                self.disconnect_for(peer, DisconnectReason::Unneeded);
            }
        }
        let now = self.clock.now();
        let undialed: Vec<ValidatorId> = self
            .peers
            .iter()
            .filter(|(_, state)| state.link.is_none() && state.dialing.is_none() && state.next_dial.is_none())
            .filter(|(id, _)| self.link_plan.wants(id))
            .map(|(id, _)| *id)
            .collect();
        for peer in undialed {
            let at = self.first_dial_at(&peer, now);
            if let Some(state) = self.peers.get_mut(&peer) {
                state.next_dial = Some(at);
                self.dial_hint = crate::node::clock::earlier(self.dial_hint, at);
            }
        }
    }

    /// Reliable delivery sent `peer` a message or got its ack: under a bounded topology, keep a link
    /// to it for the topology's linger from now, and dial it now if the node had no reason to before.
    pub(crate) fn keep_link_for_reliable(&mut self, peer: ValidatorId) {
        let Topology::Bounded { linger, .. } = *self.link_plan.topology() else { return };
        if self.link_plan.keep_until(peer, self.clock.now() + linger) {
            self.dial_afresh(peer);
        }
    }

    /// When a link on demand is next due for release.
    pub(crate) fn next_topology_wakeup(&self) -> Option<Instant> {
        self.link_plan.next_expiry()
    }

    /// Releases the links on demand whose time passed: kept another linger while messages to the peer
    /// are unacked, closed if this node dialed them and does not pick the peer, and no longer dialed
    /// if they are not up.
    pub(crate) fn topology_due(&mut self) {
        let Topology::Bounded { linger, .. } = *self.link_plan.topology() else { return };
        let now = self.clock.now();
        for peer in self.link_plan.take_expired(now) {
            if self.reliable_unacked(peer) > 0 {
                self.link_plan.keep_until(peer, now + linger);
            } else if self.link_plan.picked(&peer) {
                continue;
            } else if self.dialed_by_me(&peer) {
                tracing::debug!(peer = %peer.short(), "link on demand no longer needed: closing");
                self.disconnect_for(peer, DisconnectReason::Unneeded);
            } else if let Some(state) = self.peers.get_mut(&peer) {
                if state.link.is_none() {
                    (state.dialing, state.next_dial) = (None, None);
                }
            }
        }
    }

    /// Whether this node's link to `peer` is one it dialed (the side that dialed a link owns it).
    fn dialed_by_me(&self, peer: &ValidatorId) -> bool {
        let link = self.peers.get(peer).and_then(|state| state.link.as_ref());
        link.is_some_and(|active| active.direction == Direction::Outbound)
    }
}
