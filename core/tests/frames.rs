//! `Frame`: exact CBOR bytes per variant, length prefixing, and rejection of malformed input.

mod common;

use ciborium::Value;
use common::*;
use quorumnet_core::codec::framing::FrameDecoder;
use quorumnet_core::codec::{CodecError, DEFAULT_MAX_FRAME_LEN};
use quorumnet_core::identity::Keypair;
use quorumnet_core::message::{Envelope, Frame, MessageId};

fn part() -> Frame {
    Frame::Part { id: 7, index: 1, count: 3, data: vec![1, 2, 3] }
}

/// One frame of every variant.
fn one_of_each_variant() -> Vec<Frame> {
    vec![
        Frame::Envelope(small_envelope()),
        Frame::Reliable(small_envelope()),
        Frame::Ack { id: MessageId([0xab; 32]) },
        Frame::Ping { nonce: 1 },
        Frame::Pong { nonce: 500 },
        part(),
    ]
}

fn hex_of(frame: &Frame) -> String {
    hex::encode(frame.encode())
}

#[test]
fn ping_encodes_as_rfc_8949_by_hand() {
    // {"Ping": {"nonce": 1}}
    assert_eq!(hex_of(&Frame::Ping { nonce: 1 }), "a16450696e67a1656e6f6e636501");
}

#[test]
fn pong_nonce_uses_shortest_integer_form() {
    // {"Pong": {"nonce": 500}}: 500 needs the two-byte form 0x19 01f4.
    assert_eq!(hex_of(&Frame::Pong { nonce: 500 }), "a164506f6e67a1656e6f6e63651901f4");
}

#[test]
fn ack_id_is_a_32_byte_string() {
    // {"Ack": {"id": h'abab..'}}
    let expected = hex_concat(&[&format!("a1 63 41636b a1 62 6964 5820 {}", "ab".repeat(32))]);
    assert_eq!(hex_of(&Frame::Ack { id: MessageId([0xab; 32]) }), expected);
}

#[test]
fn part_encodes_id_index_count_then_data_as_byte_string() {
    let expected = hex_concat(&[
        "a1 64 50617274",        // {"Part":
        "a4 62 6964 07",         // {"id": 7,
        "65 696e646578 01",      // "index": 1,
        "65 636f756e74 03",      // "count": 3,
        "64 64617461 43 010203", // "data": h'010203'}}
    ]);
    assert_eq!(hex_of(&part()), expected);
}

#[test]
fn envelope_and_reliable_frames_wrap_the_envelope_map_unchanged() {
    let envelope_hex = hex::encode(small_envelope().encode());
    assert_eq!(hex_of(&Frame::Envelope(small_envelope())), hex_concat(&["a1 68 456e76656c6f7065", &envelope_hex]));
    assert_eq!(hex_of(&Frame::Reliable(small_envelope())), hex_concat(&["a1 68 52656c6961626c65", &envelope_hex]));
}

#[test]
fn every_variant_roundtrips() {
    for frame in one_of_each_variant() {
        assert_eq!(Frame::decode(&frame.encode()).unwrap(), frame);
    }
}

#[test]
fn signed_envelope_frame_roundtrips_and_still_verifies() {
    let key = Keypair::from_seed(&[8; 32]);
    let frame = Frame::Reliable(Envelope::sign_message(&key, chain(), 1, 2, &nil_prevote()));
    let Frame::Reliable(received) = Frame::decode(&frame.encode()).unwrap() else { panic!("variant changed") };
    received.verify(chain(), key.public_key()).unwrap();
}

#[test]
fn length_prefixed_frame_is_u32_big_endian_length_then_cbor() {
    let frame = part();
    let wire = frame.to_length_prefixed(DEFAULT_MAX_FRAME_LEN).unwrap();
    let cbor = frame.encode();
    assert_eq!(wire[..4], (cbor.len() as u32).to_be_bytes());
    assert_eq!(wire[4..], cbor[..]);
    let mut buf = bytes::BytesMut::from(&wire[..]);
    let body = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN).decode(&mut buf).unwrap().unwrap();
    assert_eq!(Frame::decode(&body).unwrap(), frame);
}

#[test]
fn length_prefixing_refuses_a_frame_over_the_limit() {
    let frame = Frame::Part { id: 0, index: 0, count: 1, data: vec![0; 100] };
    let len = frame.encode().len();
    assert!(frame.to_length_prefixed(len).is_ok());
    assert_eq!(frame.to_length_prefixed(len - 1), Err(CodecError::FrameTooLarge { len: len as u64, limit: len - 1 }));
}

