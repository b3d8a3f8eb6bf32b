//! A heartbeat's `hears` bitmap: bit `i` is the `i`-th validator (ascending id) of the set in force at
//! the heartbeat's height, and receivers read it against that set, not their current one.

use quorumnet_core::identity::{Keypair, ValidatorId};
use quorumnet_core::message::{ConsensusMessage, HearsBitmap, HearsError, Heartbeat, Height, Round};
use quorumnet_core::node::liveness::heard_by;
use quorumnet_core::validator::{ListValidatorSetSource, ValidatorInfo, ValidatorSet};

fn set_of(seeds: impl IntoIterator<Item = u8>) -> ValidatorSet {
    ValidatorSet::new(
        seeds.into_iter().map(|s| ValidatorInfo::new(Keypair::from_seed(&[s; 32]).public_key().clone(), 1)),
    )
    .unwrap()
}

fn heartbeat(height: u64, hears: HearsBitmap) -> Heartbeat {
    Heartbeat { validator: ValidatorId([9; 32]), height: Height(height), round: Round(0), time_micros: 0, hears }
}

#[test]
fn bits_follow_ascending_ids_and_the_bitmap_has_one_bit_per_member() {
    let set = set_of(1..=10);
    let ids: Vec<ValidatorId> = set.ids().collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "a set iterates its ids in ascending order");
    let heard = [ids[0], ids[3], ids[8], ids[9]];
    let bitmap = HearsBitmap::of(&set, |id| heard.contains(id));
    assert_eq!(bitmap.as_bytes(), &[0b0000_1001, 0b0000_0011]);
    assert_eq!(bitmap.decode(&set).unwrap(), heard);
    // Round trip through CBOR as a bstr of two bytes.
    let message = ConsensusMessage::Heartbeat(heartbeat(1, bitmap.clone()));
    let ConsensusMessage::Heartbeat(back) = ConsensusMessage::decode(&message.encode()).unwrap() else { panic!() };
    assert_eq!(back.hears, bitmap);
    assert_eq!(HearsBitmap::of(&set_of(1..=8), |_| true).as_bytes(), &[0xff], "8 validators fill one byte exactly");
    assert_eq!(HearsBitmap::of(&set, |_| false).as_bytes(), &[0, 0]);
}

#[test]
fn a_bitmap_that_does_not_fit_the_set_is_refused() {
    let set = set_of(1..=10);
    let too_short = HearsBitmap::from_bytes(vec![0xff]);
    assert_eq!(too_short.decode(&set), Err(HearsError::Length { expected: 2, got: 1, validators: 10 }));
    let too_long = HearsBitmap::from_bytes(vec![0, 0, 0]);
    assert!(matches!(too_long.decode(&set), Err(HearsError::Length { got: 3, .. })));
    // Bit 10 names no one in a set of 10.
    let padded = HearsBitmap::from_bytes(vec![0, 0b0000_0100]);
    assert_eq!(padded.decode(&set), Err(HearsError::Padding { validators: 10 }));
}

/// The sender is still at height 5, under the first set; the receiver has moved on to height 12,
/// under a second set with one validator replaced (same size, so the bits would fit either).
#[test]
fn a_receiver_reads_the_bits_against_the_set_at_the_heartbeats_height_not_its_own() {
    let (before, after) = (set_of(1..=4), set_of([1, 2, 3, 5]));
    let source = ListValidatorSetSource::new(before.clone(), Height(0), 4);
    source.push_set(Height(10), after.clone()).unwrap();
    let hears = HearsBitmap::of(&before, |_| true);
    let sent_at_5 = heartbeat(5, hears.clone());
    let ids_before: Vec<ValidatorId> = before.ids().collect();
    assert_eq!(heard_by(&source, &sent_at_5), Some(ids_before));
    // The same bits read against the receiver's current set would name validator 5, whom the
    // sender never heard of.
    let misread = hears.decode(&after).unwrap();
    assert!(misread.contains(&Keypair::from_seed(&[5; 32]).validator_id()));

    // A heartbeat from a height whose set the receiver does not have says nothing about whom its
    // sender hears; nor does one whose bitmap was made against a set of another size.
    let pruned = ListValidatorSetSource::new(after.clone(), Height(10), 4);
    assert_eq!(heard_by(&pruned, &sent_at_5), None);
    let bigger = HearsBitmap::of(&set_of(1..=9), |_| true);
    assert_eq!(heard_by(&source, &heartbeat(12, bigger)), None);
}
