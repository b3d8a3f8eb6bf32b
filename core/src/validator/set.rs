use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{ValidatorInfo, ValidatorSetChange, ValidatorSetError, ValidatorUpdate};
use crate::identity::{PublicKey, ValidatorId};

/// One version of the validator set: who may vote, with what power, and the quorum arithmetic over it.
///
/// Validators are kept ordered by id, so iteration — and everything a simulation derives from it — is
/// the same on every node and every run.
///
/// # Invariants (checked on construction, by [`ValidatorSet::new`], [`ValidatorSet::apply`] and
/// deserialization alike)
/// - no two entries share an id (a public key);
/// - at least one validator is [`Active`](super::ValidatorStatus::Active), and every active validator has
///   non-zero voting power (zero power is allowed only for inactive validators, where it is harmless);
/// - the voting power of *all* entries, active or not, sums to at most `u64::MAX`, so no sum over any
///   subset of the set can overflow.
///
/// Thresholds are computed in `u128`, so they are exact even when the total is `u64::MAX`.
///
/// ```
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::validator::{ValidatorInfo, ValidatorSet};
///
/// let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
/// let set = ValidatorSet::new(keys.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 1))).unwrap();
/// assert_eq!(set.total_power(), 4);
/// assert_eq!(set.quorum_power(), 3);
///
/// // Three distinct voters out of four equal ones are a supermajority; a repeated vote counts once.
/// let voters = [keys[0].validator_id(), keys[1].validator_id(), keys[1].validator_id()];
/// assert!(!set.is_supermajority(set.power_of(&voters)));
/// let voters = [keys[0].validator_id(), keys[1].validator_id(), keys[2].validator_id()];
/// assert!(set.is_supermajority(set.power_of(&voters)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<ValidatorInfo>", into = "Vec<ValidatorInfo>")]
pub struct ValidatorSet {
    validators: BTreeMap<ValidatorId, ValidatorInfo>,
    /// Sum of active power, cached because every quorum check needs it.
    total_power: u64,
}

impl ValidatorSet {
    /// Builds a set from its validators, in any order.
    ///
    /// # Errors
    /// [`ValidatorSetError::Empty`], [`ValidatorSetError::DuplicateValidator`],
    /// [`ValidatorSetError::ZeroPowerActive`], [`ValidatorSetError::NoActivePower`] or
    /// [`ValidatorSetError::TotalPowerOverflow`].
    pub fn new(validators: impl IntoIterator<Item = ValidatorInfo>) -> Result<Self, ValidatorSetError> {
        let mut map = BTreeMap::new();
        for info in validators {
            let id = info.id();
            if map.insert(id, info).is_some() {
                return Err(ValidatorSetError::DuplicateValidator { id });
            }
        }
        Self::from_map(map)
    }

    /// Checks every invariant but uniqueness, which the map already guarantees.
    fn from_map(validators: BTreeMap<ValidatorId, ValidatorInfo>) -> Result<Self, ValidatorSetError> {
        if validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        if let Some(info) = validators.values().find(|v| v.is_active() && v.voting_power == 0) {
            return Err(ValidatorSetError::ZeroPowerActive { id: info.id() });
        }
        validators
            .values()
            .try_fold(0u64, |sum, v| sum.checked_add(v.voting_power))
            .ok_or(ValidatorSetError::TotalPowerOverflow)?;
        // Cannot overflow: bounded by the sum over all entries, just checked.
        let total_power = validators.values().map(ValidatorInfo::counted_power).sum();
        if total_power == 0 {
            return Err(ValidatorSetError::NoActivePower);
        }
        Ok(ValidatorSet { validators, total_power })
    }

