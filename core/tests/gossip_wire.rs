//! The wire additions for gossip: `Have`/`Want` frames and the `AddressRecord` payload — exact bytes,
//! round trips, bounds as typed errors, and rejection of malformed input.

mod common;

use ciborium::Value;
use common::*;
use quorumnet_core::codec::{self, CodecError};
use quorumnet_core::identity::Keypair;
use quorumnet_core::message::{AddressRecord, ConsensusMessage, Envelope, Frame, MessageId};
use quorumnet_core::transport::PeerAddress;

fn ids(count: usize) -> Vec<MessageId> {
    (0..count).map(|i| MessageId(blake3::hash(&(i as u64).to_be_bytes()).into())).collect()
}

fn have_and_want(ids: Vec<MessageId>) -> [Frame; 2] {
    [Frame::Have { ids: ids.clone() }, Frame::Want { ids }]
}

fn record_message() -> ConsensusMessage {
    ConsensusMessage::AddressRecord(address_record())
}

fn address(text: &str) -> PeerAddress {
    text.parse().unwrap()
}

#[test]
fn have_encodes_ids_as_an_array_of_32_byte_strings() {
    let frame = Frame::Have { ids: vec![MessageId([0xab; 32]), MessageId([0xcd; 32])] };
    let expected = hex_concat(&[
        "a1 64 48617665",                     // {"Have":
        "a1 63 696473 82",                    // {"ids": [
        &format!("5820 {}", "ab".repeat(32)), // h'abab..',
        &format!("5820 {}", "cd".repeat(32)), // h'cdcd..']}}
    ]);
    assert_eq!(hex::encode(frame.encode()), expected);
}

#[test]
fn want_encodes_like_have_under_its_own_name() {
    let frame = Frame::Want { ids: vec![MessageId([0xab; 32])] };
    let expected = hex_concat(&["a1 64 57616e74", "a1 63 696473 81", &format!("5820 {}", "ab".repeat(32))]);
    assert_eq!(hex::encode(frame.encode()), expected);
}

#[test]
fn have_and_want_roundtrip_empty_one_and_the_maximum_of_ids() {
    for count in [0, 1, Frame::MAX_IDS] {
        for frame in have_and_want(ids(count)) {
            assert_eq!(Frame::decode(&frame.encode()).unwrap(), frame, "{count} ids");
        }
    }
}

#[test]
fn have_and_want_with_one_id_too_many_are_a_typed_error() {
    let [have, want] = have_and_want(ids(Frame::MAX_IDS + 1));
    assert_eq!(
        Frame::decode(&have.encode()),
        Err(CodecError::TooManyItems { what: "Have ids", count: Frame::MAX_IDS + 1, limit: Frame::MAX_IDS })
    );
    assert_eq!(
        Frame::decode(&want.encode()),
        Err(CodecError::TooManyItems { what: "Want ids", count: Frame::MAX_IDS + 1, limit: Frame::MAX_IDS })
    );
}

#[test]
fn too_many_ids_are_refused_even_when_the_excess_is_not_ids() {
    // Past the bound items are skipped unread: the count, not their shape, decides.
    let mut items: Vec<Value> = ids(Frame::MAX_IDS).iter().map(|id| Value::Bytes(id.0.to_vec())).collect();
    items.extend([Value::Integer(1.into()), Value::Text("x".into())]);
    let bad = with_field(&Frame::Have { ids: vec![] }.encode(), &["Have", "ids"], Value::Array(items));
    assert!(matches!(Frame::decode(&bad), Err(CodecError::TooManyItems { count: 1026, .. })));
}

#[test]
fn serde_decoding_rejects_too_many_ids_as_a_schema_error() {
    let [have, _] = have_and_want(ids(Frame::MAX_IDS + 1));
    assert!(matches!(codec::decode::<Frame>("frame", &have.encode()), Err(CodecError::Schema { .. })));
}

