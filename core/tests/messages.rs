//! `ConsensusMessage`: exact CBOR bytes, accessors, and rejection of malformed input.

mod common;

use ciborium::Value;
use common::*;
use quorumnet_core::codec::CodecError;
use quorumnet_core::message::{ConsensusMessage, Height, MessageKind, Round};

fn hex_of(message: &ConsensusMessage) -> String {
    hex::encode(message.encode())
}

#[test]
fn nil_vote_encodes_block_hash_as_cbor_null() {
    let expected = hex_concat(&[
        "a1 67 507265566f7465",                                     // {"PreVote":
        "a4 66 686569676874 0a",                                    // {"height": 10,
        "65 726f756e64 02",                                         // "round": 2,
        &format!("69 76616c696461746f72 5820 {}", "11".repeat(32)), // "validator": h'11..',
        "6a 626c6f636b5f68617368 f6",                               // "block_hash": null}}
    ]);
    assert_eq!(hex_of(&nil_prevote()), expected);
}

#[test]
fn proposal_encodes_fields_in_declared_order_with_block_as_byte_string() {
    let expected = hex_concat(&[
        "a1 68 50726f706f73616c",                                     // {"Proposal":
        "a6 66 686569676874 01",                                      // {"height": 1,
        "65 726f756e64 00",                                           // "round": 0,
        &format!("68 70726f706f736572 5820 {}", "22".repeat(32)),     // "proposer": h'22..',
        &format!("6a 626c6f636b5f68617368 5820 {}", "33".repeat(32)), // "block_hash": h'33..',
        "69 706f6c5f726f756e64 f6",                                   // "pol_round": null,
        "65 626c6f636b 42 dead",                                      // "block": h'dead'}}
    ]);
    assert_eq!(hex_of(&one_of_each_kind()[0]), expected);
}

#[test]
fn heartbeat_encodes_hears_as_a_byte_string_bitmap() {
    let expected = hex_concat(&[
        "a1 69 486561727462656174",                                    // {"Heartbeat":
        &format!("a5 69 76616c696461746f72 5820 {}", "44".repeat(32)), // {"validator": h'44..',
        "66 686569676874 07",                                          // "height": 7,
        "65 726f756e64 08",                                            // "round": 8,
        "6b 74696d655f6d6963726f73 1a000f4240",                        // "time_micros": 1000000,
        "65 6865617273 41 05",                                         // "hears": h'05'}}
    ]);
    assert_eq!(hex_of(&one_of_each_kind()[4]), expected);
}

#[test]
fn every_kind_roundtrips_and_reports_its_author_height_round_and_kind() {
    let expected = [
        (0x22, Some((1, 0)), MessageKind::Proposal),
        (0x11, Some((10, 2)), MessageKind::PreVote),
        (0x12, Some((3, 4)), MessageKind::PreCommit),
        (0x13, Some((5, 6)), MessageKind::Commit),
        (0x44, Some((7, 8)), MessageKind::Heartbeat),
        // An address record is about no height or round: it is judged against the latest set.
        (0x46, None, MessageKind::AddressRecord),
        // So is an evidence report (the evidence inside is checked against the set at its height).
        (0x77, None, MessageKind::Evidence),
        // A large proposal's header and part are about its height and round, like the proposal.
        (0x22, Some((1, 0)), MessageKind::ProposalHeader),
        (0x22, Some((1, 0)), MessageKind::ProposalPart),
    ];
    assert_eq!(one_of_each_kind().len(), expected.len());
    assert_eq!(MessageKind::ALL.len(), expected.len());
    for (message, (author, coordinates, kind)) in one_of_each_kind().into_iter().zip(expected) {
        assert_eq!(ConsensusMessage::decode(&message.encode()).unwrap(), message);
        assert_eq!(message.validator(), validator(author));
        assert_eq!(message.height(), coordinates.map(|(height, _)| Height(height)));
        assert_eq!(message.round(), coordinates.map(|(_, round)| Round(round)));
        assert_eq!(message.kind(), kind);
        // The kind's name is the CBOR variant key, so metrics and wire dumps use one vocabulary.
        assert_eq!(map_keys(&value_of(&message.encode())), [kind.name()]);
    }
}