    /// The next version of this set: `change`'s updates applied, `self` untouched.
    ///
    /// An [`Upsert`](ValidatorUpdate::Upsert) adds a validator or replaces its entry (power, addresses,
    /// status); a [`Remove`](ValidatorUpdate::Remove) drops it. The change's effective height is the
    /// business of [`ValidatorSetHistory`](super::ValidatorSetHistory), not of the set.
    ///
    /// # Errors
    /// [`ValidatorSetError::ConflictingUpdates`] when the change names one validator twice,
    /// [`ValidatorSetError::UnknownValidator`] when it removes a validator not in `self`, and any error of
    /// [`ValidatorSet::new`] when the result would not be a valid set (e.g. it removes everyone).
    pub fn apply(&self, change: &ValidatorSetChange) -> Result<ValidatorSet, ValidatorSetError> {
        let mut named = BTreeSet::new();
        if let Some(id) = change.updates.iter().map(ValidatorUpdate::id).find(|id| !named.insert(*id)) {
            return Err(ValidatorSetError::ConflictingUpdates { id });
        }
        let mut validators = self.validators.clone();
        for update in &change.updates {
            match update {
                ValidatorUpdate::Upsert(info) => {
                    validators.insert(info.id(), info.clone());
                }
                ValidatorUpdate::Remove(id) => {
                    validators.remove(id).ok_or(ValidatorSetError::UnknownValidator { id: *id })?;
                }
            }
        }
        Self::from_map(validators)
    }

    /// The summed voting power of the active validators: the denominator of every threshold.
    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    /// The voting power behind `ids`, counting each id once and ignoring ids that are not in the set or
    /// are inactive — so a vote list padded with repeats or strangers cannot inflate a quorum.
    pub fn power_of<'a>(&self, ids: impl IntoIterator<Item = &'a ValidatorId>) -> u64 {
        let distinct: BTreeSet<&ValidatorId> = ids.into_iter().collect();
        // Cannot overflow: a sum over distinct members is at most the total, which fits in u64.
        self.power_of_distinct(distinct.into_iter())
    }

    /// [`power_of`](Self::power_of) for ids already distinct by their type: without copying them
    /// into a tree first, which liveness settling did for a thousand ids several times a second.
    ///
    /// ```
    /// # use std::collections::BTreeSet;
    /// # use quorumnet_core::identity::Keypair;
    /// # use quorumnet_core::validator::{ValidatorInfo, ValidatorSet};
    /// let keys: Vec<Keypair> = (1..=3u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
    /// let set = ValidatorSet::new(keys.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 5))).unwrap();
    /// let two: BTreeSet<_> = keys[..2].iter().map(Keypair::validator_id).collect();
    /// assert_eq!(set.power_of_set(&two), set.power_of(&two));
    /// assert_eq!(set.power_of_set(&two), 10);
    /// ```
    pub fn power_of_set(&self, ids: &BTreeSet<ValidatorId>) -> u64 {
        self.power_of_distinct(ids.iter())
    }

    /// The voting power `id` counts with: 0 if it is not in the set or inactive. A vote book asks
    /// this per vote.
    ///
    /// ```
    /// # use quorumnet_core::identity::Keypair;
    /// # use quorumnet_core::validator::{ValidatorInfo, ValidatorSet};
    /// let key = Keypair::from_seed(&[1; 32]);
    /// let set = ValidatorSet::new([ValidatorInfo::new(key.public_key().clone(), 5)]).unwrap();
    /// assert_eq!(set.power_of_one(&key.validator_id()), set.power_of([&key.validator_id()]));
    /// assert_eq!(set.power_of_one(&Keypair::from_seed(&[2; 32]).validator_id()), 0);
    /// ```
    pub fn power_of_one(&self, id: &ValidatorId) -> u64 {
        self.validators.get(id).map_or(0, ValidatorInfo::counted_power)
    }

    fn power_of_distinct<'a>(&self, distinct: impl Iterator<Item = &'a ValidatorId>) -> u64 {
        // Cannot overflow: a sum over distinct members is at most the total, which fits in u64.
        distinct.filter_map(|id| self.validators.get(id)).map(ValidatorInfo::counted_power).sum()
    }

    /// Whether `power` is strictly more than two thirds of [`total_power`](Self::total_power): the
    /// quorum for prevotes, precommits and commits.
    pub fn is_supermajority(&self, power: u64) -> bool {
        exceeds_fraction(power, self.total_power, TWO_THIRDS)
    }

    /// The smallest power that [`is_supermajority`](Self::is_supermajority): `⌊2·total/3⌋ + 1`.
    pub fn quorum_power(&self) -> u64 {
        smallest_exceeding(self.total_power, TWO_THIRDS)
    }

    /// Whether `power` is strictly more than one third of [`total_power`](Self::total_power): enough
    /// that at least one honest validator is among it (under the usual < 1/3 byzantine assumption), so
    /// "more than 1/3 timed out" signals a stall rather than a few faulty peers.
    pub fn is_one_third_plus(&self, power: u64) -> bool {
        exceeds_fraction(power, self.total_power, ONE_THIRD)
    }

    /// The smallest power that [`is_one_third_plus`](Self::is_one_third_plus): `⌊total/3⌋ + 1`.
    pub fn one_third_plus_power(&self) -> u64 {
        smallest_exceeding(self.total_power, ONE_THIRD)
    }

    /// The entry for `id`, active or not.
    pub fn get(&self, id: &ValidatorId) -> Option<&ValidatorInfo> {
        self.validators.get(id)
    }

    /// Whether `id` is in the set, active or not: inactive validators are still known, and may connect.
    pub fn contains(&self, id: &ValidatorId) -> bool {
        self.validators.contains_key(id)
    }

    /// The key `id`'s messages are verified with.
    pub fn public_key(&self, id: &ValidatorId) -> Option<&PublicKey> {
        self.get(id).map(|info| &info.public_key)
    }

    /// All validators, active or not, in ascending id order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &ValidatorInfo> + '_ {
        self.validators.values()
    }

    /// All ids, active or not, in ascending order.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = ValidatorId> + '_ {
        self.validators.keys().copied()
    }

    /// How many validators the set lists, active or not.
    #[allow(clippy::len_without_is_empty, reason = "a valid set is never empty")]
    pub fn len(&self) -> usize {
        self.validators.len()
    }
}

