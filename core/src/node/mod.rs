//! The node runtime (DESIGN.md §5): what turns authenticated connections into broadcast, gossip,
//! reliable delivery, liveness and byzantine detection.
//!
//! - [`gossip`]: the pure, deterministic data structures and decisions of gossip — the seen-cache,
//!   the store that answers repair requests, what each peer is known to hold, whom to forward to, what
//!   to ask for, and the address book. No tasks and no I/O: time comes in as arguments, so simulations
//!   run them in virtual time.

pub mod gossip;
