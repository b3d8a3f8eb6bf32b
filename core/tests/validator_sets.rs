//! Validator sets: quorum arithmetic, validation, changes, history and sources (DESIGN.md §2).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use proptest::prelude::*;
use quorumnet_core::codec::{decode, encode};
use quorumnet_core::identity::{Keypair, PublicKey, ValidatorId};
use quorumnet_core::message::Height;
use quorumnet_core::validator::{
    ListValidatorSetSource, StaticValidatorSetSource, ValidatorInfo, ValidatorSet, ValidatorSetChange,
    ValidatorSetError, ValidatorSetHistory, ValidatorSetSource, ValidatorStatus, ValidatorUpdate,
};

/// Enough distinct validators for every test; generated once because key generation dominates.
const KEY_COUNT: usize = 12;

fn public_key(i: usize) -> PublicKey {
    static KEYS: OnceLock<Vec<PublicKey>> = OnceLock::new();
    let keys = KEYS
        .get_or_init(|| (0..KEY_COUNT).map(|i| Keypair::from_seed(&[i as u8 + 1; 32]).public_key().clone()).collect());
    keys[i].clone()
}

fn id(i: usize) -> ValidatorId {
    public_key(i).validator_id()
}

fn validator(i: usize, power: u64) -> ValidatorInfo {
    ValidatorInfo::new(public_key(i), power)
}

fn inactive(i: usize, power: u64) -> ValidatorInfo {
    validator(i, power).with_status(ValidatorStatus::Inactive)
}

/// Validator `i` gets `powers[i]`, all active.
fn set_of(powers: &[u64]) -> ValidatorSet {
    ValidatorSet::new(powers.iter().enumerate().map(|(i, &p)| validator(i, p))).unwrap()
}

fn ids(indices: &[usize]) -> Vec<ValidatorId> {
    indices.iter().map(|&i| id(i)).collect()
}

fn change(height: u64, updates: Vec<ValidatorUpdate>) -> ValidatorSetChange {
    ValidatorSetChange::new(Height(height), updates)
}

fn join(i: usize, power: u64) -> ValidatorUpdate {
    ValidatorUpdate::Upsert(validator(i, power))
}

fn leave(i: usize) -> ValidatorUpdate {
    ValidatorUpdate::Remove(id(i))
}

/// Asserts `quorum_power` and `one_third_plus_power` are the exact boundaries of their predicates.
fn assert_thresholds_are_exact(set: &ValidatorSet) {
    let q = set.quorum_power();
    assert!(set.is_supermajority(q), "quorum_power {q} of total {} is a supermajority", set.total_power());
    assert!(!set.is_supermajority(q - 1), "quorum_power - 1 of total {} is not", set.total_power());
    assert!(q <= set.total_power());
    let t = set.one_third_plus_power();
    assert!(set.is_one_third_plus(t));
    assert!(!set.is_one_third_plus(t - 1));
    assert!(t <= q);
}

// ---- quorum arithmetic ----

#[test]
fn supermajority_of_equal_power_needs_strictly_more_than_two_thirds() {
    let three = set_of(&[1, 1, 1]);
    assert!(!three.is_supermajority(three.power_of(&ids(&[0, 1]))), "2 of 3 is exactly 2/3, not more");
    assert!(three.is_supermajority(three.power_of(&ids(&[0, 1, 2]))));
    assert_eq!(three.quorum_power(), 3);

    let four = set_of(&[1, 1, 1, 1]);
    assert!(!four.is_supermajority(four.power_of(&ids(&[0, 1]))));
    assert!(four.is_supermajority(four.power_of(&ids(&[0, 1, 2]))), "3 of 4 is a supermajority");
    assert_eq!(four.quorum_power(), 3);

    let six = set_of(&[1; 6]);
    assert!(!six.is_supermajority(4), "4 of 6 is exactly 2/3");
    assert!(six.is_supermajority(5));
    assert_eq!(six.quorum_power(), 5);
}

#[test]
fn supermajority_with_unequal_power_weighs_power_not_heads() {
    let set = set_of(&[10, 1, 1, 1]);
    assert_eq!(set.total_power(), 13);
    assert!(set.is_supermajority(set.power_of(&ids(&[0]))), "10 of 13 is more than 2/3 on its own");
    assert!(!set.is_supermajority(set.power_of(&ids(&[1, 2, 3]))), "three of four heads hold only 3 of 13");
    assert_eq!(set.quorum_power(), 9);
    assert!(set.is_one_third_plus(set.power_of(&ids(&[0]))));
    assert!(!set.is_one_third_plus(set.power_of(&ids(&[1, 2, 3]))), "3 of 13 is less than 1/3");
}

