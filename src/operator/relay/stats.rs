//! A running relay process's [`RelayStats`]: the [`sum`] over its listeners' relays, which its log
//! line at shutdown and its metrics endpoint
//! ([`relay_metrics`](crate::operator::metrics::relay_metrics)) read.

use std::sync::Arc;

use crate::relay::{RelayServer, RelayStats};

/// The relays of one `quorumnet relay` process, shared with whatever reports on them.
pub type Relays = Arc<Vec<RelayServer>>;

/// What the process holds across its listeners.
///
/// ```
/// use quorumnet::operator::relay::stats::sum;
/// use quorumnet::relay::RelayStats;
///
/// let one = RelayStats { links: 2, reservations: 1, circuits: 3, bytes_forwarded: 10 };
/// assert_eq!(sum([one, one]), RelayStats { links: 4, reservations: 2, circuits: 6, bytes_forwarded: 20 });
/// ```
pub fn sum(stats: impl IntoIterator<Item = RelayStats>) -> RelayStats {
    stats.into_iter().fold(RelayStats::default(), |total, s| RelayStats {
        links: total.links + s.links,
        reservations: total.reservations + s.reservations,
        circuits: total.circuits + s.circuits,
        bytes_forwarded: total.bytes_forwarded + s.bytes_forwarded,
    })
}

/// The process's current stats.
pub fn current(relays: &Relays) -> RelayStats {
    sum(relays.iter().map(RelayServer::stats))
}
