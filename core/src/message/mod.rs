//! The consensus message model, signed envelopes and wire frames (WIRE.md §4, §5).

mod types;

pub use types::{BlockHash, Height, Round};