/// A fraction `numerator / denominator` of the total power.
type Fraction = (u128, u128);
const TWO_THIRDS: Fraction = (2, 3);
const ONE_THIRD: Fraction = (1, 3);

/// `power > total · n/d`, exactly: both sides are scaled by `d` in u128, where `u64::MAX · 3` fits.
fn exceeds_fraction(power: u64, total: u64, (n, d): Fraction) -> bool {
    u128::from(power) * d > u128::from(total) * n
}

/// The least `p` with `p > total · n/d`, i.e. `⌊total · n/d⌋ + 1`. For `n/d < 1` and `total ≥ 1` this
/// is at most `total`, so it fits in u64.
fn smallest_exceeding(total: u64, (n, d): Fraction) -> u64 {
    let p = u128::from(total) * n / d + 1;
    u64::try_from(p).expect("⌊total·n/d⌋ + 1 ≤ total for n/d < 1 and total ≥ 1")
}

impl TryFrom<Vec<ValidatorInfo>> for ValidatorSet {
    type Error = ValidatorSetError;

    fn try_from(validators: Vec<ValidatorInfo>) -> Result<Self, Self::Error> {
        ValidatorSet::new(validators)
    }
}

impl From<ValidatorSet> for Vec<ValidatorInfo> {
    fn from(set: ValidatorSet) -> Self {
        set.validators.into_values().collect()
    }
}

impl<'a> IntoIterator for &'a ValidatorSet {
    type Item = &'a ValidatorInfo;
    type IntoIter = std::collections::btree_map::Values<'a, ValidatorId, ValidatorInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.validators.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed form `⌊total·n/d⌋ + 1` against a brute-force search for the least exceeding power.
    #[test]
    fn smallest_exceeding_matches_brute_force_for_small_totals() {
        for fraction in [TWO_THIRDS, ONE_THIRD] {
            for total in 1..=60u64 {
                let brute = (0..=total).find(|&p| exceeds_fraction(p, total, fraction)).unwrap();
                assert_eq!(smallest_exceeding(total, fraction), brute, "total {total}, fraction {fraction:?}");
            }
        }
    }

    #[test]
    fn smallest_exceeding_fits_at_u64_max_total() {
        let third = u64::MAX / 3;
        assert_eq!(u128::from(third) * 3, u128::from(u64::MAX), "u64::MAX is divisible by 3");
        assert_eq!(smallest_exceeding(u64::MAX, TWO_THIRDS), 2 * third + 1);
        assert_eq!(smallest_exceeding(u64::MAX, ONE_THIRD), third + 1);
        assert!(exceeds_fraction(u64::MAX, u64::MAX, TWO_THIRDS));
    }
}
