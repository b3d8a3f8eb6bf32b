//! The test vectors in docs/wire.md are what the code encodes, byte for byte.
//!
//! Unsigned values are re-encoded and compared. ML-DSA signing is randomized, so a signed envelope
//! cannot be regenerated: its vector is decoded, each field compared with the value the doc describes,
//! the signature verified with the seeded key, and the envelope re-encoded to the same bytes.
//! `cargo test -p quorumnet-core --test wire_vectors -- --ignored --nocapture` prints fresh blocks.

mod common;

use std::collections::BTreeMap;

use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::message::{Envelope, Frame, MessageId};
use quorumnet_core::relay::wire::{RelayFrame, RelayReason};

/// The seed of the key that signs the doc's envelopes (`[0x42; 32]`, ML-DSA-65).
const SIGNER_SEED: [u8; 32] = [0x42; 32];
/// Envelope sequence numbers start from boot time in µs (WIRE.md §4): 2026-11-26T00:00:00Z.
const SEQ: u64 = 1_795_651_200_000_000;
const TTL: u8 = 6;

struct Vector {
    name: &'static str,
    type_name: &'static str,
    bytes: Vec<u8>,
}

fn vector(name: &'static str, type_name: &'static str, bytes: Vec<u8>) -> Vector {
    Vector { name, type_name, bytes }
}

fn chain() -> ChainId {
    ChainId::from_network_name("devnet")
}

fn signed_envelope() -> Envelope {
    Envelope::sign_message(&Keypair::from_seed(&SIGNER_SEED), chain(), SEQ, TTL, &common::nil_prevote())
}

/// Every vector the doc must hold, built from the code. `envelope` is the doc's signed envelope.
fn expected(envelope: &Envelope) -> Vec<Vector> {
    let names = [
        "consensus_proposal",
        "consensus_prevote_nil",
        "consensus_precommit",
        "consensus_commit",
        "consensus_heartbeat",
        "consensus_address_record",
        "consensus_evidence",
        "consensus_proposal_header",
        "consensus_proposal_part",
    ];
    let mut vectors: Vec<Vector> = names
        .into_iter()
        .zip(common::one_of_each_kind())
        .map(|(name, message)| vector(name, "ConsensusMessage", message.encode()))
        .collect();
    vectors.extend([
        vector("envelope_prevote", "Envelope", envelope.encode()),
        vector("frame_envelope", "Frame", Frame::Envelope(envelope.clone()).encode()),
        vector("frame_reliable", "Frame", Frame::Reliable(envelope.clone()).encode()),
        vector("frame_ack", "Frame", Frame::Ack { id: envelope.id() }.encode()),
        vector("frame_ping", "Frame", Frame::Ping { nonce: 1 }.encode()),
        vector("frame_pong", "Frame", Frame::Pong { nonce: 500 }.encode()),
        vector("frame_part", "Frame", Frame::Part { id: 7, index: 1, count: 3, data: vec![1, 2, 3] }.encode()),
        vector("frame_have", "Frame", Frame::Have { ids: vec![envelope.id(), MessageId([0x66; 32])] }.encode()),
        vector("frame_want", "Frame", Frame::Want { ids: vec![envelope.id()] }.encode()),
        vector("frame_prune", "Frame", Frame::Prune { origin: envelope.origin }.encode()),
    ]);
    let relay = |name, frame: RelayFrame| vector(name, "RelayFrame", frame.encode());
    let target = envelope.origin;
    vectors.extend([
        relay("relay_reserve", RelayFrame::Reserve {}),
        relay("relay_reserved", RelayFrame::Reserved { expires_in_ms: 3_600_000 }),
        relay("relay_refused", RelayFrame::Refused { reason: RelayReason::ReservationCapReached }),
        relay("relay_connect", RelayFrame::Connect { circuit: 2, target }),
        relay("relay_connected", RelayFrame::Connected { circuit: 2 }),
        relay("relay_incoming", RelayFrame::Incoming { circuit: 1, from: target }),
        relay("relay_data", RelayFrame::Data { circuit: 1, bytes: vec![0x00, 0x03, 0xaa, 0xbb, 0xcc] }),
        relay("relay_credit", RelayFrame::Credit { circuit: 1, bytes: 65_536 }),
        relay("relay_close", RelayFrame::Close { circuit: 2 }),
        relay("relay_reset", RelayFrame::Reset { circuit: 2, reason: RelayReason::NoReservation }),
    ]);
    vectors
}

