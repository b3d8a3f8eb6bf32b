//! `Envelope`: signing bytes, message ids, signatures under both algorithms, and the wire layout.

mod common;

use ciborium::Value;
use common::*;
use quorumnet_core::codec::{self, CodecError};
use quorumnet_core::identity::{Algorithm, ChainId, IdentityError, Keypair, Signature};
use quorumnet_core::message::{signing_bytes, Envelope, EnvelopeError, MessageId, ENVELOPE_SIGNING_DOMAIN};

fn ml_dsa_key() -> Keypair {
    Keypair::from_seed(&[5; 32])
}

fn signed(key: &Keypair) -> Envelope {
    Envelope::sign_message(key, chain(), 9, 4, &nil_prevote())
}

#[test]
fn signing_bytes_are_domain_chain_origin_big_endian_seq_payload() {
    let chain = ChainId([0xc1; 32]);
    let bytes = signing_bytes(&chain, &validator(0x0a), 0x0102_0304_0506_0708, b"xyz");
    assert_eq!(ENVELOPE_SIGNING_DOMAIN, b"quorumnet/1/envelope");
    let mut expected = b"quorumnet/1/envelope".to_vec();
    expected.extend([0xc1; 32]);
    expected.extend([0x0a; 32]);
    expected.extend([1, 2, 3, 4, 5, 6, 7, 8]);
    expected.extend(b"xyz");
    assert_eq!(bytes, expected);
}

#[test]
fn id_is_blake3_of_origin_big_endian_seq_and_payload() {
    let envelope = small_envelope();
    let mut preimage = vec![0x01; 32];
    preimage.extend(2u64.to_be_bytes());
    preimage.extend([0xaa, 0xbb]);
    assert_eq!(envelope.id(), MessageId(*blake3::hash(&preimage).as_bytes()));
}

#[test]
fn id_ignores_ttl_and_signature_but_not_seq() {
    let envelope = small_envelope();
    assert_eq!(envelope.clone().with_ttl(200).id(), envelope.id());
    assert_eq!(Envelope { sig: Signature::from_bytes(vec![1]), ..envelope.clone() }.id(), envelope.id());
    assert_ne!(Envelope { seq: 3, ..envelope.clone() }.id(), envelope.id());
}

#[test]
fn decrement_ttl_counts_down_and_refuses_at_zero() {
    let mut envelope = small_envelope().with_ttl(1);
    assert!(envelope.decrement_ttl());
    assert_eq!(envelope.ttl, 0);
    assert!(!envelope.decrement_ttl());
    assert_eq!(envelope.ttl, 0);
}

#[test]
fn ml_dsa_65_envelope_verifies_after_a_wire_roundtrip() {
    let key = ml_dsa_key();
    let envelope = signed(&key);
    let received = Envelope::decode(&envelope.encode()).unwrap();
    assert_eq!(received, envelope);
    received.verify(chain(), key.public_key()).unwrap();
    assert_eq!(received.origin, key.validator_id());
    assert_eq!(received.message().unwrap(), nil_prevote());
}

#[test]
fn dilithium3_envelope_verifies_after_a_wire_roundtrip() {
    let key = Keypair::generate(Algorithm::Dilithium3);
    let envelope = signed(&key);
    let received = Envelope::decode(&envelope.encode()).unwrap();
    received.verify(chain(), key.public_key()).unwrap();
}

#[test]
fn relayed_envelope_with_lower_ttl_still_verifies() {
    let key = ml_dsa_key();
    let mut envelope = signed(&key);
    assert!(envelope.decrement_ttl());
    envelope.verify(chain(), key.public_key()).unwrap();
}

fn assert_bad_signature(result: Result<(), EnvelopeError>) {
    assert_eq!(result, Err(EnvelopeError::Signature(IdentityError::BadSignature { algorithm: Algorithm::MlDsa65 })));
}

#[test]
fn an_envelope_whose_signature_breaks_the_z_bound_is_rejected() {
    let key = ml_dsa_key();
    let Some(envelope) = with_z_out_of_bound(&key, signed(&key)) else { return };
    assert_eq!(
        envelope.verify(chain(), key.public_key()),
        Err(EnvelopeError::Signature(IdentityError::ResponseOutOfBound { algorithm: Algorithm::MlDsa65 }))
    );
}

#[test]
fn envelope_signed_for_another_chain_is_rejected() {
    let key = ml_dsa_key();
    assert_bad_signature(signed(&key).verify(ChainId::from_network_name("testnet"), key.public_key()));
}

#[test]
fn tampered_payload_is_rejected() {
    let key = ml_dsa_key();
    let mut envelope = signed(&key);
    let mut payload = envelope.payload.to_vec();
    *payload.last_mut().unwrap() ^= 1;
    envelope.payload = payload.into();
    assert_bad_signature(envelope.verify(chain(), key.public_key()));
}

#[test]
fn tampered_seq_is_rejected() {
    let key = ml_dsa_key();
    let envelope = Envelope { seq: 10, ..signed(&key) };
    assert_bad_signature(envelope.verify(chain(), key.public_key()));
}