#[test]
fn thresholds_at_u64_max_total_are_exact_and_do_not_overflow() {
    let third = u64::MAX / 3; // u64::MAX is divisible by 3
    let set = set_of(&[third, third, third]);
    assert_eq!(set.total_power(), u64::MAX);
    let two_of_three = set.power_of(&ids(&[0, 1]));
    assert_eq!(two_of_three, 2 * third);
    assert!(!set.is_supermajority(two_of_three), "exactly 2/3 of u64::MAX is not more than 2/3");
    assert!(set.is_supermajority(two_of_three + 1));
    assert!(set.is_supermajority(u64::MAX));
    assert_eq!(set.quorum_power(), 2 * third + 1);
    assert!(!set.is_one_third_plus(third));
    assert!(set.is_one_third_plus(third + 1));
    assert_thresholds_are_exact(&set);

    let whale = set_of(&[u64::MAX]);
    assert_eq!(whale.quorum_power(), 2 * third + 1);
    assert_thresholds_are_exact(&whale);
}

#[test]
fn quorum_power_is_the_exact_boundary_for_every_small_total() {
    for total in 1..=40u64 {
        assert_thresholds_are_exact(&set_of(&[total]));
    }
}

proptest! {
    #[test]
    fn quorum_power_is_the_exact_supermajority_boundary(
        powers in prop::collection::vec(prop_oneof![1u64..100, 1u64..=u64::MAX / KEY_COUNT as u64], 1..=KEY_COUNT)
    ) {
        let set = set_of(&powers);
        let total: u128 = powers.iter().map(|&p| u128::from(p)).sum();
        prop_assert_eq!(u128::from(set.total_power()), total);
        assert_thresholds_are_exact(&set);
    }
}

#[test]
fn total_power_beyond_u64_max_is_rejected() {
    let overflowing = ValidatorSet::new([validator(0, u64::MAX), validator(1, 1)]);
    assert_eq!(overflowing, Err(ValidatorSetError::TotalPowerOverflow));
    // Inactive power counts toward the limit too, so reactivating a validator can never overflow.
    let with_inactive = ValidatorSet::new([validator(0, u64::MAX), inactive(1, 1)]);
    assert_eq!(with_inactive, Err(ValidatorSetError::TotalPowerOverflow));
}

// ---- validation ----

#[test]
fn duplicate_validators_are_rejected() {
    let result = ValidatorSet::new([validator(0, 1), validator(1, 1), validator(0, 5)]);
    assert_eq!(result, Err(ValidatorSetError::DuplicateValidator { id: id(0) }));
}

#[test]
fn empty_set_is_rejected() {
    assert_eq!(ValidatorSet::new([]), Err(ValidatorSetError::Empty));
}

#[test]
fn set_without_active_power_is_rejected() {
    let result = ValidatorSet::new([inactive(0, 5), inactive(1, 0)]);
    assert_eq!(result, Err(ValidatorSetError::NoActivePower));
}

#[test]
fn active_validator_with_zero_power_is_rejected_but_inactive_one_is_allowed() {
    let result = ValidatorSet::new([validator(0, 1), validator(1, 0)]);
    assert_eq!(result, Err(ValidatorSetError::ZeroPowerActive { id: id(1) }));
    let set = ValidatorSet::new([validator(0, 1), inactive(1, 0)]).unwrap();
    assert!(set.contains(&id(1)));
}

#[test]
fn error_messages_say_what_to_do() {
    let message = ValidatorSetError::DuplicateValidator { id: id(0) }.to_string();
    assert!(message.contains(&id(0).to_string()) && message.contains("exactly one entry"), "{message}");
    assert!(ValidatorSetError::ZeroPowerActive { id: id(0) }.to_string().contains("mark it Inactive"));
}

// ---- membership and power ----

