//! A heartbeat's `hears`: which validators its sender hears, as a bitmap over a validator set.

use serde::{Deserialize, Serialize};

use crate::identity::ValidatorId;
use crate::validator::ValidatorSet;

/// The validators a heartbeat's sender hears, one bit per member of the validator set in force at
/// the heartbeat's height (WIRE.md §4, `docs/wire.md`).
///
/// Bit `i` — bit `i % 8` of byte `i / 8`, least significant first — stands for the `i`-th validator
/// of that set in ascending [`ValidatorId`] order. The bitmap has exactly `⌈n / 8⌉` bytes for a set of
/// `n` and the unused high bits of its last byte are zero. At 100 validators that is 13 bytes, where a
/// list of ids was 3 200: what keeps heartbeat bytes from growing with N².
///
/// Only the set gives the bits meaning, so a receiver reads them against the set in force at the
/// heartbeat's height, which may differ from its own current one; bits it cannot read (it knows no
/// set at that height, or the length does not fit the set) tell it nothing about whom the sender
/// hears, while the heartbeat itself still shows the sender alive.
///
/// ```
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::message::HearsBitmap;
/// use quorumnet_core::validator::{ValidatorInfo, ValidatorSet};
///
/// let keys: Vec<Keypair> = (1..=3u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
/// let set = ValidatorSet::new(keys.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 1))).unwrap();
/// let ids: Vec<_> = set.ids().collect();
/// let hears = HearsBitmap::of(&set, |id| *id != ids[1]);
/// assert_eq!(hears.as_bytes(), &[0b101]);
/// assert_eq!(hears.decode(&set).unwrap(), vec![ids[0], ids[2]]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HearsBitmap(#[serde(with = "crate::codec::bytes::bstr")] Vec<u8>);

/// Why a [`HearsBitmap`] does not fit a validator set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HearsError {
    /// The bitmap is not `⌈n / 8⌉` bytes long for the set's `n` validators: it was made against
    /// another set.
    #[error("a hears bitmap of {got} bytes for a set of {validators} validators (expected {expected} bytes)")]
    Length {
        /// Bytes the set needs.
        expected: usize,
        /// Bytes the bitmap has.
        got: usize,
        /// The set's size.
        validators: usize,
    },
    /// A bit beyond the set's last validator is set.
    #[error("a hears bitmap sets bits beyond the set's {validators} validators")]
    Padding {
        /// The set's size.
        validators: usize,
    },
}

impl HearsBitmap {
    /// The bitmap of the members of `set` for which `hears` holds.
    pub fn of(set: &ValidatorSet, mut hears: impl FnMut(&ValidatorId) -> bool) -> Self {
        let mut bytes = vec![0u8; set.len().div_ceil(8)];
        for (i, id) in set.ids().enumerate() {
            if hears(&id) {
                bytes[i / 8] |= 1 << (i % 8);
            }
        }
        HearsBitmap(bytes)
    }

    /// A bitmap of these bytes, as received; [`decode`](Self::decode) checks them against a set.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        HearsBitmap(bytes)
    }

    /// The bytes that travel.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The validators of `set` whose bits are set, in ascending id order.
    ///
    /// # Errors
    /// [`HearsError::Length`] or [`HearsError::Padding`]: the bitmap was not made against `set`.
    pub fn decode(&self, set: &ValidatorSet) -> Result<Vec<ValidatorId>, HearsError> {
        self.fits(set)?;
        Ok(set.ids().enumerate().filter(|(i, _)| self.contains_index(*i)).map(|(_, id)| id).collect())
    }

    /// Checks that the bitmap was made against a set of `set`'s size, without decoding it.
    ///
    /// # Errors
    /// As [`decode`](Self::decode).
    pub fn fits(&self, set: &ValidatorSet) -> Result<(), HearsError> {
        let validators = set.len();
        let expected = validators.div_ceil(8);
        if self.0.len() != expected {
            return Err(HearsError::Length { expected, got: self.0.len(), validators });
        }
        let used_in_last = validators % 8;
        if used_in_last != 0 && self.0[expected - 1] >> used_in_last != 0 {
            return Err(HearsError::Padding { validators });
        }
        Ok(())
    }

    /// Whether the bit of the `index`-th validator of the set is set (`false` beyond the bitmap).
    pub fn contains_index(&self, index: usize) -> bool {
        self.0.get(index / 8).is_some_and(|byte| byte & (1 << (index % 8)) != 0)
    }
}
