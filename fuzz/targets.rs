//! The bodies of the fuzz targets, shared by cargo-fuzz (`fuzz_targets/`, nightly) and the normal test
//! suite (`core/tests/fuzz_corpus.rs` runs them over `corpus/<target>/` on stable). Each must return
//! without panicking for every input; the assertions inside are the properties checked.
//! Depends on nothing but `quorumnet-core` and `bytes`.
#![allow(dead_code)] // each fuzz binary uses one target

use std::sync::{Arc, OnceLock};

use bytes::BytesMut;
use quorumnet_core::codec::FrameDecoder;
use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::message::Frame;
use quorumnet_core::secure::wire::NOISE_LEN_PREFIX_LEN;
use quorumnet_core::secure::{NoiseHandshake, NoiseKeys, Role};
use quorumnet_core::transport::Admission;

/// The frame limit the frame reader target runs with: small, so oversize lengths are easy to reach.
pub const FRAME_LIMIT: usize = 64 * 1024;

/// The responder's fixed keys (those of the recorded transcript in docs/wire.md).
pub fn responder_keys() -> NoiseKeys {
    NoiseKeys { static_secret: [0x32; 32], fixed_ephemeral_secret: Some([0x42; 32]) }
}

/// The responder's identity and chain.
pub fn responder_identity() -> &'static Arc<Keypair> {
    static KEY: OnceLock<Arc<Keypair>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(Keypair::from_seed(&[0x22; 32])))
}

pub fn chain() -> ChainId {
    ChainId::from_network_name("fuzz")
}

/// Cuts the next u16-prefixed Noise message off `data` as the stream reader would; a prefix that
/// announces more than is left yields the truncated rest (a stream that ends early).
fn next_message(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let prefix = data.get(..NOISE_LEN_PREFIX_LEN)?;
    let body = &data[NOISE_LEN_PREFIX_LEN..];
    let len = (u16::from_be_bytes([prefix[0], prefix[1]]) as usize).min(body.len());
    Some(body.split_at(len))
}

/// A listener's handshake fed `data` as the wire bytes of message 1 and then message 3 (each behind
/// its u16 length). Properties: nothing panics; a refused message leaves the handshake unfinishable;
/// message 2 always follows an accepted message 1.
pub fn handshake_responder(data: &[u8]) {
    let mut responder = NoiseHandshake::with_keys(
        Role::Responder,
        responder_identity(),
        chain(),
        Admission::open(),
        None,
        &responder_keys(),
    );
    let Some((message_1, rest)) = next_message(data) else { return };
    if responder.read_message(message_1).is_err() {
        assert!(!responder.is_finished());
        return;
    }
    let message_2 = responder.write_message().expect("message 2 follows an accepted message 1");
    assert!(message_2.len() <= u16::MAX as usize);
    let Some((message_3, _)) = next_message(rest) else { return };
    if responder.read_message(message_3).is_err() {
        assert!(responder.finish().is_err(), "a refused message 3 must not finish the handshake");
    }
}

/// The frame reader fed `data` as a decrypted stream: the first byte picks the size of the pieces the
/// stream arrives in (1 to 256 bytes), the rest is the stream. Properties: nothing panics; every frame
/// is non-empty, within the limit and exactly the bytes after its prefix; no byte is lost or invented;
/// the buffer never holds more than one maximal frame; each frame goes through the CBOR `Frame` decoder.
pub fn frame_reader(data: &[u8]) {
    let Some((&first, stream)) = data.split_first() else { return };
    let piece_len = first as usize + 1;
    let mut decoder = FrameDecoder::new(FRAME_LIMIT);
    let mut buf = BytesMut::new();
    let mut consumed = 0;
    for piece in stream.chunks(piece_len) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(!frame.is_empty() && frame.len() <= FRAME_LIMIT, "frame of {} bytes", frame.len());
                    let start = consumed + 4;
                    assert_eq!(&stream[start..start + frame.len()], &frame[..], "frame bytes");
                    consumed = start + frame.len();
                    let _ = Frame::decode(&frame);
                }
                Ok(None) => break,
                // The connection would close here (protocol violation).
                Err(_) => return,
            }
        }
        assert!(buf.len() < 4 + FRAME_LIMIT + piece_len, "the reader buffered {} bytes", buf.len());
    }
    assert_eq!(consumed + buf.len(), stream.len(), "bytes lost or invented");
}
