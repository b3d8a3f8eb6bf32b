//! The address book: newest record per validator by version, the validator set as the fallback.

use quorumnet_core::identity::{Keypair, ValidatorId};
use quorumnet_core::message::AddressRecord;
use quorumnet_core::node::gossip::{AddressBook, RecordUpdate};
use quorumnet_core::transport::PeerAddress;
use quorumnet_core::validator::{ValidatorInfo, ValidatorSet};

fn key(seed: u8) -> Keypair {
    Keypair::from_seed(&[seed; 32])
}

fn address(text: &str) -> PeerAddress {
    text.parse().unwrap()
}

fn set(seeds: &[u8]) -> ValidatorSet {
    ValidatorSet::new(seeds.iter().map(|s| {
        ValidatorInfo::new(key(*s).public_key().clone(), 1).with_addresses(vec![address(&format!("mem://listed{s}"))])
    }))
    .unwrap()
}

fn record(seed: u8, version: u64, text: &str) -> AddressRecord {
    AddressRecord::new(key(seed).validator_id(), version, vec![address(text)]).unwrap()
}

fn addresses(book: &AddressBook, seed: u8) -> Vec<&str> {
    book.addresses_of(&key(seed).validator_id()).iter().map(PeerAddress::as_str).collect()
}

#[test]
fn without_a_record_the_validator_sets_addresses_are_used() {
    let book = AddressBook::new(&set(&[1, 2]));
    assert_eq!(addresses(&book, 1), ["mem://listed1"]);
    assert_eq!(book.version_of(&key(1).validator_id()), None);
    assert!(book.addresses_of(&ValidatorId([9; 32])).is_empty(), "not a validator");
}

#[test]
fn a_newer_version_replaces_the_record() {
    let mut book = AddressBook::new(&set(&[1]));
    assert_eq!(book.apply(record(1, 10, "mem://a")), RecordUpdate::Inserted);
    assert_eq!(addresses(&book, 1), ["mem://a"]);
    assert_eq!(book.apply(record(1, 11, "mem://b")), RecordUpdate::Replaced { previous: 10 });
    assert_eq!(addresses(&book, 1), ["mem://b"]);
    assert_eq!(book.version_of(&key(1).validator_id()), Some(11));
}

#[test]
fn older_and_equal_versions_are_ignored_whatever_the_arrival_order() {
    let mut book = AddressBook::new(&set(&[1]));
    book.apply(record(1, 20, "mem://newest"));
    assert_eq!(book.apply(record(1, 19, "mem://old")), RecordUpdate::Stale { current: 20 });
    assert_eq!(book.apply(record(1, 20, "mem://same-version")), RecordUpdate::Stale { current: 20 });
    assert_eq!(addresses(&book, 1), ["mem://newest"]);
}

#[test]
fn records_are_kept_per_validator() {
    let mut book = AddressBook::new(&set(&[1, 2]));
    book.apply(record(1, 5, "mem://one"));
    assert_eq!(addresses(&book, 1), ["mem://one"]);
    assert_eq!(addresses(&book, 2), ["mem://listed2"]);
    assert_eq!(book.apply(record(2, 1, "mem://two")), RecordUpdate::Inserted, "versions are per validator");
}

#[test]
fn an_empty_record_means_no_inbound_addresses_not_the_fallback() {
    let mut book = AddressBook::new(&set(&[1]));
    book.apply(AddressRecord::new(key(1).validator_id(), 1, vec![]).unwrap());
    assert!(book.addresses_of(&key(1).validator_id()).is_empty());
}

#[test]
fn records_of_validators_outside_the_set_are_refused_and_dropped_when_they_leave() {
    let mut book = AddressBook::new(&set(&[1, 2]));
    assert_eq!(book.apply(record(3, 1, "mem://outsider")), RecordUpdate::UnknownValidator);
    book.apply(record(2, 1, "mem://two"));
    book.set_validators(&set(&[1]));
    assert!(book.record_of(&key(2).validator_id()).is_none());
    assert!(book.addresses_of(&key(2).validator_id()).is_empty());
    // Rejoining brings the listed addresses back, not the dropped record.
    book.set_validators(&set(&[1, 2]));
    assert_eq!(addresses(&book, 2), ["mem://listed2"]);
}

#[test]
fn a_new_validator_set_keeps_the_records_of_validators_that_stay() {
    let mut book = AddressBook::new(&set(&[1]));
    book.apply(record(1, 7, "mem://moved"));
    book.set_validators(&set(&[1, 2]));
    assert_eq!(addresses(&book, 1), ["mem://moved"]);
    assert_eq!(addresses(&book, 2), ["mem://listed2"]);
}
