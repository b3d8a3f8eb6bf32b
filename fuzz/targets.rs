//! The bodies of the fuzz targets, shared by cargo-fuzz (`fuzz_targets/`, nightly) and the normal test
//! suite (`core/tests/fuzz_corpus.rs` runs them over `corpus/<target>/` on stable). Each must return
//! without panicking for every input; the assertions inside are the properties checked.
//! Depends on nothing but `quorumnet-core` and `bytes`.
//!
//! Targets, one per decoder a remote peer reaches: `handshake_responder`, `frame_reader` (the secure
//! channel and the stream below the frames), `envelope`, `frame`, `part`, `address_record`,
//! `heartbeat`, `evidence`.
#![allow(dead_code)] // each fuzz binary uses one target

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use quorumnet_core::codec::{CodecError, FrameDecoder};
use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::message::{
    AddressRecord, ConsensusMessage, Envelope, Frame, HearsBitmap, Heartbeat, Height, Round,
};
use quorumnet_core::node::link::testing::PartReassembler;
use quorumnet_core::node::link::PeerLinkConfig;
use quorumnet_core::secure::wire::NOISE_LEN_PREFIX_LEN;
use quorumnet_core::secure::{NoiseHandshake, NoiseKeys, Role};
use quorumnet_core::transport::Admission;
use quorumnet_core::validator::{ValidatorInfo, ValidatorSet};

/// The frame limit the frame reader target runs with: small, so oversize lengths are easy to reach.
pub const FRAME_LIMIT: usize = 64 * 1024;

/// The responder's fixed keys (those of the recorded transcript in docs/wire.md).
pub fn responder_keys() -> NoiseKeys {
    NoiseKeys { static_secret: [0x32; 32], fixed_ephemeral_secret: Some([0x42; 32]) }
}

/// ML-DSA key generation is slow next to one fuzz run: each fixed key is made once per process.
fn seeded_key(cell: &'static OnceLock<Arc<Keypair>>, seed: u8) -> &'static Arc<Keypair> {
    cell.get_or_init(|| Arc::new(Keypair::from_seed(&[seed; 32])))
}

/// The responder's identity and chain.
pub fn responder_identity() -> &'static Arc<Keypair> {
    static KEY: OnceLock<Arc<Keypair>> = OnceLock::new();
    seeded_key(&KEY, 0x22)
}

pub fn chain() -> ChainId {
    ChainId::from_network_name("fuzz")
}

/// Cuts the next u16-prefixed piece (a Noise message, or a frame for `part`) off `data` as the stream
/// reader would; a prefix that announces more than is left yields the truncated rest (a stream that
/// ends early).
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

/// `value` survives its own encoding: decoding what `encode` writes gives `value` back.
///
/// Only this direction holds for every input. The encoder writes one form (shortest integers, definite
/// lengths, keys in order), but receivers also accept other key orders, unknown keys and longer integer
/// forms (docs/wire.md, Conventions), so a decoded value need not re-encode to the bytes it came from.
fn assert_roundtrips<T: PartialEq + Debug>(
    value: &T,
    encode: impl Fn(&T) -> Vec<u8>,
    decode: impl Fn(&[u8]) -> Result<T, CodecError>,
) {
    match decode(&encode(value)) {
        Ok(decoded) => assert_eq!(&decoded, value, "decoding its encoding changed the value"),
        Err(error) => panic!("{value:?} does not decode from its own encoding: {error}"),
    }
}

/// The envelope target's fixed signing key: the origin whose envelopes it verifies.
pub fn signer() -> &'static Arc<Keypair> {
    static KEY: OnceLock<Arc<Keypair>> = OnceLock::new();
    seeded_key(&KEY, 0x23)
}

/// What [`signer`] signed for the envelope corpus, as `(seq, payload)`: a heartbeat, and bytes that are
/// no consensus message (an envelope carries any payload). The only envelopes that may verify.
pub fn signed_by_signer() -> &'static [(u64, Vec<u8>)] {
    static SIGNED: OnceLock<Vec<(u64, Vec<u8>)>> = OnceLock::new();
    SIGNED.get_or_init(|| {
        let heartbeat = ConsensusMessage::Heartbeat(Heartbeat {
            validator: signer().validator_id(),
            height: Height(7),
            round: Round(1),
            time_micros: 1_000_000,
            hears: HearsBitmap::default(),
        });
        vec![(1, heartbeat.encode()), (2, b"an opaque payload".to_vec())]
    })
}

/// `data` as an envelope from the network. Properties: nothing panics; a decoded envelope and its
/// decoded message roundtrip; it verifies under [`signer`]'s key on [`chain`] only if it is one the
/// signer signed (`ttl` is not signed, so any ttl).
pub fn envelope(data: &[u8]) {
    let Ok(envelope) = Envelope::decode(data) else { return };
    assert_roundtrips(&envelope, Envelope::encode, Envelope::decode);
    if let Ok(message) = envelope.message() {
        assert_roundtrips(&message, ConsensusMessage::encode, ConsensusMessage::decode);
    }
    if envelope.verify(chain(), signer().public_key()).is_ok() {
        let signed = (envelope.seq, envelope.payload.to_vec());
        assert!(signed_by_signer().contains(&signed), "a signature the signer never made verified: {envelope:?}");
    }
}

