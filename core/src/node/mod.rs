//! The node runtime: what runs between a consensus engine and its peers' [`Connection`]s.
//!
//! - [`priority`]: traffic priorities (`Vote > Proposal > Liveness > Discovery > Bulk`) and the one
//!   table bounding each priority's outbound queue.
//! - [`link`]: [`link::PeerLink`], the per-peer link over one authenticated connection: prioritised
//!   bounded queues, large frames split into parts that votes overtake, bounded reassembly, typed events
//!   for what the peer sent and why the link ended, and per-link counters.
//!
//! [`Connection`]: crate::transport::Connection

pub mod link;
pub mod priority;
