//! Where each validator can be reached: its latest signed address record, or the validator set's entry.

use std::collections::BTreeMap;

use crate::identity::ValidatorId;
use crate::message::AddressRecord;
use crate::transport::PeerAddress;
use crate::validator::ValidatorSet;

/// What [`AddressBook::apply`] did with a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordUpdate {
    /// The validator's first record: its addresses now come from it.
    Inserted,
    /// A newer record replaced the one of version `previous`.
    Replaced {
        /// The version it replaced.
        previous: u64,
    },
    /// Ignored: the book holds a record of version `current`, equal or newer. Normal with gossip,
    /// which delivers records in any order.
    Stale {
        /// The version the book keeps.
        current: u64,
    },
    /// Ignored: the record's validator is not in the current validator set.
    UnknownValidator,
}

/// The addresses of the current validators: each one's newest verified [`AddressRecord`], falling back
/// to the addresses the validator set lists.
///
/// Records are ordered by `version` alone: a higher version replaces a lower one, an equal or lower
/// version is ignored, whatever order they arrive in. Apply only records whose envelope verified under
/// the record's validator's key (the envelope's origin is the record's `validator`). Bounded by the
/// validator set: records of validators outside it are refused, and dropped when a validator leaves.
///
/// ```
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::message::AddressRecord;
/// use quorumnet_core::node::gossip::{AddressBook, RecordUpdate};
/// use quorumnet_core::validator::{ValidatorInfo, ValidatorSet};
///
/// let key = Keypair::from_seed(&[6; 32]);
/// let id = key.validator_id();
/// let listed = "tcp-noise://192.0.2.1:7000".parse().unwrap();
/// let set = ValidatorSet::new([ValidatorInfo::new(key.public_key().clone(), 1).with_addresses(vec![listed])]).unwrap();
/// let mut book = AddressBook::new(&set);
/// assert_eq!(book.addresses_of(&id)[0].as_str(), "tcp-noise://192.0.2.1:7000");
///
/// let moved = AddressRecord::new(id, 20, vec!["quic://192.0.2.9:7000".parse().unwrap()]).unwrap();
/// assert_eq!(book.apply(moved), RecordUpdate::Inserted);
/// let older = AddressRecord::new(id, 10, vec![]).unwrap();
/// assert_eq!(book.apply(older), RecordUpdate::Stale { current: 20 });
/// assert_eq!(book.addresses_of(&id)[0].as_str(), "quic://192.0.2.9:7000");
/// ```
#[derive(Clone, Debug, Default)]
pub struct AddressBook {
    /// The validator set's addresses, for validators without a record.
    listed: BTreeMap<ValidatorId, Vec<PeerAddress>>,
    records: BTreeMap<ValidatorId, AddressRecord>,
}

impl AddressBook {
    /// A book of `set`'s validators, with the addresses it lists and no records yet.
    pub fn new(set: &ValidatorSet) -> Self {
        let mut book = AddressBook::default();
        book.set_validators(set);
        book
    }

    /// Switches to a new validator set: its listed addresses become the fallback, and the records of
    /// validators no longer in it are dropped.
    pub fn set_validators(&mut self, set: &ValidatorSet) {
        self.listed = set.iter().map(|info| (info.id(), info.addresses.clone())).collect();
        let listed = &self.listed;
        self.records.retain(|id, _| listed.contains_key(id));
    }

    /// Keeps `record` if it is the newest of a current validator; see [`RecordUpdate`].
    pub fn apply(&mut self, record: AddressRecord) -> RecordUpdate {
        if !self.listed.contains_key(&record.validator) {
            return RecordUpdate::UnknownValidator;
        }
        match self.records.get(&record.validator).map(|kept| kept.version) {
            Some(current) if current >= record.version => RecordUpdate::Stale { current },
            previous => {
                self.records.insert(record.validator, record);
                previous.map_or(RecordUpdate::Inserted, |previous| RecordUpdate::Replaced { previous })
            }
        }
    }

    /// Where `id` can be reached: its newest record's addresses if the book has one (possibly empty: a
    /// validator may announce that it takes no inbound connections), else the validator set's; empty
    /// for a validator outside the set.
    pub fn addresses_of(&self, id: &ValidatorId) -> &[PeerAddress] {
        match self.records.get(id) {
            Some(record) => &record.addresses,
            None => self.listed.get(id).map_or(&[], Vec::as_slice),
        }
    }

    /// The newest record kept for `id`.
    pub fn record_of(&self, id: &ValidatorId) -> Option<&AddressRecord> {
        self.records.get(id)
    }

    /// The version of the newest record kept for `id`.
    pub fn version_of(&self, id: &ValidatorId) -> Option<u64> {
        self.record_of(id).map(|record| record.version)
    }
}