#[test]
fn proof_of_lock_round_roundtrips_when_present() {
    let ConsensusMessage::Proposal(mut proposal) = one_of_each_kind().remove(0) else { unreachable!() };
    proposal.pol_round = Some(Round(3));
    let message = ConsensusMessage::Proposal(proposal);
    let bytes = message.encode();
    assert_eq!(field(&value_of(&bytes), &["Proposal", "pol_round"]), &Value::Integer(3.into()));
    assert_eq!(ConsensusMessage::decode(&bytes).unwrap(), message);
}

#[test]
fn decoder_accepts_any_key_order_and_ignores_unknown_keys() {
    let bytes = nil_prevote().encode();
    let mut value = value_of(&bytes);
    let inner = value.as_map_mut().unwrap()[0].1.as_map_mut().unwrap();
    inner.reverse();
    inner.push((Value::Text("future_field".into()), Value::Bool(true)));
    assert_eq!(ConsensusMessage::decode(&bytes_of(&value)).unwrap(), nil_prevote());
}

#[test]
fn block_as_integer_array_is_rejected() {
    let bytes = one_of_each_kind()[0].encode();
    let bad = with_field(&bytes, &["Proposal", "block"], int_array(2));
    assert_schema_error(ConsensusMessage::decode(&bad), "byte string");
}

#[test]
fn validator_id_as_integer_array_is_rejected() {
    let bad = with_field(&nil_prevote().encode(), &["PreVote", "validator"], int_array(32));
    assert_schema_error(ConsensusMessage::decode(&bad), "byte string");
}

#[test]
fn validator_id_of_31_bytes_is_rejected() {
    let bad = with_field(&nil_prevote().encode(), &["PreVote", "validator"], Value::Bytes(vec![0x11; 31]));
    assert_schema_error(ConsensusMessage::decode(&bad), "32 bytes");
}

#[test]
fn heard_validator_as_integer_array_is_rejected() {
    let bytes = one_of_each_kind()[4].encode();
    let bad = with_field(&bytes, &["Heartbeat", "hears"], Value::Array(vec![int_array(32)]));
    assert_schema_error(ConsensusMessage::decode(&bad), "byte string");
}

#[test]
fn missing_field_is_rejected_by_name() {
    let bad = without_field(&nil_prevote().encode(), &["PreVote", "height"]);
    assert_schema_error(ConsensusMessage::decode(&bad), "height");
}

#[test]
fn unknown_variant_is_rejected_by_name() {
    let mut value = value_of(&nil_prevote().encode());
    value.as_map_mut().unwrap()[0].0 = Value::Text("Slashing".into());
    assert_schema_error(ConsensusMessage::decode(&bytes_of(&value)), "Slashing");
}

#[test]
fn round_above_u32_is_rejected() {
    let bad = with_field(&nil_prevote().encode(), &["PreVote", "round"], Value::Integer((1u64 << 32).into()));
    assert!(matches!(ConsensusMessage::decode(&bad), Err(CodecError::Schema { .. })));
}

#[test]
fn empty_truncated_padded_and_invalid_input_are_rejected() {
    for message in one_of_each_kind() {
        assert_rejects_generic_malformations(&message.encode(), ConsensusMessage::decode);
    }
}

#[test]
fn variant_name_and_fields_as_two_cbor_items_are_rejected() {
    // The inner map of a nil pre-vote preceded by the bare string "PreVote" instead of a map header.
    let encoded = nil_prevote().encode();
    let two_items = &encoded[1..];
    assert!(matches!(ConsensusMessage::decode(two_items), Err(CodecError::Schema { offset: Some(0), .. })));
}
