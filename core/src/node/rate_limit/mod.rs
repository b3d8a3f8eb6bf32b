//! Per-peer, per-priority inbound rate limits as token buckets (DESIGN.md §5), pure state machines.
//!
//! - [`TokenBucket`]: bytes per second with a burst, refilled from virtual time.
//! - [`InboundLimiter`]: one bucket per peer and [`Priority`](crate::node::priority::Priority), from a
//!   [`RateLimitConfig`] preset. A frame over quota is dropped (the caller scores it as
//!   `PeerBehavior::OverQuota`), never queued: memory stays one bucket set per peer.
//!
//! Not yet wired into the link reader (no driver).

mod bucket;
mod limiter;

pub use bucket::TokenBucket;
pub use limiter::{InboundLimiter, RateLimit, RateLimitConfig};
