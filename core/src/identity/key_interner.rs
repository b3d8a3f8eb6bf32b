//! One [`KeyMaterial`] per distinct public key alive in the process, whoever decoded it.
//!
//! Why: a key is decoded in many places — the validator set, every handshake's identity proof,
//! every peer record — and each decoded copy used to prepare itself for verification on its first
//! verify (≈ 37 KiB and an ExpandA each). A 100-validator simulation held 9 900 prepared copies of
//! 100 keys (≈ 360 MB, most of its RSS) and spent 6 % of a short run preparing them; a production
//! node re-prepared a peer's key on every reconnect. Interned, the copies share one preparation.
//!
//! Bounded: the table holds weak references only, so a key lives as long as something uses it;
//! entries of dropped keys are swept whenever the table has doubled since the last sweep, so it
//! never holds more than about twice the live keys (a peer offering a fresh key per handshake costs
//! one entry until the next sweep, never a prepared key).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use super::mldsa65_prepared::PreparedKey;
use super::ValidatorId;

/// A public key's encoding and what verification derives from it, shared by all its copies.
pub(super) struct KeyMaterial {
    pub(super) encoded: Box<[u8]>,
    /// `None` inside: this key's algorithm or this machine has no prepared form.
    pub(super) prepared: OnceLock<Option<Box<PreparedKey>>>,
}

/// The table's size below which it is never swept: sweeping a handful of entries saves nothing.
const SWEEP_FLOOR: usize = 64;

struct Table {
    keys: HashMap<ValidatorId, Weak<KeyMaterial>>,
    /// Entries after the last sweep; the next sweep runs once the table has twice as many.
    live_after_sweep: usize,
}

static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();

/// The shared material of the key encoded as `encoded`, whose id is `id`: the one already alive if
/// any copy of this key is, else a new one.
pub(super) fn intern(id: ValidatorId, encoded: &[u8]) -> Arc<KeyMaterial> {
    let table = TABLE.get_or_init(|| Mutex::new(Table { keys: HashMap::new(), live_after_sweep: 0 }));
    // The table is consistent after every statement, so a panic elsewhere leaves it usable.
    let mut table = table.lock().unwrap_or_else(PoisonError::into_inner);
    // The id is the BLAKE3 hash of the encoding; comparing the bytes as well costs nothing next to
    // decoding and means a collision could never hand out another key's preparation.
    if let Some(alive) = table.keys.get(&id).and_then(Weak::upgrade).filter(|m| *m.encoded == *encoded) {
        return alive;
    }
    let material = Arc::new(KeyMaterial { encoded: encoded.into(), prepared: OnceLock::new() });
    table.keys.insert(id, Arc::downgrade(&material));
    if table.keys.len() >= SWEEP_FLOOR.max(2 * table.live_after_sweep) {
        table.keys.retain(|_, key| key.strong_count() > 0);
        table.live_after_sweep = table.keys.len();
    }
    material
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoding(seed: u8) -> Vec<u8> {
        vec![seed; 40]
    }

    #[test]
    fn copies_of_one_key_share_their_material_and_others_do_not() {
        let (a, b) = (encoding(1), encoding(2));
        let (id_a, id_b) = (ValidatorId([201; 32]), ValidatorId([202; 32]));
        let first = intern(id_a, &a);
        assert!(Arc::ptr_eq(&first, &intern(id_a, &a)));
        assert!(!Arc::ptr_eq(&first, &intern(id_b, &b)));
        // Same id, other bytes (a forged collision): never the other key's material.
        let other = intern(id_a, &b);
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(*other.encoded, *b);
    }

    #[test]
    fn dropped_keys_are_swept_so_the_table_stays_bounded() {
        for i in 0..10_000u32 {
            let mut id = [0u8; 32];
            id[..4].copy_from_slice(&i.to_le_bytes());
            id[4] = 0xee;
            drop(intern(ValidatorId(id), &encoding(3)));
        }
        let table = TABLE.get().unwrap().lock().unwrap();
        // Other tests may hold a few keys alive at once; 10 000 dropped ones must be gone.
        assert!(table.keys.len() < 2 * SWEEP_FLOOR + 64, "{} entries", table.keys.len());
    }
}