#[test]
fn inactive_validators_do_not_count_toward_quorums() {
    let set = ValidatorSet::new([validator(0, 1), validator(1, 1), validator(2, 1), inactive(3, 100)]).unwrap();
    assert_eq!(set.total_power(), 3);
    assert_eq!(set.power_of(&ids(&[3])), 0);
    assert_eq!(set.power_of(&ids(&[0, 1, 2, 3])), 3);
    assert!(!set.is_supermajority(set.power_of(&ids(&[0, 1, 3]))), "the inactive whale adds nothing");
    // Still known: its messages verify and it may connect.
    assert!(set.contains(&id(3)));
    assert_eq!(set.public_key(&id(3)), Some(&public_key(3)));
    assert_eq!(set.len(), 4);
}

#[test]
fn power_of_counts_each_id_once_and_ignores_strangers() {
    let set = set_of(&[5, 7]);
    assert_eq!(set.power_of(&ids(&[0, 0, 0])), 5);
    assert_eq!(set.power_of(&ids(&[1, 9, 10])), 7);
    assert_eq!(set.power_of(&[]), 0);
}

#[test]
fn iteration_is_in_id_order_whatever_the_input_order() {
    let forward = set_of(&[1, 2, 3, 4, 5]);
    let backward = ValidatorSet::new((0..5).rev().map(|i| validator(i, i as u64 + 1))).unwrap();
    assert_eq!(forward, backward);
    let listed: Vec<ValidatorId> = backward.ids().collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    assert!(backward.iter().map(ValidatorInfo::id).eq(listed.iter().copied()));
    assert_eq!(backward.get(&id(2)).map(|v| v.voting_power), Some(3));
}

#[test]
fn validator_set_round_trips_through_cbor_and_decoding_revalidates() {
    let set = ValidatorSet::new([
        validator(0, 3).with_addresses(vec!["tcp-noise://127.0.0.1:7000".parse().unwrap()]),
        inactive(1, 0),
    ])
    .unwrap();
    assert_eq!(decode::<ValidatorSet>("validator set", &encode(&set)).unwrap(), set);

    let duplicated = encode(&vec![validator(0, 1), validator(0, 2)]);
    assert!(decode::<ValidatorSet>("validator set", &duplicated).is_err());
}

// ---- changes ----

#[test]
fn apply_adds_a_validator() {
    let before = set_of(&[1, 1, 1]);
    let after = before.apply(&change(5, vec![join(3, 2)])).unwrap();
    assert!(after.contains(&id(3)));
    assert_eq!(after.total_power(), 5);
    assert!(!before.contains(&id(3)), "apply leaves the original set untouched");
}

#[test]
fn apply_removes_a_validator() {
    let after = set_of(&[1, 1, 1]).apply(&change(5, vec![leave(1)])).unwrap();
    assert!(!after.contains(&id(1)));
    assert_eq!(after.total_power(), 2);
}

#[test]
fn apply_updates_power_addresses_and_status() {
    let address = "mem://v0".parse().unwrap();
    let updates = vec![
        ValidatorUpdate::Upsert(validator(0, 9).with_addresses(vec![address])),
        ValidatorUpdate::Upsert(inactive(1, 1)),
    ];
    let after = set_of(&[1, 1, 1]).apply(&change(5, updates)).unwrap();
    assert_eq!(after.get(&id(0)).unwrap().voting_power, 9);
    assert_eq!(after.get(&id(0)).unwrap().addresses.len(), 1);
    assert!(!after.get(&id(1)).unwrap().is_active());
    assert_eq!(after.total_power(), 10);
    assert_eq!(after.len(), 3);
}

#[test]
fn removing_an_unknown_validator_is_an_error() {
    let result = set_of(&[1, 1]).apply(&change(5, vec![leave(7)]));
    assert_eq!(result, Err(ValidatorSetError::UnknownValidator { id: id(7) }));
}

#[test]
fn change_leaving_no_valid_set_is_rejected() {
    let set = set_of(&[1, 1]);
    assert_eq!(set.apply(&change(5, vec![leave(0), leave(1)])), Err(ValidatorSetError::Empty));
    let deactivate_all = vec![ValidatorUpdate::Upsert(inactive(0, 1)), ValidatorUpdate::Upsert(inactive(1, 1))];
    assert_eq!(set.apply(&change(5, deactivate_all)), Err(ValidatorSetError::NoActivePower));
    assert_eq!(set.apply(&change(5, vec![join(2, u64::MAX)])), Err(ValidatorSetError::TotalPowerOverflow));
}

