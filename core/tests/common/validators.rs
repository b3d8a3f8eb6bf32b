//! Validator sets built from seeded keys, with chosen voting powers.

use std::sync::Arc;

use quorumnet_core::identity::{Keypair, ValidatorId};
use quorumnet_core::validator::{ValidatorInfo, ValidatorSet};

/// A set whose `i`-th validator has key seed `[i + 1; 32]` and power `powers[i]`, with the keys in the
/// same order as `powers` (not the set's id order).
pub fn set_with_powers(powers: &[u64]) -> (Vec<Keypair>, Arc<ValidatorSet>) {
    let keys: Vec<Keypair> = (0..powers.len()).map(|i| Keypair::from_seed(&[i as u8 + 1; 32])).collect();
    let infos = keys.iter().zip(powers).map(|(key, power)| ValidatorInfo::new(key.public_key().clone(), *power));
    let set = Arc::new(ValidatorSet::new(infos).unwrap());
    (keys, set)
}

/// The ids of `keys`, in the same order.
pub fn ids(keys: &[Keypair]) -> Vec<ValidatorId> {
    keys.iter().map(Keypair::validator_id).collect()
}
