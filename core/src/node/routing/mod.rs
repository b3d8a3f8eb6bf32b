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

use crate::transport::PeerAddress;

/// The address to dial after `failures` consecutive failures: the usable addresses in their
/// published order, taken round robin. `None` when no address has a transport here.
pub fn choose_address(addresses: &[PeerAddress], usable: impl Fn(&str) -> bool, failures: u32) -> Option<&PeerAddress> {
    let usable: Vec<&PeerAddress> = addresses.iter().filter(|a| usable(a.scheme())).collect();
    if usable.is_empty() {
        return None;
    }
    Some(usable[failures as usize % usable.len()])
}
