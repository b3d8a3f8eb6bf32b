//! A link's part reassembly fed arbitrary bytes as a peer's frames (see `targets.rs`).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::part(data));