#[test]
fn change_naming_a_validator_twice_is_rejected() {
    let result = set_of(&[1, 1]).apply(&change(5, vec![join(2, 1), leave(2)]));
    assert_eq!(result, Err(ValidatorSetError::ConflictingUpdates { id: id(2) }));
}

// ---- history ----

/// Versions effective at 10 (validators 0-2), 20 (+3), 30 (-0).
fn three_version_history(keep: usize) -> ValidatorSetHistory {
    let mut history = ValidatorSetHistory::new(set_of(&[1, 1, 1]), Height(10), keep);
    history.push(&change(20, vec![join(3, 1)])).unwrap();
    history.push(&change(30, vec![leave(0)])).unwrap();
    history
}

#[test]
fn history_answers_the_version_in_force_at_before_between_and_after_versions() {
    let history = three_version_history(ValidatorSetHistory::DEFAULT_KEEP);
    let versions: Vec<Arc<ValidatorSet>> = history.versions().map(|(_, set)| Arc::clone(set)).collect();
    let in_force = |h| history.at(Height(h));
    assert!(in_force(0).is_none());
    assert!(in_force(9).is_none(), "before the first version nothing is in force");
    for (height, version) in [(10, 0), (15, 0), (19, 0), (20, 1), (29, 1), (30, 2), (31, 2), (u64::MAX, 2)] {
        assert!(Arc::ptr_eq(&in_force(height).unwrap(), &versions[version]), "height {height}");
    }
    assert!(Arc::ptr_eq(&history.latest(), &versions[2]));
    assert_eq!(history.latest_effective_height(), Height(30));
    assert_eq!(history.earliest_effective_height(), Height(10));
}

#[test]
fn history_evicts_versions_beyond_keep_and_old_heights_then_give_none() {
    let history = three_version_history(2);
    assert_eq!(history.len(), 2);
    assert_eq!(history.earliest_effective_height(), Height(20));
    assert!(history.at(Height(15)).is_none(), "the version effective at 10 was evicted");
    assert!(history.at(Height(19)).is_none());
    assert!(history.at(Height(20)).unwrap().contains(&id(3)));
}

#[test]
fn history_with_keep_zero_still_keeps_the_latest_version() {
    let history = three_version_history(0);
    assert_eq!(history.keep(), 1);
    assert_eq!(history.len(), 1);
    assert!(history.at(Height(29)).is_none());
    assert!(!history.at(Height(30)).unwrap().contains(&id(0)));
}

#[test]
fn history_rejects_effective_heights_that_do_not_increase() {
    let mut history = three_version_history(4);
    for height in [30, 25] {
        assert_eq!(
            history.push(&change(height, vec![join(5, 1)])),
            Err(ValidatorSetError::NonIncreasingHeight { effective: Height(height), latest: Height(30) })
        );
    }
    assert_eq!(
        history.push_set(Height(30), set_of(&[1])),
        Err(ValidatorSetError::NonIncreasingHeight { effective: Height(30), latest: Height(30) })
    );
    assert_eq!(history.len(), 3);
    assert!(!history.latest().contains(&id(5)));
}

#[test]
fn history_is_unchanged_by_an_invalid_change() {
    let mut history = three_version_history(4);
    let before = history.latest();
    assert_eq!(history.push(&change(40, vec![leave(0)])), Err(ValidatorSetError::UnknownValidator { id: id(0) }));
    assert_eq!(history.len(), 3);
    assert_eq!(history.latest_effective_height(), Height(30));
    assert!(Arc::ptr_eq(&history.latest(), &before));
}

#[test]
fn history_push_set_replaces_the_whole_set_from_its_height() {
    let mut history = three_version_history(4);
    history.push_set(Height(40), set_of(&[1])).unwrap();
    assert_eq!(history.latest().len(), 1);
    assert_eq!(history.at(Height(39)).unwrap().len(), 3);
}

#[test]
fn departed_validator_stays_in_union_until_its_last_version_is_evicted() {
    let mut history = three_version_history(2);
    // Validator 0 left at 30 but is in the version effective at 20, still kept.
    assert!(history.contains_anywhere(&id(0)));
    assert_eq!(history.union_ids(), ids(&[0, 1, 2, 3]).into_iter().collect());
    history.push(&change(40, vec![join(4, 1)])).unwrap();
    assert!(!history.contains_anywhere(&id(0)));
    assert!(!history.union_ids().contains(&id(0)));
    assert!(history.contains_anywhere(&id(4)));
}