#[test]
fn ids_as_integer_arrays_or_of_the_wrong_length_are_rejected() {
    for frame in have_and_want(vec![MessageId([0xab; 32])]) {
        let variant = map_keys(&value_of(&frame.encode())).remove(0);
        let as_ints = with_field(&frame.encode(), &[&variant, "ids"], Value::Array(vec![int_array(32)]));
        assert_schema_error(Frame::decode(&as_ints), "byte string");
        let short = with_field(&frame.encode(), &[&variant, "ids"], Value::Array(vec![Value::Bytes(vec![0; 31])]));
        assert_schema_error(Frame::decode(&short), "32 bytes");
        // One byte string of 32 bytes where the array belongs is not an array of ids.
        let flat = with_field(&frame.encode(), &[&variant, "ids"], Value::Bytes(vec![0xab; 32]));
        assert!(matches!(Frame::decode(&flat), Err(CodecError::Schema { .. })), "{variant}");
        let missing = without_field(&frame.encode(), &[&variant, "ids"]);
        assert_schema_error(Frame::decode(&missing), "ids");
    }
}

#[test]
fn have_and_want_reject_empty_truncated_padded_and_invalid_input() {
    for frame in have_and_want(ids(3)) {
        assert_rejects_generic_malformations(&frame.encode(), Frame::decode);
    }
}

#[test]
fn long_id_lists_split_into_frames_of_at_most_max_ids() {
    let all = ids(2 * Frame::MAX_IDS + 5);
    let haves = Frame::haves(&all);
    let sizes: Vec<usize> = haves
        .iter()
        .map(|f| match f {
            Frame::Have { ids } => ids.len(),
            other => panic!("not a Have: {other:?}"),
        })
        .collect();
    assert_eq!(sizes, [Frame::MAX_IDS, Frame::MAX_IDS, 5]);
    let rejoined: Vec<MessageId> =
        Frame::wants(&all).into_iter().flat_map(|f| if let Frame::Want { ids } = f { ids } else { vec![] }).collect();
    assert_eq!(rejoined, all);
    assert!(Frame::haves(&[]).is_empty());
    // A full frame stays under one 64 KiB part.
    assert!(haves[0].encode().len() < 64 * 1024);
}

#[test]
fn address_record_encodes_validator_version_then_addresses_as_text() {
    let expected = hex_concat(&[
        "a1 6d 416464726573735265636f7264",                            // {"AddressRecord":
        &format!("a3 69 76616c696461746f72 5820 {}", "46".repeat(32)), // {"validator": h'46..',
        "67 76657273696f6e 1b000661229feaa000",                        // "version": 1795651200000000,
        "69 616464726573736573 82",                                    // "addresses": [
        "78 1a 7463702d6e6f6973653a2f2f3139322e302e322e373a37303030",  // "tcp-noise://192.0.2.7:7000",
        "74 77733a2f2f3139322e302e322e373a373030312f",                 // "ws://192.0.2.7:7001/"]}}
    ]);
    assert_eq!(hex::encode(record_message().encode()), expected);
}

#[test]
fn address_record_roundtrips_with_none_one_and_the_maximum_of_addresses() {
    for count in [0, 1, AddressRecord::MAX_ADDRESSES] {
        let addresses = (0..count).map(|i| address(&format!("mem://v{i}"))).collect();
        let message = ConsensusMessage::AddressRecord(AddressRecord::new(validator(1), 9, addresses).unwrap());
        assert_eq!(ConsensusMessage::decode(&message.encode()).unwrap(), message, "{count} addresses");
    }
}

#[test]
fn address_record_travels_signed_in_an_envelope() {
    let key = Keypair::from_seed(&[0x46; 32]);
    let record = AddressRecord::new(key.validator_id(), 5, vec![address("quic://192.0.2.7:7000")]).unwrap();
    let message = ConsensusMessage::AddressRecord(record);
    let envelope = Envelope::sign_message(&key, chain(), 1, 3, &message);
    let received = Envelope::decode(&envelope.encode()).unwrap();
    received.verify(chain(), key.public_key()).unwrap();
    let decoded = received.message().unwrap();
    assert_eq!(decoded, message);
    assert_eq!(decoded.validator(), received.origin);
}

/// The record's encoding with its `addresses` replaced.
fn record_with_addresses(addresses: Vec<Value>) -> Vec<u8> {
    with_field(&record_message().encode(), &["AddressRecord", "addresses"], Value::Array(addresses))
}

