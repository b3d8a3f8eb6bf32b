//! Per-peer, per-priority inbound rate limits as token buckets (DESIGN.md §5), pure state machines.
//!
//! - [`TokenBucket`]: bytes per second with a burst, refilled from virtual time.
//! - [`InboundLimiter`]: one bucket per peer and [`Priority`](crate::node::priority::Priority), from a
//!   [`RateLimitConfig`] preset. A frame over quota is dropped (the caller scores it as
//!   `PeerBehavior::OverQuota`), never queued: memory stays one bucket set per peer.
//!
//! The driver (`driver.rs`) applies them to every frame the node's links deliver, before the frame
//! is decoded further or verified.

mod bucket;
mod driver;
mod limiter;

pub use bucket::TokenBucket;
pub use limiter::{InboundLimiter, RateLimit, RateLimitConfig};