// ---- sources ----

const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn list_source_notifies_a_subscriber_of_a_change() {
    let source = ListValidatorSetSource::new(set_of(&[1, 1, 1]), Height(0), ValidatorSetHistory::DEFAULT_KEEP);
    let mut updates = source.subscribe();
    assert!(!updates.has_changed().unwrap(), "a new subscriber starts with the current set seen");
    source.push(&change(10, vec![join(3, 1)])).unwrap();
    tokio::time::timeout(NOTIFY_TIMEOUT, updates.changed()).await.expect("notified in time").unwrap();
    assert!(updates.borrow_and_update().contains(&id(3)));
    assert!(Arc::ptr_eq(&source.current(), &updates.borrow()));
}

#[tokio::test]
async fn list_source_does_not_notify_on_a_rejected_change() {
    let source = ListValidatorSetSource::new(set_of(&[1, 1, 1]), Height(0), ValidatorSetHistory::DEFAULT_KEEP);
    let updates = source.subscribe();
    assert!(source.push(&change(10, vec![leave(9)])).is_err());
    assert!(source.push(&change(0, vec![join(3, 1)])).is_err());
    assert!(!updates.has_changed().unwrap());
    assert_eq!(source.latest_effective_height(), Height(0));
}

#[tokio::test]
async fn slow_subscriber_sees_the_newest_set_after_several_changes() {
    let source = ListValidatorSetSource::new(set_of(&[1, 1, 1]), Height(0), ValidatorSetHistory::DEFAULT_KEEP);
    let mut updates = source.subscribe();
    source.push(&change(10, vec![join(3, 1)])).unwrap();
    source.push_set(Height(20), set_of(&[1, 1])).unwrap();
    tokio::time::timeout(NOTIFY_TIMEOUT, updates.changed()).await.expect("notified in time").unwrap();
    assert_eq!(updates.borrow_and_update().len(), 2);
    assert!(!updates.has_changed().unwrap());
}

#[test]
fn list_source_answers_at_height_before_and_after_a_change() {
    let source = ListValidatorSetSource::new(set_of(&[1, 1, 1]), Height(5), ValidatorSetHistory::DEFAULT_KEEP);
    source.push(&change(10, vec![join(3, 1)])).unwrap();
    assert!(source.at_height(Height(4)).is_none());
    assert!(!source.at_height(Height(9)).unwrap().contains(&id(3)));
    assert!(source.at_height(Height(10)).unwrap().contains(&id(3)));
    assert!(source.current().contains(&id(3)));
    assert_eq!(source.history().len(), 2);
}

#[test]
fn validator_that_left_is_found_in_the_set_in_force_at_an_older_height() {
    let source = ListValidatorSetSource::new(set_of(&[1, 1, 1, 1]), Height(0), ValidatorSetHistory::DEFAULT_KEEP);
    source.push(&change(100, vec![leave(2)])).unwrap();
    assert!(!source.current().contains(&id(2)));
    let then = source.at_height(Height(99)).unwrap();
    assert_eq!(then.public_key(&id(2)), Some(&public_key(2)), "its old votes still verify");
    assert!(!source.at_height(Height(100)).unwrap().contains(&id(2)));
}

#[test]
fn static_source_answers_its_one_set_for_every_height() {
    let source = StaticValidatorSetSource::new(set_of(&[1, 2]));
    for height in [0, 1, u64::MAX] {
        assert!(Arc::ptr_eq(&source.at_height(Height(height)).unwrap(), &source.current()));
    }
    let updates = source.subscribe();
    assert!(!updates.has_changed().unwrap(), "the subscription is live but never changes");
    assert_eq!(updates.borrow().total_power(), 3);
}

#[test]
fn sources_are_usable_as_trait_objects() {
    let sources: Vec<Arc<dyn ValidatorSetSource>> = vec![
        Arc::new(StaticValidatorSetSource::new(set_of(&[1]))),
        Arc::new(ListValidatorSetSource::new(set_of(&[1]), Height(0), 1)),
    ];
    for source in sources {
        assert_eq!(source.current().total_power(), 1);
    }
}
