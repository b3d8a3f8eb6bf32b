//! Routing: which of a peer's addresses to dial — directly, or through one of its relays
//! (`relay://` addresses are ordinary addresses of the `relay` transport, see [`crate::relay`]).
//!
//! The choice is a pure function of the peer's published addresses, the transports this node has and
//! the consecutive failures since the peer's last connection: the first usable address until it
//! fails, then the next one, round robin. A validator that advertises a direct address first and
//! its relays after is reached directly when it can be, and through each relay in turn when not;
//! one behind two relays is reached through the second within one reconnect backoff of the first
//! failing (the bound its tests check).
//!
//! ```
//! use quorumnet_core::node::routing::choose_address;
//! use quorumnet_core::transport::PeerAddress;
//!
//! let addrs: Vec<PeerAddress> = ["quic://10.0.0.1:1", "relay://mem://r1/x", "relay://mem://r2/x"]
//!     .iter().map(|a| a.parse().unwrap()).collect();
//! let usable = |scheme: &str| scheme != "quic"; // this node has no QUIC transport
//! assert_eq!(choose_address(&addrs, usable, 0).unwrap().as_str(), "relay://mem://r1/x");
//! assert_eq!(choose_address(&addrs, usable, 1).unwrap().as_str(), "relay://mem://r2/x");
//! assert_eq!(choose_address(&addrs, usable, 2).unwrap().as_str(), "relay://mem://r1/x");
//! assert!(choose_address(&addrs, |_| false, 0).is_none());
//! ```
//!
//! On top of dialing, `route.rs` models the path in use — [`Route`]: direct or through which relay,
//! and its quality from the measured RTT and recent failures — and `driver.rs` puts it behind
//! [`MessageRouter`](crate::node::MessageRouter) on [`Node`](crate::node::Node).

mod driver;
mod route;

pub(crate) use driver::RoutingCommand;
pub use route::{kind_of, route_for, LinkObservation, Route, RouteKind, RouteQuality};

use crate::identity::ValidatorId;
use crate::node::NodeError;
use crate::transport::{PeerAddress, TransportError};

/// Why a routing call failed, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// The id is not another validator of the current set.
    #[error("{peer} is not another validator of the current set: routes exist only to the set's validators")]
    NotAValidator {
        /// The id asked for.
        peer: ValidatorId,
    },
    /// No link to the validator and no address of its this node can dial.
    #[error("no route to {peer}: no link is up and none of its addresses has a transport here; give the node the transport of one of its addresses (`relay` for relay:// ones) or wait for its address record")]
    NoRoute {
        /// The validator.
        peer: ValidatorId,
    },
    /// The envelope does not verify, so it is not forwarded.
    #[error("envelope not forwarded: {reason}; forward only envelopes this node received (they arrive verified)")]
    NotForwarded {
        /// What was wrong with it.
        reason: String,
    },
    /// This node cannot run a relay on that scheme.
    #[error("cannot host a relay on {scheme}://: {why}; or run `RelayServer::spawn` directly over a listener of the transport you want")]
    CannotHostRelay {
        /// The scheme asked for.
        scheme: String,
        /// Why not.
        why: String,
    },
    /// The relay's listener did not start.
    #[error("the relay cannot listen at {addr}: {source}")]
    Listen {
        /// Where.
        addr: PeerAddress,
        /// Why (boxed: a transport error is large, and rare).
        source: Box<TransportError>,
    },
    /// The node refused or stopped.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// The address to dial after `failures` consecutive failures: the usable addresses in their
/// published order, taken round robin. `None` when no address has a transport here.
pub fn choose_address(addresses: &[PeerAddress], usable: impl Fn(&str) -> bool, failures: u32) -> Option<&PeerAddress> {
    let usable: Vec<&PeerAddress> = addresses.iter().filter(|a| usable(a.scheme())).collect();
    if usable.is_empty() {
        return None;
    }
    Some(usable[failures as usize % usable.len()])
}
