//! A listener's handshake fed arbitrary bytes as messages 1 and 3 (see `targets.rs`).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::handshake_responder(data));