/// `data` as one frame's contents. Properties: nothing panics; a `Have` or `Want` holds at most
/// [`Frame::MAX_IDS`] ids; a decoded frame roundtrips.
pub fn frame(data: &[u8]) {
    let Ok(frame) = Frame::decode(data) else { return };
    if let Frame::Have { ids } | Frame::Want { ids } = &frame {
        assert!(ids.len() <= Frame::MAX_IDS, "{} ids decoded", ids.len());
    }
    assert_roundtrips(&frame, Frame::encode, Frame::decode);
}

/// The frame limit of the connection the part target's link runs over: small, so that the reassembly
/// bounds below are reached by inputs of a few KiB.
pub const PART_FRAME_LIMIT: usize = 1024;

/// The part target's link: 64-byte parts (16 per whole frame at most), 3 partial frames, and a budget
/// of one whole frame for all of them.
pub fn part_config() -> PeerLinkConfig {
    PeerLinkConfig {
        part_size: 64,
        max_partial_frames: 3,
        max_reassembly_bytes: PART_FRAME_LIMIT,
        ..PeerLinkConfig::test()
    }
}

/// A link's part reassembly fed `data` as a peer's frames, each behind a u16 length, until one breaks
/// the protocol. Properties: nothing panics; after every frame the bytes held are exactly the data of
/// the parts of unfinished frames, within the budget, and in at most the allowed number of partial
/// frames; a completed frame's parts add up to at most the frame limit, and it is never a `Part`.
pub fn part(data: &[u8]) {
    let config = part_config();
    let mut reassembler = PartReassembler::new(&config, PART_FRAME_LIMIT).expect("the part target's config is valid");
    // The data bytes of the parts accepted so far, per unfinished frame id.
    let mut in_flight: BTreeMap<u64, usize> = BTreeMap::new();
    let mut rest = data;
    while let Some((bytes, next)) = next_message(rest) {
        rest = next;
        if bytes.len() > PART_FRAME_LIMIT {
            return; // the connection refuses it before the link sees it
        }
        let part = match Frame::decode(bytes) {
            Ok(Frame::Part { id, data, .. }) => Some((id, data.len())),
            _ => None,
        };
        let Ok(whole) = reassembler.receive(&Bytes::copy_from_slice(bytes)) else { return };
        if let Some((id, len)) = part {
            let held = in_flight.remove(&id).unwrap_or(0) + len;
            if whole.is_some() {
                assert!(held <= PART_FRAME_LIMIT, "frame {id} reassembled from {held} bytes");
            } else {
                in_flight.insert(id, held);
            }
        }
        assert!(!matches!(whole, Some(Frame::Part { .. })), "a part was delivered as a whole frame");
        assert_eq!(reassembler.buffered_bytes(), in_flight.values().sum::<usize>(), "bytes held");
        assert_eq!(reassembler.partial_frames(), in_flight.len(), "partial frames");
        assert!(reassembler.buffered_bytes() <= config.max_reassembly_bytes);
        assert!(reassembler.partial_frames() <= config.max_partial_frames);
    }
}

/// `data` as an envelope payload, decoded as the node does ([`Envelope::message`]): what decodes
/// roundtrips.
fn consensus_message(data: &[u8]) -> Option<ConsensusMessage> {
    let message = ConsensusMessage::decode(data).ok()?;
    assert_roundtrips(&message, ConsensusMessage::encode, ConsensusMessage::decode);
    Some(message)
}

/// `data` as the payload of an `AddressRecord`. Properties: nothing panics; a decoded record roundtrips
/// and holds at most [`AddressRecord::MAX_ADDRESSES`] addresses of at most
/// [`AddressRecord::MAX_ADDRESS_LEN`] bytes each.
pub fn address_record(data: &[u8]) {
    let Some(ConsensusMessage::AddressRecord(record)) = consensus_message(data) else { return };
    assert!(record.addresses.len() <= AddressRecord::MAX_ADDRESSES, "{} addresses", record.addresses.len());
    for address in &record.addresses {
        assert!(
            address.as_str().len() <= AddressRecord::MAX_ADDRESS_LEN,
            "an address of {} bytes",
            address.as_str().len()
        );
    }
    assert_eq!(record.check(), Ok(()));
}

/// `data` as the payload of a `Heartbeat`. Properties: nothing panics; a decoded heartbeat (or whatever
/// message a mutated one became) roundtrips.
pub fn heartbeat(data: &[u8]) {
    let _ = consensus_message(data);
}

/// The validator set evidence is checked against: [`signer`] alone.
pub fn evidence_set() -> &'static ValidatorSet {
    static SET: OnceLock<ValidatorSet> = OnceLock::new();
    SET.get_or_init(|| ValidatorSet::new([ValidatorInfo::new(signer().public_key().clone(), 1)]).expect("a set of one"))
}

/// `data` as the payload of an `Evidence` report, checked as a receiver checks it. Properties:
/// nothing panics; a decoded report roundtrips; evidence proves an equivocation only against
/// [`signer`], the one member of [`evidence_set`] (whatever the bytes claim).
pub fn evidence(data: &[u8]) {
    let Some(ConsensusMessage::Evidence(report)) = consensus_message(data) else { return };
    if let Ok(proof) = report.evidence.verify(chain(), evidence_set()) {
        assert_eq!(proof.origin(), signer().validator_id());
    }
}
