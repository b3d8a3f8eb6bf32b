//! Runs the fuzz targets' bodies (`fuzz/targets.rs`, the same functions cargo-fuzz drives on nightly)
//! over the checked-in seed corpus `fuzz/corpus/<target>/` and over random inputs, on stable Rust.

#[path = "../../fuzz/targets.rs"]
mod targets;

mod common;

use std::path::PathBuf;

use ciborium::Value;
use proptest::prelude::*;
use quorumnet_core::identity::{ChainId, Keypair, Signature};
use quorumnet_core::message::{
    AddressRecord, ConsensusMessage, Envelope, Frame, HearsBitmap, Heartbeat, Height, MessageId, Round,
};
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

/// Runs `run` over every file of `target`'s corpus, which must hold at least 5.
fn survives_its_corpus(target: &str, run: fn(&[u8])) {
    let files = corpus(target);
    assert!(files.len() >= 5, "the {target} seed corpus has {} files", files.len());
    for (name, data) in files {
        eprintln!("{target}: {name} ({} bytes)", data.len());
        run(&data);
    }
}

/// Random bytes shorter than `max_len`, or one of `target`'s seeds with a few bytes flipped: random
/// bytes mostly fail at the first byte, mutated seeds get into the decoder's depths.
fn random_input(target: &str, max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<Vec<u8>> = corpus(target).into_iter().map(|(_, data)| data).filter(|d| !d.is_empty()).collect();
    let mutated =
        (proptest::sample::select(seeds), common::flips()).prop_map(|(seed, flips)| common::flipped(seed, &flips));
    prop_oneof![proptest::collection::vec(any::<u8>(), 0..max_len), mutated]
}

/// Each target's runners, in a module named after it: `survives_its_corpus`, and `survives_random_input`
/// over random bytes shorter than the given length or mutated seeds.
macro_rules! runners {
    ($($target:ident: $max_len:expr;)*) => {$(
        mod $target {
            use proptest::prelude::*;

            #[test]
            fn survives_its_corpus() {
                super::survives_its_corpus(stringify!($target), super::targets::$target);
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(64))]

                #[test]
                fn survives_random_input(data in super::random_input(stringify!($target), $max_len)) {
                    super::targets::$target(&data);
                }
            }
        }
    )*};
}

runners! {
    handshake_responder: 300;
    frame_reader: 2000;
    envelope: 512;
    frame: 512;
    part: 2000;
    address_record: 512;
    heartbeat: 512;
    evidence: 8000;
}

/// The envelope target's signature property is only worth something if the corpus holds envelopes
/// that do verify, and near misses that do not.
#[test]
fn exactly_the_valid_envelopes_of_the_corpus_verify() {
    for (name, data) in corpus("envelope") {
        let verifies = Envelope::decode(&data)
            .is_ok_and(|envelope| envelope.verify(targets::chain(), targets::signer().public_key()).is_ok());
        assert_eq!(verifies, name.starts_with("valid_"), "{name}");
    }
}

/// A Noise message behind its u16 prefix; also how the part target's input holds each frame.
fn framed(message: &[u8]) -> Vec<u8> {
    [&noise_len_prefix(message.len())[..], message].concat()
}