#[test]
fn key_of_another_validator_is_an_origin_mismatch() {
    let key = ml_dsa_key();
    let other = Keypair::from_seed(&[6; 32]);
    assert_eq!(
        signed(&key).verify(chain(), other.public_key()),
        Err(EnvelopeError::OriginMismatch { origin: key.validator_id(), key: other.validator_id() })
    );
}

#[test]
fn signature_of_wrong_length_is_rejected() {
    let key = ml_dsa_key();
    let mut envelope = signed(&key);
    envelope.sig = Signature::from_bytes(&envelope.sig.as_bytes()[1..]);
    assert_eq!(
        envelope.verify(chain(), key.public_key()),
        Err(EnvelopeError::Signature(IdentityError::WrongSignatureLength {
            algorithm: Algorithm::MlDsa65,
            expected: 3309,
            actual: 3308,
        }))
    );
}

#[test]
fn dilithium3_signature_does_not_verify_under_ml_dsa_key() {
    let key = ml_dsa_key();
    let dilithium = Keypair::generate(Algorithm::Dilithium3);
    let mut envelope = signed(&key);
    envelope.sig = dilithium.sign(&signing_bytes(&chain(), &envelope.origin, envelope.seq, &envelope.payload));
    assert_bad_signature(envelope.verify(chain(), key.public_key()));
}

#[test]
fn encoding_is_exactly_the_wire_map() {
    let expected = hex_concat(&[
        "a5",                                                 // map of 5
        &format!("66 6f726967696e 5820 {}", "01".repeat(32)), // "origin": h'01..'
        "63 736571 02",                                       // "seq": 2
        "63 74746c 03",                                       // "ttl": 3
        "67 7061796c6f6164 42 aabb",                          // "payload": h'aabb'
        "63 736967 44 cccccccc",                              // "sig": h'cccccccc'
    ]);
    assert_eq!(hex::encode(small_envelope().encode()), expected);
}

#[test]
fn signed_envelope_has_wire_key_order_and_byte_string_fields() {
    let key = ml_dsa_key();
    let value = value_of(&signed(&key).encode());
    assert_eq!(map_keys(&value), ["origin", "seq", "ttl", "payload", "sig"]);
    assert!(matches!(field(&value, &["origin"]), Value::Bytes(b) if b.len() == 32));
    assert!(matches!(field(&value, &["payload"]), Value::Bytes(b) if *b == nil_prevote().encode()));
    assert!(matches!(field(&value, &["sig"]), Value::Bytes(b) if b.len() == 3309));
    assert_eq!(field(&value, &["seq"]), &Value::Integer(9.into()));
    assert_eq!(field(&value, &["ttl"]), &Value::Integer(4.into()));
}

#[test]
fn ttl_256_is_a_typed_error() {
    let bad = with_field(&small_envelope().encode(), &["ttl"], Value::Integer(256.into()));
    assert_eq!(Envelope::decode(&bad), Err(CodecError::TtlOutOfRange(256)));
}

#[test]
fn ttl_255_is_accepted() {
    let good = with_field(&small_envelope().encode(), &["ttl"], Value::Integer(255.into()));
    assert_eq!(Envelope::decode(&good).unwrap().ttl, 255);
}

#[test]
fn serde_path_rejects_ttl_256_too() {
    let bad = with_field(&small_envelope().encode(), &["ttl"], Value::Integer(256.into()));
    assert_schema_error(codec::decode::<Envelope>("envelope", &bad), "ttl 256");
}

#[test]
fn byte_fields_as_integer_arrays_are_rejected() {
    let bytes = small_envelope().encode();
    for (name, len) in [("origin", 32), ("payload", 2), ("sig", 4)] {
        let bad = with_field(&bytes, &[name], int_array(len));
        assert_schema_error(Envelope::decode(&bad), "byte string");
        assert_schema_error(codec::decode::<Envelope>("envelope", &bad), "byte string");
    }
}

#[test]
fn origin_of_31_bytes_is_rejected() {
    let bad = with_field(&small_envelope().encode(), &["origin"], Value::Bytes(vec![1; 31]));
    assert_schema_error(Envelope::decode(&bad), "32 bytes");
}

#[test]
fn missing_signature_is_rejected_by_name() {
    let bad = without_field(&small_envelope().encode(), &["sig"]);
    assert_schema_error(Envelope::decode(&bad), "sig");
}

#[test]
fn empty_truncated_padded_and_invalid_input_are_rejected() {
    assert_rejects_generic_malformations(&small_envelope().encode(), Envelope::decode);
    assert_rejects_generic_malformations(&small_envelope().encode(), |b| codec::decode::<Envelope>("envelope", b));
}

#[test]
fn payload_that_is_not_a_consensus_message_fails_to_open() {
    let envelope = small_envelope();
    assert!(matches!(envelope.message(), Err(CodecError::Truncated { .. } | CodecError::Schema { .. })));
}