#[test]
fn ttl_256_inside_a_frame_is_a_typed_error() {
    for frame in [Frame::Envelope(small_envelope()), Frame::Reliable(small_envelope())] {
        let variant = map_keys(&value_of(&frame.encode())).remove(0);
        let bad = with_field(&frame.encode(), &[&variant, "ttl"], Value::Integer(256.into()));
        assert_eq!(Frame::decode(&bad), Err(CodecError::TtlOutOfRange(256)), "{variant}");
    }
}

#[test]
fn part_with_zero_count_is_rejected() {
    let bad = with_field(&part().encode(), &["Part", "count"], Value::Integer(0.into()));
    assert_eq!(Frame::decode(&bad), Err(CodecError::InvalidPart { index: 1, count: 0 }));
}

#[test]
fn part_with_index_not_below_count_is_rejected() {
    let bad = with_field(&part().encode(), &["Part", "index"], Value::Integer(3.into()));
    assert_eq!(Frame::decode(&bad), Err(CodecError::InvalidPart { index: 3, count: 3 }));
}

#[test]
fn last_part_is_accepted() {
    let last = with_field(&part().encode(), &["Part", "index"], Value::Integer(2.into()));
    assert!(matches!(Frame::decode(&last), Ok(Frame::Part { index: 2, count: 3, .. })));
}

#[test]
fn byte_fields_as_integer_arrays_are_rejected() {
    let envelope_frame = Frame::Envelope(small_envelope()).encode();
    let cases: [(Vec<u8>, &[&str], usize); 5] = [
        (Frame::Ack { id: MessageId([0xab; 32]) }.encode(), &["Ack", "id"], 32),
        (part().encode(), &["Part", "data"], 3),
        (envelope_frame.clone(), &["Envelope", "origin"], 32),
        (envelope_frame.clone(), &["Envelope", "payload"], 2),
        (envelope_frame, &["Envelope", "sig"], 4),
    ];
    for (bytes, path, len) in cases {
        assert_schema_error(Frame::decode(&with_field(&bytes, path, int_array(len))), "byte string");
    }
}

#[test]
fn ack_id_of_31_bytes_is_rejected() {
    let bad = with_field(&Frame::Ack { id: MessageId([0xab; 32]) }.encode(), &["Ack", "id"], Value::Bytes(vec![0; 31]));
    assert_schema_error(Frame::decode(&bad), "32 bytes");
}

#[test]
fn unknown_variant_is_rejected_by_name() {
    let mut value = value_of(&Frame::Ping { nonce: 1 }.encode());
    value.as_map_mut().unwrap()[0].0 = Value::Text("Relay".into());
    assert_schema_error(Frame::decode(&bytes_of(&value)), "Relay");
}

#[test]
fn missing_nonce_is_rejected_by_name() {
    let bad = without_field(&Frame::Ping { nonce: 1 }.encode(), &["Ping", "nonce"]);
    assert_schema_error(Frame::decode(&bad), "nonce");
}

#[test]
fn bare_variant_name_is_rejected() {
    assert!(matches!(Frame::decode(&bytes_of(&Value::Text("Ping".into()))), Err(CodecError::Schema { .. })));
}

#[test]
fn variant_name_and_fields_as_two_cbor_items_are_rejected() {
    // "Ping" {"nonce": 1}: what a one-entry map becomes without its header. ciborium alone accepts it.
    let two_items = hex::decode("6450696e67a1656e6f6e636501").unwrap();
    assert!(matches!(Frame::decode(&two_items), Err(CodecError::Schema { offset: Some(0), .. })));
}

#[test]
fn tagged_frame_is_rejected() {
    // Tag 6 (unassigned) wrapped around a valid Ping: WIRE.md frames are untagged maps.
    let tagged = [&[0xc6][..], &Frame::Ping { nonce: 1 }.encode()].concat();
    assert!(matches!(Frame::decode(&tagged), Err(CodecError::Schema { offset: Some(0), .. })));
}

#[test]
fn empty_truncated_padded_and_invalid_input_are_rejected() {
    for frame in one_of_each_variant() {
        assert_rejects_generic_malformations(&frame.encode(), Frame::decode);
    }
}
