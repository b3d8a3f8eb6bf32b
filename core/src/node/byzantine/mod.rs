//! Byzantine defence on the receive path, as pure state machines (DESIGN.md §5).
//!
//! - [`EquivocationEvidence`]: two envelopes signed by one validator that cannot both be honest —
//!   two different votes or proposals for one height, round and phase, or two different envelopes
//!   under one origin and sequence number. Anyone holding the validator set checks it with
//!   [`EquivocationEvidence::verify`]: the proof needs no trust in whoever reported it.
//! - [`EquivocationDetector`]: remembers, per origin, the first verified envelope for each slot and
//!   each sequence number (bounded by a height window and a per-origin cap) and produces evidence,
//!   once per slot, when a second one differs; it also answers whether an origin is a proven
//!   equivocator, so its later messages can be kept from the engine.
//!
//! Wired into the receive path (`node::receive`): evidence is emitted as
//! [`NodeEvent::Equivocation`](crate::node::NodeEvent::Equivocation) and a proven equivocator's later
//! envelopes are dropped before the engine. Not yet: gossiping the evidence, replay detection.

mod detector;
pub(crate) mod driver;
mod evidence;
mod replay;

pub use detector::{Conflict, DetectorConfig, EquivocationDetector};
pub use evidence::{Equivocation, EquivocationEvidence, EvidenceError};
pub use replay::ReplayWindow;
