//! Runs the fuzz targets' bodies (`fuzz/targets.rs`, the same functions cargo-fuzz drives on nightly)
//! over the checked-in seed corpus `fuzz/corpus/<target>/` and over random inputs, on stable Rust.

#[path = "../../fuzz/targets.rs"]
mod targets;

mod common;

use std::path::PathBuf;

use proptest::prelude::*;
use quorumnet_core::message::Frame;
use quorumnet_core::secure::wire::noise_len_prefix;
use quorumnet_core::secure::{NoiseHandshake, NoiseKeys, Role};
use quorumnet_core::transport::Admission;

fn corpus_dir(target: &str) -> PathBuf {
    common::python::workspace_root().join("fuzz/corpus").join(target)
}

/// Every file of a target's corpus, by name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a corpus entry").path();
            (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn handshake_responder_survives_its_corpus() {
    let files = corpus("handshake_responder");
    assert!(files.len() >= 5, "the seed corpus has {} files", files.len());
    for (name, data) in files {
        eprintln!("handshake_responder: {name} ({} bytes)", data.len());
        targets::handshake_responder(&data);
    }
}

#[test]
fn frame_reader_survives_its_corpus() {
    let files = corpus("frame_reader");
    assert!(files.len() >= 5, "the seed corpus has {} files", files.len());
    for (name, data) in files {
        eprintln!("frame_reader: {name} ({} bytes)", data.len());
        targets::frame_reader(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn handshake_responder_survives_random_input(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        targets::handshake_responder(&data);
    }

    #[test]
    fn frame_reader_survives_random_input(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        targets::frame_reader(&data);
    }
}

/// A Noise message behind its u16 prefix.
fn framed(message: &[u8]) -> Vec<u8> {
    [&noise_len_prefix(message.len())[..], message].concat()
}

/// An honest initiator's message 1, and its message 3 from a handshake with another responder (so it
/// is well formed but cannot authenticate to the fuzzed one).
fn honest_messages() -> (Vec<u8>, Vec<u8>) {
    let key = std::sync::Arc::new(quorumnet_core::identity::Keypair::from_seed(&[0x11; 32]));
    let keys = NoiseKeys { static_secret: [0x31; 32], fixed_ephemeral_secret: Some([0x41; 32]) };
    let mut initiator =
        NoiseHandshake::with_keys(Role::Initiator, &key, targets::chain(), Admission::open(), None, &keys);
    let other = NoiseKeys { static_secret: [0x33; 32], fixed_ephemeral_secret: None };
    let mut responder = NoiseHandshake::with_keys(
        Role::Responder,
        targets::responder_identity(),
        targets::chain(),
        Admission::open(),
        None,
        &other,
    );
    let message_1 = initiator.write_message().unwrap();
    responder.read_message(&message_1).unwrap();
    initiator.read_message(&responder.write_message().unwrap()).unwrap();
    (framed(&message_1), framed(&initiator.write_message().unwrap()))
}

fn frame_stream(frames: &[&[u8]]) -> Vec<u8> {
    frames.iter().flat_map(|f| [&(f.len() as u32).to_be_bytes()[..], f].concat()).collect()
}

#[test]
#[ignore = "writes the seed corpus under fuzz/corpus/ (checked in; rerun only to change it)"]
fn write_seed_corpus() {
    let (message_1, message_3) = honest_messages();
    let ephemeral = &message_1[2..];
    let handshake: Vec<(&str, Vec<u8>)> = vec![
        ("valid_message_1", message_1.clone()),
        ("valid_message_1_and_message_3_of_another_handshake", [message_1.clone(), message_3.clone()].concat()),
        ("valid_message_1_and_garbage_message_3", [message_1.clone(), framed(&[0xaa; 100])].concat()),
        ("message_1_with_a_payload", framed(&[ephemeral, b"payload"].concat())),
        ("short_message_1", framed(&ephemeral[..20])),
        ("truncated_message_1", [&[0x00, 0x20][..], &ephemeral[..10]].concat()),
        ("oversize_prefix", [&[0xff, 0xff][..], &[0x5a; 16]].concat()),
        ("empty", Vec::new()),
    ];
    let ping = Frame::Ping { nonce: 7 }.encode();
    let pong = Frame::Pong { nonce: 7 }.encode();
    let part = Frame::Part { id: 1, index: 0, count: 2, data: vec![0xab; 3000] }.encode();
    let frames: Vec<(&str, Vec<u8>)> = vec![
        ("valid_frames_in_1_byte_pieces", [&[0][..], &frame_stream(&[&ping, &pong, &part])].concat()),
        ("valid_frames_in_256_byte_pieces", [&[255][..], &frame_stream(&[&part, &ping])].concat()),
        ("non_cbor_frame", [&[16][..], &frame_stream(&[b"not cbor at all"])].concat()),
        ("zero_length_frame", [&[3][..], &frame_stream(&[&ping])[..], &[0, 0, 0, 0]].concat()),
        ("oversize_length", [&[3][..], &((targets::FRAME_LIMIT + 1) as u32).to_be_bytes()[..], &[1; 64]].concat()),
        ("truncated_frame", [&[7][..], &frame_stream(&[&part])[..1000]].concat()),
        ("empty", Vec::new()),
    ];
    for (target, seeds) in [("handshake_responder", handshake), ("frame_reader", frames)] {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}