/// `name → (type, bytes)` for every `<!-- vector: NAME type: TYPE -->` block in docs/wire.md.
fn doc_vectors() -> BTreeMap<String, (String, Vec<u8>)> {
    let doc = std::fs::read_to_string(common::python::workspace_root().join("docs/wire.md")).unwrap();
    let mut vectors = BTreeMap::new();
    for block in doc.split("<!-- vector: ").skip(1) {
        let (header, rest) = block.split_once(" -->").expect("vector header ends with -->");
        let (name, type_name) = header.split_once(" type: ").expect("vector header names a type");
        let hex_text = rest.split("```hex\n").nth(1).and_then(|b| b.split("```").next()).expect("a hex block");
        let bytes = hex::decode(hex_text.split_whitespace().collect::<String>()).expect("vector is hex");
        assert!(vectors.insert(name.to_owned(), (type_name.to_owned(), bytes)).is_none(), "{name} twice");
    }
    vectors
}

fn doc_envelope(doc: &BTreeMap<String, (String, Vec<u8>)>) -> Envelope {
    Envelope::decode(&doc.get("envelope_prevote").expect("docs/wire.md has envelope_prevote").1).unwrap()
}

#[test]
fn doc_envelope_is_the_described_prevote_signed_by_the_seeded_key() {
    let envelope = doc_envelope(&doc_vectors());
    let fresh = signed_envelope();
    let signer = Keypair::from_seed(&SIGNER_SEED);
    assert_eq!((envelope.origin, envelope.seq, envelope.ttl), (signer.validator_id(), SEQ, TTL));
    assert_eq!(envelope.payload, fresh.payload);
    envelope.verify(chain(), signer.public_key()).expect("the recorded signature verifies");
    assert_eq!(envelope.id(), MessageId::compute(&envelope.origin, SEQ, &envelope.payload));
}

#[test]
fn every_doc_vector_is_what_the_code_encodes_and_nothing_is_missing() {
    let doc = doc_vectors();
    let expected = expected(&doc_envelope(&doc));
    for v in &expected {
        let (type_name, bytes) = doc.get(v.name).unwrap_or_else(|| panic!("docs/wire.md lacks vector {}", v.name));
        assert_eq!(type_name, v.type_name, "{}: type", v.name);
        assert_eq!(hex::encode(bytes), hex::encode(&v.bytes), "{}: bytes", v.name);
        let decoded = match v.type_name {
            "Frame" => Frame::decode(bytes).map(|f| f.encode()),
            "Envelope" => Envelope::decode(bytes).map(|e| e.encode()),
            "RelayFrame" => RelayFrame::decode(bytes).map(|f| f.encode()),
            _ => quorumnet_core::message::ConsensusMessage::decode(bytes).map(|m| m.encode()),
        };
        assert_eq!(decoded.as_deref(), Ok(&bytes[..]), "{}: decode then encode", v.name);
    }
    assert_eq!(doc.len(), expected.len(), "docs/wire.md holds vectors no test builds");
}

#[test]
#[ignore = "prints fresh vector blocks for docs/wire.md"]
fn print_vectors() {
    for v in expected(&signed_envelope()) {
        let hex_text = hex::encode(&v.bytes);
        let lines: Vec<&str> = hex_text.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        println!("<!-- vector: {} type: {} -->\n```hex\n{}\n```\n", v.name, v.type_name, lines.join("\n"));
    }
}
