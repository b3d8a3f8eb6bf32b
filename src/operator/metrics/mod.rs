//! Prometheus metrics over HTTP: a reusable endpoint ([`server`]), bound from a config's `metrics`
//! field ([`configured`]), and what `quorumnet node` ([`node_metrics`]) and `quorumnet relay`
//! ([`relay_metrics`]) expose through it.
//!
//! With `metrics = "127.0.0.1:9100"` in its `node.toml`, a node serves `GET /metrics` there in the
//! OpenMetrics text format, every figure read afresh at each scrape:
//!
//! ```text
//! $ curl -s 127.0.0.1:9100/metrics | grep -E '^quorumnet_(committed_height|connected_peers) '
//! quorumnet_committed_height 42
//! quorumnet_connected_peers 3
//! ```
//!
//! # Pieces
//! - [`server`]: the endpoint, for any [`Scrape`](server::Scrape) (a `prometheus-client` registry, or
//!   a snapshot rendered per scrape); [`request`] and [`response`]: its HTTP.
//! - [`node_metrics`]: a node's families; [`node_snapshot`]: what one scrape reads from the node and
//!   its engine's journal; [`node_events`]: the tally of events (bans, partitions…) between scrapes.

pub mod configured;
mod families;
pub mod node_events;
pub mod node_metrics;
pub mod node_snapshot;
pub mod relay_metrics;
pub mod request;
pub mod response;
pub mod server;
