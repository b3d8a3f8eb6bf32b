//! A CBOR array read with a hard bound on how many items are kept, so a peer cannot make a decoder
//! hold more items than the wire allows (docs/wire.md: `Have`/`Want` ids, address-record addresses).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::CodecError;

/// The items of a CBOR array, at most `MAX` of them kept, and how many the array held in total.
///
/// Items past `MAX` are skipped without being decoded or stored, then [`BoundedSeq::into_vec`] turns
/// the overflow into [`CodecError::TooManyItems`] with the exact count, outside serde, so the caller
/// gets a typed error rather than a [`CodecError::Schema`] string.
pub(crate) struct BoundedSeq<T, const MAX: usize> {
    items: Vec<T>,
    total: usize,
}

impl<T, const MAX: usize> BoundedSeq<T, MAX> {
    /// The items, or [`CodecError::TooManyItems`] naming `what` if the array held more than `MAX`.
    pub(crate) fn into_vec(self, what: &'static str) -> Result<Vec<T>, CodecError> {
        if self.total > MAX {
            return Err(CodecError::TooManyItems { what, count: self.total, limit: MAX });
        }
        Ok(self.items)
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for BoundedSeq<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoundedVisitor<T, const MAX: usize>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for BoundedVisitor<T, MAX> {
            type Value = BoundedSeq<T, MAX>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a CBOR array of at most {MAX} items")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // The announced length is the peer's claim: never reserve more than MAX for it.
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX));
                let mut total = 0usize;
                while total < MAX {
                    match seq.next_element::<T>()? {
                        Some(item) => items.push(item),
                        None => return Ok(BoundedSeq { items, total }),
                    }
                    total += 1;
                }
                // Over the bound: read the rest without keeping it, so the count in the error is exact and
                // the decoder stays aligned on the CBOR that follows the array.
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    total = total.saturating_add(1);
                }
                Ok(BoundedSeq { items, total })
            }
        }

        deserializer.deserialize_seq(BoundedVisitor::<T, MAX>(PhantomData))
    }
}
