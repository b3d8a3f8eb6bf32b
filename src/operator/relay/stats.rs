//! The one place a running relay's [`RelayStats`] leave the process. `quorumnet relay` hands every
//! listener's relay to [`expose`] once, at start; the metrics endpoint (`metrics` in `relay.toml`)
//! belongs here, reading [`sum`] of the relays' [`RelayServer::stats`] on each scrape.

use std::net::SocketAddr;
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

/// Serves `relays`' stats at `metrics`. Not yet: only warns that the address is not served. A server
/// started here must hold the relays weakly ([`Arc::downgrade`]), so that stopping the process still
/// drops them and ends every link.
pub fn expose(relays: &Relays, metrics: Option<SocketAddr>) {
    if let Some(metrics) = metrics {
        tracing::warn!(%metrics, relays = relays.len(), "`metrics` is not served yet");
    }
}
