//! Topology: which validators a node keeps links to.
//!
//! - [`Topology::FullMesh`] (the presets' choice): a link to every other validator of the set, the
//!   connection manager's original behaviour. Each message then reaches everyone in one hop.
//! - [`Topology::Bounded`]: a link to about `degree` validators, gossip carrying everything to the
//!   rest. A full mesh of `N` validators holds `N − 1` links per node — at 1 000 validators that is
//!   a million connections, a million handshakes at start and every heartbeat, digest and
//!   announcement repeated per link — while a random graph of degree 8 reaches 1 000 nodes in about
//!   four hops.
//!
//! # How a bounded node picks its peers
//! Each node dials the `⌈degree / 2⌉` validators that rank highest by rendezvous hashing of the pair
//! (`BLAKE3("quorumnet/1 topology" ‖ me ‖ peer)`), and accepts links from any validator of the set
//! up to [`Topology::Bounded::max_links`] (inbound beyond that is closed at once; the dialer backs
//! off). Since every node picks independently and uniformly, each is also picked by `≈ degree / 2`
//! others on average: about `degree` links per node, and a random `⌈degree / 2⌉`-out graph, which is
//! connected with high probability from two picks per node on.
//!
//! Rendezvous hashing keeps the graph stable: a validator joining or leaving the set moves only the
//! links it is part of, plus one pick for each node that had it among its picks. No coordination and
//! no state beyond the set: a newcomer, a test or an operator computes any node's picks from ids
//! alone ([`picks`]).
//!
//! # Links on demand
//! Reliable delivery needs a direct link (the ack must come from the destination over its own
//! authenticated link): [`Node::send_reliable`](crate::node::Node::send_reliable) to a validator
//! that is not linked dials it for the message. The node that dialed such a link keeps it while
//! messages to that peer are unacked and for [`Topology::Bounded::linger`] after, then closes it;
//! the other side never redials it.
//!
//! # What a bounded topology changes elsewhere
//! - Round trips are measured over links only, so the quorum round-trip estimate
//!   ([`quorum_round_trip`](crate::node::liveness::quorum_round_trip)) stays `None` unless the linked
//!   peers hold a quorum: an engine keeps its own timeouts.
//! - The eclipse reaction redials the node's own picks at the minimum backoff, not every validator.
//!
//! ```
//! use quorumnet_core::identity::Keypair;
//! use quorumnet_core::node::topology::{picks, Topology};
//!
//! let ids: Vec<_> = (0..50u8).map(|i| Keypair::from_seed(&[i; 32]).validator_id()).collect();
//! let topology = Topology::bounded(8);
//! let mine = picks(ids[0], ids.iter().copied(), &topology);
//! assert_eq!(mine.len(), 4);
//! assert!(!mine.contains(&ids[0]));
//! // A full mesh picks everyone else.
//! assert_eq!(picks(ids[0], ids.iter().copied(), &Topology::FullMesh).len(), 49);
//! ```

mod driver;
mod plan;

pub use plan::picks;
pub(crate) use plan::LinkPlan;

use std::time::Duration;

/// Which validators a node keeps links to; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topology {
    /// A link to every other validator of the set.
    FullMesh,
    /// Links to about `degree` validators; gossip carries the rest.
    Bounded {
        /// The links each node aims at: it dials `⌈degree / 2⌉` and is dialed by about as many.
        degree: usize,
        /// Links beyond which inbound connections from validators this node did not pick are closed:
        /// bounds the memory and traffic one node takes on however many pick it.
        max_links: usize,
        /// How long a link dialed for reliable delivery stays up after its last message was acked.
        linger: Duration,
    },
}

impl Topology {
    /// A bounded topology of `degree` links per node, accepting up to `3 · degree` links (the
    /// number a node is picked by varies: about `degree / 2` on average, rarely more than twice that)
    /// and keeping on-demand links 10 s after their last ack.
    ///
    /// ```
    /// use quorumnet_core::node::topology::Topology;
    ///
    /// let Topology::Bounded { degree, max_links, .. } = Topology::bounded(8) else { unreachable!() };
    /// assert_eq!((degree, max_links), (8, 24));
    /// ```
    pub fn bounded(degree: usize) -> Self {
        let degree = degree.max(2);
        Topology::Bounded { degree, max_links: 3 * degree, linger: Duration::from_secs(10) }
    }

    /// How many validators a node dials: everyone for a full mesh, `⌈degree / 2⌉` when bounded.
    pub fn dialed(&self) -> Option<usize> {
        match self {
            Topology::FullMesh => None,
            Topology::Bounded { degree, .. } => Some(degree.div_ceil(2)),
        }
    }
}
