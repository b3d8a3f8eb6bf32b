//! What `quorumnet relay` exposes: the [`RelayStats`] of its relays (one per listen address),
//! summed, read at each scrape.
//!
//! ```
//! use quorumnet::operator::metrics::relay_metrics::render;
//! use quorumnet::relay::RelayStats;
//!
//! let text = render(RelayStats { links: 4, reservations: 1, circuits: 3, bytes_forwarded: 2048 });
//! assert!(text.contains("\nquorumnet_relay_circuits 3\n"));
//! assert!(text.contains("\nquorumnet_relay_forwarded_bytes_total 2048\n"));
//! ```

use std::fmt;
use std::sync::{Arc, Weak};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Registry;

use super::families::Families;
use super::server::{self, Scrape};
use crate::operator::relay::stats;
use crate::relay::{RelayServer, RelayStats};

/// A relay process's metrics, for [`MetricsServer::serve`](super::server::MetricsServer::serve).
/// Holds the relays weakly: stopping the process drops them, and with them every link, whatever
/// the endpoint still serves.
#[derive(Debug)]
pub struct RelayMetrics {
    relays: Weak<Vec<RelayServer>>,
}

impl RelayMetrics {
    /// Metrics of `relays`.
    pub fn new(relays: &Arc<Vec<RelayServer>>) -> Self {
        RelayMetrics { relays: Arc::downgrade(relays) }
    }
}

impl Scrape for RelayMetrics {
    async fn scrape(&self) -> String {
        render(self.relays.upgrade().map(|relays| stats::current(&relays)).unwrap_or_default())
    }
}

/// The OpenMetrics text of `stats`.
pub fn render(stats: RelayStats) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot(stats)));
    server::render(&registry)
}

/// One reading, as a collector.
#[derive(Debug)]
struct Snapshot(RelayStats);

impl Collector for Snapshot {
    fn encode(&self, encoder: DescriptorEncoder) -> fmt::Result {
        let mut families = Families(encoder);
        let stats = self.0;
        families.gauge("quorumnet_relay_links", "Validators connected to the relay", stats.links)?;
        families.gauge(
            "quorumnet_relay_reservations",
            "Unexpired reservations of NAT-bound validators",
            stats.reservations,
        )?;
        families.gauge("quorumnet_relay_circuits", "Circuits open now", stats.circuits)?;
        families.counter(
            "quorumnet_relay_forwarded_bytes",
            "Circuit data bytes forwarded since start",
            stats.bytes_forwarded,
        )
    }
}
