//! Arbitrary bytes as a signed envelope from the network, verified against a fixed key (see `targets.rs`).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::envelope(data));
