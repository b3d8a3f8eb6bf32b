//! Property tests: no decoder panics on arbitrary or mutated input, every wire type roundtrips, and part
//! reassembly and address records stay within their bounds.

mod common;
#[path = "../../fuzz/targets.rs"]
mod targets;

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use quorumnet_core::codec::{self, CodecError, FrameDecoder};
use quorumnet_core::identity::{key_file, Keypair, PublicKey, Signature, ValidatorId};
use quorumnet_core::message::{
    AddressRecord, BlockHash, Commit, ConsensusMessage, Envelope, Frame, HearsBitmap, Heartbeat, Height, MessageId,
    Proposal, Round, Vote,
};
use quorumnet_core::node::link::testing::PartReassembler;

/// Small enough that the suite stays fast, large enough to reach every variant many times.
const CASES: u32 = 256;

fn config() -> ProptestConfig {
    ProptestConfig { cases: CASES, ..ProptestConfig::default() }
}

fn validator_id() -> impl Strategy<Value = ValidatorId> {
    any::<[u8; 32]>().prop_map(ValidatorId)
}

fn block_hash() -> impl Strategy<Value = BlockHash> {
    any::<[u8; 32]>().prop_map(BlockHash)
}

fn vote() -> impl Strategy<Value = Vote> {
    (any::<u64>(), any::<u32>(), validator_id(), proptest::option::of(block_hash())).prop_map(
        |(height, round, validator, block_hash)| Vote {
            height: Height(height),
            round: Round(round),
            validator,
            block_hash,
        },
    )
}

fn message_id() -> impl Strategy<Value = MessageId> {
    any::<[u8; 32]>().prop_map(MessageId)
}

fn address_record() -> impl Strategy<Value = AddressRecord> {
    let address = "[a-z][a-z0-9+.-]{0,8}://[!-~]{1,40}".prop_map(|text| text.parse().unwrap());
    (validator_id(), any::<u64>(), proptest::collection::vec(address, 0..=AddressRecord::MAX_ADDRESSES))
        .prop_map(|(validator, version, addresses)| AddressRecord::new(validator, version, addresses).unwrap())
}

fn consensus_message() -> impl Strategy<Value = ConsensusMessage> {
    let proposal = (
        any::<u64>(),
        any::<u32>(),
        validator_id(),
        block_hash(),
        proptest::option::of(any::<u32>()),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(height, round, proposer, block_hash, pol_round, block)| {
            ConsensusMessage::Proposal(Proposal {
                height: Height(height),
                round: Round(round),
                proposer,
                block_hash,
                pol_round: pol_round.map(Round),
                block,
            })
        });
    let commit = (any::<u64>(), any::<u32>(), validator_id(), block_hash()).prop_map(
        |(height, round, validator, block_hash)| {
            ConsensusMessage::Commit(Commit { height: Height(height), round: Round(round), validator, block_hash })
        },
    );
    let heartbeat =
        (any::<u64>(), any::<u32>(), validator_id(), any::<u64>(), proptest::collection::vec(any::<u8>(), 0..16))
            .prop_map(|(height, round, validator, time_micros, hears)| {
                ConsensusMessage::Heartbeat(Heartbeat {
                    validator,
                    height: Height(height),
                    round: Round(round),
                    time_micros,
                    hears: HearsBitmap::from_bytes(hears),
                })
            });
    prop_oneof![
        proposal,
        vote().prop_map(ConsensusMessage::PreVote),
        vote().prop_map(ConsensusMessage::PreCommit),
        commit,
        heartbeat,
        address_record().prop_map(ConsensusMessage::AddressRecord),
    ]
}

/// Envelopes with arbitrary field values: decoding does not verify, so the signature need not be real.
fn envelope() -> impl Strategy<Value = Envelope> {
    (
        validator_id(),
        any::<u64>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(origin, seq, ttl, payload, sig)| Envelope {
            origin,
            seq,
            ttl,
            payload: payload.into(),
            sig: Signature::from_bytes(sig),
        })
}

fn frame() -> impl Strategy<Value = Frame> {
    let part = (any::<u64>(), 1..=u32::MAX, any::<u32>(), proptest::collection::vec(any::<u8>(), 0..64))
        .prop_map(|(id, count, index, data)| Frame::Part { id, index: index % count, count, data });
    prop_oneof![
        envelope().prop_map(Frame::Envelope),
        envelope().prop_map(Frame::Reliable),
        any::<[u8; 32]>().prop_map(|id| Frame::Ack { id: MessageId(id) }),
        proptest::collection::vec(message_id(), 0..8).prop_map(|ids| Frame::Have { ids }),
        proptest::collection::vec(message_id(), 0..8).prop_map(|ids| Frame::Want { ids }),
        any::<u64>().prop_map(|nonce| Frame::Ping { nonce }),
        any::<u64>().prop_map(|nonce| Frame::Pong { nonce }),
        part,
    ]
}

/// Valid encodings of every decoder's input type, to mutate: mutations of valid input reach far deeper
/// into a decoder than random bytes, which mostly fail at the first byte.
fn valid_encoding() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        consensus_message().prop_map(|m| m.encode()),
        envelope().prop_map(|e| e.encode()),
        frame().prop_map(|f| f.encode()),
    ]
}