/// An honest initiator's message 1, and its message 3 from a handshake with another responder (so it
/// is well formed but cannot authenticate to the fuzzed one).
fn honest_messages() -> (Vec<u8>, Vec<u8>) {
    let key = std::sync::Arc::new(Keypair::from_seed(&[0x11; 32]));
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

type Seeds = Vec<(&'static str, Vec<u8>)>;

fn handshake_responder_seeds() -> Seeds {
    let (message_1, message_3) = honest_messages();
    let ephemeral = &message_1[2..];
    vec![
        ("valid_message_1", message_1.clone()),
        ("valid_message_1_and_message_3_of_another_handshake", [message_1.clone(), message_3.clone()].concat()),
        ("valid_message_1_and_garbage_message_3", [message_1.clone(), framed(&[0xaa; 100])].concat()),
        ("message_1_with_a_payload", framed(&[ephemeral, b"payload"].concat())),
        ("short_message_1", framed(&ephemeral[..20])),
        ("truncated_message_1", [&[0x00, 0x20][..], &ephemeral[..10]].concat()),
        ("oversize_prefix", [&[0xff, 0xff][..], &[0x5a; 16]].concat()),
        ("empty", Vec::new()),
    ]
}

fn frame_reader_seeds() -> Seeds {
    let ping = Frame::Ping { nonce: 7 }.encode();
    let pong = Frame::Pong { nonce: 7 }.encode();
    let part = Frame::Part { id: 1, index: 0, count: 2, data: vec![0xab; 3000] }.encode();
    vec![
        ("valid_frames_in_1_byte_pieces", [&[0][..], &frame_stream(&[&ping, &pong, &part])].concat()),
        ("valid_frames_in_256_byte_pieces", [&[255][..], &frame_stream(&[&part, &ping])].concat()),
        ("non_cbor_frame", [&[16][..], &frame_stream(&[b"not cbor at all"])].concat()),
        ("zero_length_frame", [&[3][..], &frame_stream(&[&ping])[..], &[0, 0, 0, 0]].concat()),
        ("oversize_length", [&[3][..], &((targets::FRAME_LIMIT + 1) as u32).to_be_bytes()[..], &[1; 64]].concat()),
        ("truncated_frame", [&[7][..], &frame_stream(&[&part])[..1000]].concat()),
        ("empty", Vec::new()),
    ]
}

/// [`targets::signed_by_signer`]'s `index`th message, signed by `key` for `chain` (signatures are
/// randomized, so every run of the corpus writer gives other bytes).
fn sign(key: &Keypair, index: usize, chain: ChainId) -> Envelope {
    let (seq, payload) = &targets::signed_by_signer()[index];
    Envelope::sign(key, chain, *seq, 3, payload.clone())
}

/// Envelopes that verify under the target's key are named `valid_*`
/// (`exactly_the_valid_envelopes_of_the_corpus_verify`).
fn envelope_seeds() -> Seeds {
    let signer = targets::signer();
    let heartbeat = sign(signer, 0, targets::chain());
    let encoded = heartbeat.encode();
    let by_another_key = sign(targets::responder_identity(), 0, targets::chain());
    let forged = Envelope { origin: heartbeat.origin, ..by_another_key.clone() };
    vec![
        ("valid_heartbeat", encoded.clone()),
        ("valid_opaque_payload", sign(signer, 1, targets::chain()).encode()),
        ("valid_heartbeat_with_another_ttl", heartbeat.clone().with_ttl(0).encode()),
        ("heartbeat_with_another_seq", Envelope { seq: heartbeat.seq + 1, ..heartbeat.clone() }.encode()),
        ("heartbeat_for_another_chain", sign(signer, 0, ChainId::from_network_name("other")).encode()),
        ("heartbeat_by_another_key", by_another_key.encode()),
        ("heartbeat_with_the_origin_of_the_key_and_the_signature_of_another", forged.encode()),
        ("ttl_above_255", common::with_field(&encoded, &["ttl"], Value::Integer(256.into()))),
        (
            "heartbeat_with_a_short_signature",
            Envelope { sig: Signature::from_bytes(vec![0xcc; 4]), ..heartbeat.clone() }.encode(),
        ),
        ("truncated", encoded[..100].to_vec()),
        ("trailing_byte", [&encoded[..], &[0]].concat()),
        ("empty", Vec::new()),
    ]
}

/// `n` distinct ids (up to 251, then repeating).
fn ids(n: usize) -> Vec<MessageId> {
    (0..n).map(|i| MessageId([(i % 251) as u8; 32])).collect()
}

fn frame_seeds() -> Seeds {
    let envelope = common::small_envelope();
    let part = Frame::Part { id: 7, index: 1, count: 3, data: vec![1, 2, 3] }.encode();
    let unknown = Value::Map(vec![(Value::Text("Gossip".into()), Value::Map(vec![]))]);
    let nonce = Value::Map(vec![(Value::Text("nonce".into()), Value::Integer(1.into()))]);
    vec![
        ("envelope", Frame::Envelope(envelope.clone()).encode()),
        ("reliable", Frame::Reliable(envelope).encode()),
        ("ack", Frame::Ack { id: MessageId([7; 32]) }.encode()),
        ("ping", Frame::Ping { nonce: 1 }.encode()),
        ("pong", Frame::Pong { nonce: u64::MAX }.encode()),
        ("part", part.clone()),
        ("have", Frame::Have { ids: ids(3) }.encode()),
        ("want", Frame::Want { ids: ids(1) }.encode()),
        ("prune", Frame::Prune { origin: common::validator(0x46) }.encode()),
        ("have_of_the_most_ids", Frame::Have { ids: ids(Frame::MAX_IDS) }.encode()),
        ("want_of_one_id_too_many", Frame::Want { ids: ids(Frame::MAX_IDS + 1) }.encode()),
        ("part_with_index_not_below_count", common::with_field(&part, &["Part", "index"], Value::Integer(3.into()))),
        ("unknown_variant", common::bytes_of(&unknown)),
        (
            "bare_variant_name_then_its_body",
            [common::bytes_of(&Value::Text("Ping".into())), common::bytes_of(&nonce)].concat(),
        ),
        ("empty", Vec::new()),
    ]
}

/// `frame` as the parts the sender writes for it: `part_size` bytes each but the last.
fn parts(id: u64, frame: &[u8]) -> Vec<Vec<u8>> {
    let chunks: Vec<&[u8]> = frame.chunks(targets::part_config().part_size).collect();
    let count = chunks.len() as u32;
    let part = |(index, data): (usize, &&[u8])| Frame::Part { id, index: index as u32, count, data: data.to_vec() };
    chunks.iter().enumerate().map(|seed| part(seed).encode()).collect()
}

/// A frame of an envelope with `payload_len` payload bytes.
fn envelope_frame(payload_len: usize) -> Vec<u8> {
    Frame::Envelope(Envelope { payload: vec![0x5a; payload_len].into(), ..common::small_envelope() }).encode()
}

/// The part target's input: each frame behind a u16 length.
fn part_stream(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.iter().flat_map(|frame| framed(frame)).collect()
}

fn part_seeds() -> Seeds {
    let limit = targets::PART_FRAME_LIMIT;
    // The envelope's fields take about 90 bytes besides the payload.
    let largest = envelope_frame(limit - 100);
    assert!(largest.len() <= limit && largest.len() > limit - 64, "{} bytes", largest.len());
    let (a, b) = (parts(0, &envelope_frame(200)), parts(1, &envelope_frame(300)));
    let interleaved: Vec<Vec<u8>> =
        a.iter().zip(&b).flat_map(|(a, b)| [a.clone(), b.clone()]).chain(b[a.len()..].to_vec()).collect();
    let ping = Frame::Ping { nonce: 1 }.encode();
    let with_ping = [&a[..2], std::slice::from_ref(&ping), &a[2..]].concat();
    let first_parts = |ids: u64| (0..ids).map(|id| parts(id, &largest).remove(0)).collect::<Vec<_>>();
    let budget = [&parts(0, &largest)[..15], &parts(1, &largest)[..2]].concat();
    let mismatch = vec![a[0].clone(), Frame::Part { id: 0, index: 1, count: 9, data: vec![1; 64] }.encode()];
    let nested = Frame::Part { id: 9, index: 0, count: 1, data: vec![1; 100] }.encode();
    vec![
        ("one_frame_in_parts", part_stream(&a)),
        ("two_frames_in_interleaved_parts", part_stream(&interleaved)),
        ("a_whole_frame_between_parts", part_stream(&with_ping)),
        ("a_frame_of_the_largest_size_in_parts", part_stream(&parts(0, &largest))),
        ("a_frame_in_one_part", part_stream(&parts(0, &ping))),
        ("whole_frames_only", part_stream(&[ping.clone(), Frame::Have { ids: ids(2) }.encode()])),
        ("part_out_of_sequence", part_stream(&[a[0].clone(), a[2].clone()])),
        ("part_count_mismatch", part_stream(&mismatch)),
        ("one_partial_frame_too_many", part_stream(&first_parts(4))),
        ("reassembly_budget_exceeded", part_stream(&budget)),
        ("parts_of_undecodable_bytes", part_stream(&parts(0, &[0xff; 200]))),
        ("parts_of_a_part", part_stream(&parts(0, &nested))),
        ("frame_over_the_limit", part_stream(&[vec![0; limit + 1]])),
        ("empty", Vec::new()),
    ]
}

/// A record with `count` addresses of `len` bytes each, built without [`AddressRecord::new`]'s checks
/// to reach past the bounds.
fn address_record(count: usize, len: usize) -> ConsensusMessage {
    let addresses = vec![common::address_of_len(len); count];
    ConsensusMessage::AddressRecord(AddressRecord { validator: common::validator(0x46), version: 1, addresses })
}

fn address_record_seeds() -> Seeds {
    let record = ConsensusMessage::AddressRecord(common::address_record()).encode();
    let addresses = |items| common::with_field(&record, &["AddressRecord", "addresses"], Value::Array(items));
    let (most, longest) = (AddressRecord::MAX_ADDRESSES, AddressRecord::MAX_ADDRESS_LEN);
    vec![
        ("two_addresses", record.clone()),
        ("no_addresses", address_record(0, 10).encode()),
        ("the_most_addresses", address_record(most, 20).encode()),
        ("one_address_too_many", address_record(most + 1, 20).encode()),
        ("an_address_of_the_longest_length", address_record(1, longest).encode()),
        ("an_address_one_byte_too_long", address_record(1, longest + 1).encode()),
        ("an_address_without_a_scheme", addresses(vec![Value::Text("192.0.2.7:7000".into())])),
        ("integers_for_addresses", addresses(vec![Value::Integer(1.into())])),
        ("a_heartbeat_instead", heartbeat(1).encode()),
        ("empty", Vec::new()),
    ]
}

/// A heartbeat hearing the first `hears` validators of a set of `hears` (its bitmap all ones).
fn heartbeat(hears: usize) -> ConsensusMessage {
    let mut bits = vec![0xff; hears / 8];
    if hears % 8 != 0 {
        bits.push((1 << (hears % 8)) - 1);
    }
    ConsensusMessage::Heartbeat(Heartbeat {
        validator: common::validator(0x44),
        height: Height(7),
        round: Round(8),
        time_micros: 1_000_000,
        hears: HearsBitmap::from_bytes(bits),
    })
}

fn heartbeat_seeds() -> Seeds {
    let encoded = heartbeat(1).encode();
    let largest = ConsensusMessage::Heartbeat(Heartbeat {
        validator: common::validator(0xff),
        height: Height(u64::MAX),
        round: Round(u32::MAX),
        time_micros: u64::MAX,
        hears: HearsBitmap::from_bytes(vec![0xff; 128]),
    });
    let mut with_unknown_key = common::value_of(&encoded);
    let body = with_unknown_key.as_map_mut().unwrap()[0].1.as_map_mut().unwrap();
    body.push((Value::Text("later".into()), Value::Integer(1.into())));
    // The list of ids heartbeats carried before the bitmap: an array where a bstr belongs.
    let id_list = Value::Array(vec![Value::Bytes(vec![0x55; 32])]);
    vec![
        ("hearing_one", encoded.clone()),
        ("hearing_nobody", heartbeat(0).encode()),
        ("hearing_a_thousand", heartbeat(1_000).encode()),
        ("the_largest_values", largest.encode()),
        ("an_unknown_key", common::bytes_of(&with_unknown_key)),
        ("a_list_of_ids_for_hears", common::with_field(&encoded, &["Heartbeat", "hears"], id_list)),
        ("no_time", common::without_field(&encoded, &["Heartbeat", "time_micros"])),
        ("empty", Vec::new()),
    ]
}

fn evidence_seeds() -> Seeds {
    let key = targets::signer();
    let prevote = |seq: u64, block: u8| {
        let vote = ConsensusMessage::PreVote(quorumnet_core::message::Vote {
            height: Height(3),
            round: Round(0),
            validator: key.validator_id(),
            block_hash: Some(quorumnet_core::message::BlockHash([block; 32])),
        });
        Envelope::sign_message(key, targets::chain(), seq, 3, &vote)
    };
    let report = |first: Envelope, second: Envelope| {
        ConsensusMessage::Evidence(quorumnet_core::message::EvidenceReport {
            reporter: common::validator(0x77),
            height: Height(3),
            evidence: quorumnet_core::message::EquivocationEvidence { first, second },
        })
        .encode()
    };
    let valid = report(prevote(1, 1), prevote(2, 2));
    let mut wrong_sig = prevote(2, 2);
    wrong_sig.sig = prevote(3, 3).sig;
    vec![
        ("valid_two_prevotes_for_one_round", valid.clone()),
        ("a_resend_not_a_conflict", report(prevote(1, 1), prevote(1, 1))),
        ("a_borrowed_signature", report(prevote(1, 1), wrong_sig)),
        ("the_layout_vector", ConsensusMessage::Evidence(common::evidence_report()).encode()),
        ("truncated", valid[..valid.len() / 2].to_vec()),
        ("no_evidence", common::without_field(&valid, &["Evidence", "evidence"])),
        ("empty", Vec::new()),
    ]
}

/// Replaces `target`'s seed files named in `seeds`.
fn write_seeds(target: &str, seeds: Seeds) {
    let dir = corpus_dir(target);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
#[ignore = "writes the seed corpus under fuzz/corpus/ (checked in; rerun only to change it)"]
fn write_seed_corpus() {
    write_seeds("handshake_responder", handshake_responder_seeds());
    write_seeds("frame_reader", frame_reader_seeds());
    write_seeds("envelope", envelope_seeds());
    write_seeds("frame", frame_seeds());
    write_seeds("part", part_seeds());
    write_seeds("address_record", address_record_seeds());
    write_seeds("heartbeat", heartbeat_seeds());
    write_seeds("evidence", evidence_seeds());
}

/// As for envelopes: the evidence corpus holds a report that proves an equivocation, and near misses
/// that do not, so the target's verification property is exercised both ways.
#[test]
fn exactly_the_valid_evidence_of_the_corpus_proves_an_equivocation() {
    for (name, data) in corpus("evidence") {
        let proves = match ConsensusMessage::decode(&data) {
            Ok(ConsensusMessage::Evidence(report)) => {
                report.evidence.verify(targets::chain(), targets::evidence_set()).is_ok()
            }
            _ => false,
        };
        assert_eq!(proves, name.starts_with("valid_"), "{name}");
    }
}
