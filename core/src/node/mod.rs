//! The node runtime (DESIGN.md §5): what runs between a consensus engine and its peers'
//! [`Connection`]s, turning authenticated connections into broadcast, gossip, reliable delivery,
//! liveness and byzantine detection.
//!
//! - [`priority`]: traffic priorities (`Vote > Proposal > Liveness > Discovery > Bulk`) and the one
//!   table bounding each priority's outbound queue.
//! - [`link`]: [`link::PeerLink`], the per-peer link over one authenticated connection: prioritised
//!   bounded queues, large frames split into parts that votes overtake, bounded reassembly, typed events
//!   for what the peer sent and why the link ended, and per-link counters.
//! - [`gossip`]: the pure, deterministic data structures and decisions of gossip — the seen-cache,
//!   the store that answers repair requests, what each peer is known to hold, whom to forward to, what
//!   to ask for, and the address book. No tasks and no I/O: time comes in as arguments, so simulations
//!   run them in virtual time.
//!
//! [`Connection`]: crate::transport::Connection

pub mod gossip;
pub mod link;
pub mod priority;
