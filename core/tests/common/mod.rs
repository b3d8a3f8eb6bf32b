//! Helpers shared by the wire tests: sample values, and surgery on CBOR encodings to build the malformed
//! inputs a byzantine peer could send.
#![allow(dead_code)] // each test crate uses a different subset

pub mod python;
pub mod validators;

use ciborium::Value;
use quorumnet_core::codec::CodecError;
use quorumnet_core::identity::{ChainId, Signature, ValidatorId};
use quorumnet_core::message::{
    AddressRecord, BlockHash, Commit, ConsensusMessage, Envelope, EquivocationEvidence, EvidenceReport, HearsBitmap,
    Heartbeat, Height, Proposal, Round, Vote,
};

pub fn chain() -> ChainId {
    ChainId::from_network_name("devnet")
}

/// `envelope` re-signed by `key` with a signature FIPS 204 rejects and PQClean's AVX2 verify accepts
/// (z out of bound, see `identity::adversarial`); `None` where that signer does not exist (no AVX2).
pub fn with_z_out_of_bound(key: &quorumnet_core::identity::Keypair, envelope: Envelope) -> Option<Envelope> {
    let bytes = quorumnet_core::message::signing_bytes(&chain(), &envelope.origin, envelope.seq, &envelope.payload);
    let sig = quorumnet_core::identity::adversarial::sign_with_z_out_of_bound(key, &bytes)?;
    Some(Envelope { sig, ..envelope })
}

pub fn validator(byte: u8) -> ValidatorId {
    ValidatorId([byte; 32])
}

/// An envelope with small, recognisable fields, for layout tests that need no real signature.
pub fn small_envelope() -> Envelope {
    Envelope {
        origin: validator(0x01),
        seq: 2,
        ttl: 3,
        payload: vec![0xaa, 0xbb].into(),
        sig: Signature::from_bytes(vec![0xcc; 4]),
    }
}

pub fn nil_prevote() -> ConsensusMessage {
    ConsensusMessage::PreVote(Vote {
        height: Height(10),
        round: Round(2),
        validator: validator(0x11),
        block_hash: None,
    })
}

/// Validator `46…46`'s addresses, version 2026-11-26T00:00:00Z in µs.
pub fn address_record() -> AddressRecord {
    let addresses = ["tcp-noise://192.0.2.7:7000", "ws://192.0.2.7:7001/"].map(|a| a.parse().unwrap());
    AddressRecord::new(validator(0x46), 1_795_651_200_000_000, addresses.to_vec()).unwrap()
}

/// Validator `77…77`'s report that `66…66` signed two pre-votes for height 9, round 0 (blocks `01…01`
/// and `02…02`, seqs 1 and 2, ttl 0). The inner signatures are 4-byte placeholders: the vector shows
/// the layout (a real one holds two 3 309-byte ML-DSA-65 signatures and verifies).
pub fn evidence_report() -> EvidenceReport {
    let envelope = |seq: u64, block: u8, sig: u8| {
        let vote = ConsensusMessage::PreVote(Vote {
            height: Height(9),
            round: Round(0),
            validator: validator(0x66),
            block_hash: Some(BlockHash([block; 32])),
        });
        Envelope {
            origin: validator(0x66),
            seq,
            ttl: 0,
            payload: vote.encode().into(),
            sig: Signature::from_bytes(vec![sig; 4]),
        }
    };
    EvidenceReport {
        reporter: validator(0x77),
        height: Height(9),
        evidence: EquivocationEvidence { first: envelope(1, 0x01, 0xaa), second: envelope(2, 0x02, 0xbb) },
    }
}

/// One message of every kind, with distinct heights, rounds and authors.
pub fn one_of_each_kind() -> Vec<ConsensusMessage> {
    vec![
        ConsensusMessage::Proposal(Proposal {
            height: Height(1),
            round: Round(0),
            proposer: validator(0x22),
            block_hash: BlockHash([0x33; 32]),
            pol_round: None,
            block: vec![0xde, 0xad],
        }),
        nil_prevote(),
        ConsensusMessage::PreCommit(Vote {
            height: Height(3),
            round: Round(4),
            validator: validator(0x12),
            block_hash: Some(BlockHash([0x34; 32])),
        }),
        ConsensusMessage::Commit(Commit {
            height: Height(5),
            round: Round(6),
            validator: validator(0x13),
            block_hash: BlockHash([0x35; 32]),
        }),
        ConsensusMessage::Heartbeat(Heartbeat {
            validator: validator(0x44),
            height: Height(7),
            round: Round(8),
            time_micros: 1_000_000,
            // Validators 0 and 2 of a set of 3 or fewer.
            hears: HearsBitmap::from_bytes(vec![0b101]),
        }),
        ConsensusMessage::AddressRecord(address_record()),
        ConsensusMessage::Evidence(evidence_report()),
        ConsensusMessage::ProposalHeader(proposal_in_parts().0),
        ConsensusMessage::ProposalPart(proposal_in_parts().1.remove(1)),
    ]
}