#[test]
fn address_record_with_too_many_addresses_is_a_typed_error() {
    let texts = (0..=AddressRecord::MAX_ADDRESSES).map(|i| Value::Text(format!("mem://v{i}"))).collect();
    let expected = CodecError::TooManyItems {
        what: "address record addresses",
        count: AddressRecord::MAX_ADDRESSES + 1,
        limit: AddressRecord::MAX_ADDRESSES,
    };
    let bytes = record_with_addresses(texts);
    assert_eq!(ConsensusMessage::decode(&bytes), Err(expected.clone()));
    // The same through an envelope, so the node sees the typed error too.
    let envelope = Envelope::sign(&Keypair::from_seed(&[1; 32]), chain(), 1, 3, bytes);
    assert_eq!(envelope.message(), Err(expected));
}

#[test]
fn serde_decoding_rejects_an_address_record_out_of_bounds_as_a_schema_error() {
    let texts = (0..=AddressRecord::MAX_ADDRESSES).map(|i| Value::Text(format!("mem://v{i}"))).collect();
    let bytes = record_with_addresses(texts);
    assert!(matches!(codec::decode::<ConsensusMessage>("message", &bytes), Err(CodecError::Schema { .. })));
    assert!(codec::decode::<ConsensusMessage>("message", &record_message().encode()).is_ok());
}

#[test]
fn address_longer_than_the_limit_is_a_typed_error() {
    let at_limit = format!("mem://{}", "a".repeat(AddressRecord::MAX_ADDRESS_LEN - 6));
    let too_long = format!("{at_limit}a");
    let ok = record_with_addresses(vec![Value::Text(at_limit)]);
    assert!(ConsensusMessage::decode(&ok).is_ok());
    let bad = record_with_addresses(vec![Value::Text("mem://ok".into()), Value::Text(too_long)]);
    assert!(matches!(
        ConsensusMessage::decode(&bad),
        Err(CodecError::InvalidAddress { index: 1, reason }) if reason.contains("257 bytes")
    ));
}

#[test]
fn malformed_address_is_a_typed_error() {
    for text in ["192.0.2.7:7000", "TCP://x", "mem://", "mem://a b"] {
        let bad = record_with_addresses(vec![Value::Text(text.into())]);
        assert!(matches!(ConsensusMessage::decode(&bad), Err(CodecError::InvalidAddress { index: 0, .. })), "{text:?}");
    }
}

#[test]
fn address_of_an_unknown_scheme_is_kept_for_later_transports() {
    // Relayed-address syntax is not fixed yet; it will be a new scheme in this same array.
    let bytes = record_with_addresses(vec![Value::Text("relay+ws://relay.example/v/46".into())]);
    let ConsensusMessage::AddressRecord(record) = ConsensusMessage::decode(&bytes).unwrap() else { unreachable!() };
    assert_eq!(record.addresses[0].scheme(), "relay+ws");
}

#[test]
fn address_as_byte_string_and_validator_as_integer_array_are_rejected() {
    let as_bytes = record_with_addresses(vec![Value::Bytes(b"mem://v1".to_vec())]);
    assert!(matches!(ConsensusMessage::decode(&as_bytes), Err(CodecError::Schema { .. })));
    let bad = with_field(&record_message().encode(), &["AddressRecord", "validator"], int_array(32));
    assert_schema_error(ConsensusMessage::decode(&bad), "byte string");
    let missing = without_field(&record_message().encode(), &["AddressRecord", "version"]);
    assert_schema_error(ConsensusMessage::decode(&missing), "version");
}

#[test]
fn address_record_rejects_empty_truncated_padded_and_invalid_input() {
    assert_rejects_generic_malformations(&record_message().encode(), ConsensusMessage::decode);
}

#[test]
fn building_a_record_checks_the_bounds_a_receiver_enforces() {
    let many = (0..=AddressRecord::MAX_ADDRESSES).map(|i| address(&format!("mem://v{i}"))).collect();
    assert!(matches!(AddressRecord::new(validator(1), 1, many), Err(CodecError::TooManyItems { count: 17, .. })));
    let long = address(&format!("mem://{}", "a".repeat(AddressRecord::MAX_ADDRESS_LEN)));
    assert!(matches!(
        AddressRecord::new(validator(1), 1, vec![long]),
        Err(CodecError::InvalidAddress { index: 0, .. })
    ));
}
