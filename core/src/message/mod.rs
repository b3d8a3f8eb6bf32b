//! The consensus message model, signed envelopes and wire frames (WIRE.md §4, §5).