/// The vectors' large proposal: block `deadbe` in parts of 2 bytes (`dead`, `be`), by proposer
/// `22…22` at height 1, round 0, block hash `33…33`.
pub fn proposal_in_parts() -> (quorumnet_core::message::ProposalHeader, Vec<quorumnet_core::message::ProposalPart>) {
    let proposal = Proposal {
        height: Height(1),
        round: Round(0),
        proposer: validator(0x22),
        block_hash: BlockHash([0x33; 32]),
        pol_round: None,
        block: vec![0xde, 0xad, 0xbe],
    };
    quorumnet_core::message::ProposalHeader::split(&proposal, 2)
}

/// Hex pieces written with spaces for readability, joined without them.
pub fn hex_concat(pieces: &[&str]) -> String {
    pieces.concat().replace(' ', "")
}

pub fn value_of(bytes: &[u8]) -> Value {
    ciborium::de::from_reader(bytes).expect("test input is valid CBOR")
}

pub fn bytes_of(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).expect("encoding a Value");
    out
}

/// The text keys of a CBOR map, in encoded order.
pub fn map_keys(value: &Value) -> Vec<String> {
    value.as_map().expect("a CBOR map").iter().map(|(k, _)| k.as_text().expect("text key").to_owned()).collect()
}

/// The value reached by following map keys `path` from `value`.
pub fn field<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |v, key| {
        &v.as_map().expect("a CBOR map").iter().find(|(k, _)| k.as_text() == Some(key)).expect("key present").1
    })
}

fn field_mut<'a>(value: &'a mut Value, path: &[&str]) -> &'a mut Value {
    path.iter().fold(value, |v, key| {
        &mut v
            .as_map_mut()
            .expect("a CBOR map")
            .iter_mut()
            .find(|(k, _)| k.as_text() == Some(key))
            .expect("key present")
            .1
    })
}

/// `bytes` re-encoded with the value at `path` replaced.
pub fn with_field(bytes: &[u8], path: &[&str], replacement: Value) -> Vec<u8> {
    let mut value = value_of(bytes);
    *field_mut(&mut value, path) = replacement;
    bytes_of(&value)
}

/// `bytes` re-encoded without the map entry at `path`.
pub fn without_field(bytes: &[u8], path: &[&str]) -> Vec<u8> {
    let (last, parent) = path.split_last().expect("non-empty path");
    let mut value = value_of(bytes);
    field_mut(&mut value, parent).as_map_mut().expect("a CBOR map").retain(|(k, _)| k.as_text() != Some(last));
    bytes_of(&value)
}

/// A `mem://` address of exactly `len` bytes (at least 7), to reach an address record's length bound.
pub fn address_of_len(len: usize) -> quorumnet_core::transport::PeerAddress {
    const SCHEME: &str = "mem://";
    format!("{SCHEME}{}", "a".repeat(len - SCHEME.len())).parse().expect("a valid address")
}

/// One to three byte flips, for [`flipped`].
pub fn flips() -> impl proptest::strategy::Strategy<Value = Vec<(proptest::sample::Index, u8)>> {
    proptest::collection::vec((proptest::arbitrary::any::<proptest::sample::Index>(), 1..=255u8), 1..4)
}

/// `bytes` with each `(position, mask)` of `flips` xored in: mutations of a valid encoding reach far
/// deeper into a decoder than random bytes, which mostly fail at the first byte. `bytes` is non-empty.
pub fn flipped(mut bytes: Vec<u8>, flips: &[(proptest::sample::Index, u8)]) -> Vec<u8> {
    for (index, mask) in flips {
        let at = index.index(bytes.len());
        bytes[at] ^= mask;
    }
    bytes
}

/// What a careless encoder writes for a `Vec<u8>` or `[u8; N]`: an array of small integers.
pub fn int_array(len: usize) -> Value {
    Value::Array((0..len).map(|i| Value::Integer((i as u8).into())).collect())
}

pub fn assert_schema_error<T: std::fmt::Debug>(result: Result<T, CodecError>, reason_contains: &str) {
    match result {
        Err(CodecError::Schema { reason, .. }) => {
            assert!(reason.contains(reason_contains), "schema error {reason:?} does not mention {reason_contains:?}")
        }
        other => panic!("expected a schema error mentioning {reason_contains:?}, got {other:?}"),
    }
}

/// Runs `decode` over the generic malformations every decoder must reject with a typed error: empty
/// input, every proper prefix of `valid`, `valid` followed by a byte, and malformed CBOR.
pub fn assert_rejects_generic_malformations<T: std::fmt::Debug>(
    valid: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, CodecError>,
) {
    assert!(matches!(decode(&[]), Err(CodecError::Truncated { .. })), "empty input");
    for len in 1..valid.len() {
        assert!(matches!(decode(&valid[..len]), Err(CodecError::Truncated { .. })), "prefix of {len} bytes");
    }
    let mut padded = valid.to_vec();
    padded.push(0);
    assert!(matches!(decode(&padded), Err(CodecError::TrailingBytes { trailing: 1, .. })), "trailing byte");
    // A one-entry map whose key starts 0x1c: additional information 28 is reserved by RFC 8949.
    assert!(matches!(decode(&[0xa1, 0x1c]), Err(CodecError::InvalidCbor { .. })), "reserved additional info");
}