/// Runs every CBOR decoder over `bytes`; none may panic, whatever they return.
fn decode_with_every_decoder(bytes: &[u8]) {
    let _ = Frame::decode(bytes);
    let _ = ConsensusMessage::decode(bytes);
    let _ = Envelope::decode(bytes);
    let _ = codec::decode::<Envelope>("envelope", bytes);
    let _ = codec::decode::<Frame>("frame", bytes);
}

fn assert_every_decoder_rejects(bytes: &[u8]) {
    assert!(Frame::decode(bytes).is_err());
    assert!(ConsensusMessage::decode(bytes).is_err());
    assert!(Envelope::decode(bytes).is_err());
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn consensus_message_roundtrips(message in consensus_message()) {
        prop_assert_eq!(ConsensusMessage::decode(&message.encode()).unwrap(), message);
    }

    #[test]
    fn frame_roundtrips(frame in frame()) {
        prop_assert_eq!(Frame::decode(&frame.encode()).unwrap(), frame);
    }

    #[test]
    fn envelope_roundtrips_through_both_decoders(envelope in envelope()) {
        let bytes = envelope.encode();
        prop_assert_eq!(codec::decode::<Envelope>("envelope", &bytes).unwrap(), envelope.clone());
        prop_assert_eq!(Envelope::decode(&bytes).unwrap(), envelope);
    }

    #[test]
    fn have_and_want_decode_exactly_when_within_the_id_bound(count in 0..=(2 * Frame::MAX_IDS), want in any::<bool>()) {
        let ids: Vec<MessageId> = (0..count).map(|i| MessageId([(i % 251) as u8; 32])).collect();
        let frame = if want { Frame::Want { ids } } else { Frame::Have { ids } };
        match Frame::decode(&frame.encode()) {
            Ok(decoded) => {
                prop_assert!(count <= Frame::MAX_IDS);
                prop_assert_eq!(decoded, frame);
            }
            Err(error) => {
                let too_many = matches!(error, CodecError::TooManyItems { count: c, .. } if c == count);
                prop_assert!(count > Frame::MAX_IDS && too_many, "{} ids: {:?}", count, error);
            }
        }
    }

    /// The shared-buffer decoder's fast path for envelope frames changes nothing but where the bytes
    /// live: on any frame, mutated or not, it answers as the generic decoder does.
    #[test]
    fn the_shared_decoder_agrees_with_the_generic_one(frame in frame(), flips in common::flips(), flip in any::<bool>()) {
        let valid = frame.encode();
        let bytes = if flip { common::flipped(valid, &flips) } else { valid };
        let generic = format!("{:?}", Frame::decode(&bytes));
        prop_assert_eq!(format!("{:?}", Frame::decode_shared(&Bytes::from(bytes))), generic);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        decode_with_every_decoder(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_flipped_bytes(valid in valid_encoding(), flips in common::flips()) {
        decode_with_every_decoder(&common::flipped(valid, &flips));
    }

    #[test]
    fn every_proper_prefix_of_a_valid_encoding_is_rejected(valid in valid_encoding(), cut in any::<prop::sample::Index>()) {
        // A CBOR item is self-delimiting, so no proper prefix of one is a complete item.
        let prefix = &valid[..cut.index(valid.len())];
        decode_with_every_decoder(prefix);
        assert_every_decoder_rejects(prefix);
    }

    #[test]
    fn valid_encoding_followed_by_anything_is_rejected(valid in valid_encoding(), extra in proptest::collection::vec(any::<u8>(), 1..16)) {
        let mut bytes = valid;
        bytes.extend(extra);
        decode_with_every_decoder(&bytes);
        assert_every_decoder_rejects(&bytes);
    }

    #[test]
    fn frame_decoder_never_panics_nor_yields_frames_over_its_limit(bytes in proptest::collection::vec(any::<u8>(), 0..512), limit in 1usize..300) {
        let mut buf = BytesMut::from(&bytes[..]);
        let mut decoder = FrameDecoder::new(limit);
        while let Ok(Some(frame)) = decoder.decode(&mut buf) {
            prop_assert!(!frame.is_empty() && frame.len() <= limit);
        }
    }

    #[test]
    fn length_prefixed_frames_split_back_into_the_same_frames(frames in proptest::collection::vec(frame(), 1..5)) {
        let limit = codec::DEFAULT_MAX_FRAME_LEN;
        let mut buf = BytesMut::new();
        for frame in &frames {
            buf.extend_from_slice(&frame.to_length_prefixed(limit).unwrap());
        }
        let mut decoder = FrameDecoder::new(limit);
        for frame in &frames {
            let body = decoder.decode(&mut buf).unwrap().unwrap();
            prop_assert_eq!(&Frame::decode(&body).unwrap(), frame);
        }
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn public_key_parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = PublicKey::from_encoded(&bytes);
    }

    #[test]
    fn public_key_parser_accepts_any_bytes_of_the_right_shape(flip in any::<prop::sample::Index>(), mask in 1..=255u8) {
        // Any raw key of the right length after a known algorithm byte parses (whether it is a usable
        // key is for signature verification to find out); a changed algorithm byte must still not panic.
        let mut encoded = Keypair::from_seed(&[4; 32]).public_key().encoded().to_vec();
        let at = flip.index(encoded.len());
        encoded[at] ^= mask;
        let parsed = PublicKey::from_encoded(&encoded);
        prop_assert_eq!(parsed.is_ok(), matches!(encoded[0], 0x01 | 0x02));
    }

    #[test]
    fn key_file_parser_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = key_file::from_text(&text, std::path::Path::new("fuzz.key"));
    }

    #[test]
    fn key_file_parser_never_panics_on_key_file_shaped_text(
        text in "((quorumnet-key|algorithm|validator-id|public-key|secret-key|#[ -~]{0,8}|[a-z-]{0,12}):? ?(1|ml-dsa-65|dilithium3|[0-9a-fA-F]{0,80}|[ -~]{0,8})\n){0,8}"
    ) {
        let _ = key_file::from_text(&text, std::path::Path::new("fuzz.key"));
    }
}

/// A peer's parts as `(id, in sequence, index, count, data length)`. A part in sequence continues its
/// id's frame (or starts one) with the next index and the first part's count, so that a sequence gets
/// past the order checks to the count, size and budget bounds; the rest are arbitrary.
fn part_steps() -> impl Strategy<Value = Vec<(u64, bool, u32, u32, usize)>> {
    // Mostly three ids (the limit of partial frames), 16 parts (the most a frame may have) and full
    // parts, so that many sequences run into the byte budget before they break another bound.
    let id = prop_oneof![30 => 0..3u64, 1 => 3..5u64];
    let count = prop_oneof![8 => Just(16u32), 2 => 1..=16u32, 1 => 17..=20u32];
    let data_len = prop_oneof![12 => Just(64usize), 4 => 1..=64usize, 1 => 0..=80usize];
    proptest::collection::vec((id, prop::bool::weighted(0.98), any::<u32>(), count, data_len), 1..80)
}

/// The length of each address of a record (7 is the shortest `mem://` one): mostly within the bound,
/// sometimes at it, sometimes past it.
fn address_lens() -> impl Strategy<Value = Vec<usize>> {
    let longest = AddressRecord::MAX_ADDRESS_LEN;
    let len = prop_oneof![20 => 7..=longest, 2 => longest - 1..=longest + 1, 1 => longest + 1..=2 * longest];
    proptest::collection::vec(len, 0..=2 * AddressRecord::MAX_ADDRESSES)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn part_reassembly_stays_within_its_bounds_for_any_part_sequence(steps in part_steps()) {
        // The part fuzz target's link: its bounds are reached within a few dozen parts.
        let config = targets::part_config();
        let mut reassembler = PartReassembler::new(&config, targets::PART_FRAME_LIMIT).unwrap();
        // The next index and the count of each frame the sequence has in flight.
        let mut next: BTreeMap<u64, (u32, u32)> = BTreeMap::new();
        for (id, in_sequence, index, count, len) in steps {
            let (index, count) = match (in_sequence, next.get(&id)) {
                (true, Some(&continued)) => continued,
                (true, None) => (0, count),
                // An index past the count would not even decode as a part.
                (false, _) => (index % count, count),
            };
            let part = Frame::Part { id, index, count, data: vec![0xa5; len] };
            if reassembler.receive(&Bytes::from(part.encode())).is_err() {
                break; // the link closes
            }
            if index + 1 == count {
                next.remove(&id);
            } else {
                next.insert(id, (index + 1, count));
            }
            prop_assert!(reassembler.buffered_bytes() <= config.max_reassembly_bytes);
            prop_assert!(reassembler.partial_frames() <= config.max_partial_frames);
        }
    }

    #[test]
    fn address_records_decode_exactly_when_within_their_bounds(lens in address_lens()) {
        // Built without `AddressRecord::new`, which refuses what is past the bounds.
        let addresses = lens.iter().map(|&len| common::address_of_len(len)).collect();
        let record = AddressRecord { validator: ValidatorId([0x46; 32]), version: 1, addresses };
        let message = ConsensusMessage::AddressRecord(record);
        let too_many = lens.len() > AddressRecord::MAX_ADDRESSES;
        let first_too_long = lens.iter().position(|&len| len > AddressRecord::MAX_ADDRESS_LEN);
        match ConsensusMessage::decode(&message.encode()) {
            Ok(decoded) => {
                prop_assert!(!too_many && first_too_long.is_none());
                prop_assert_eq!(decoded, message);
            }
            // The count is checked while reading, before any address is parsed.
            Err(CodecError::TooManyItems { count, limit, .. }) => {
                prop_assert!(too_many && count == lens.len() && limit == AddressRecord::MAX_ADDRESSES);
            }
            Err(CodecError::InvalidAddress { index, .. }) => prop_assert!(!too_many && Some(index) == first_too_long),
            Err(other) => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}
