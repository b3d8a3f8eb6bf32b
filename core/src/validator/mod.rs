//! Validator sets over time: voting power, versions effective from a height, and their source
//! (DESIGN.md §2).
//!
//! - [`ValidatorInfo`]: one validator — public key (its id is derived from it), voting power, addresses
//!   and [`ValidatorStatus`]. Only active validators' power counts toward quorums.
//! - [`ValidatorSet`]: one version, ordered by id, validated on construction, with the quorum arithmetic:
//!   a supermajority is strictly more than 2/3 of the active power, computed exactly even at `u64::MAX`.
//! - [`ValidatorSetChange`]: joins, leaves and updates taking effect at a height.
//! - [`ValidatorSetHistory`]: the last few versions, so a message is judged against the set in force at
//!   *its* height; a message older than every kept version is dropped without scoring anyone.
//! - [`ValidatorSetSource`]: the boundary the chain (or a devnet list) feeds sets through;
//!   [`StaticValidatorSetSource`] and [`ListValidatorSetSource`] implement it.
//!
//! Every refusal is a [`ValidatorSetError`] that says how to fix the input, and leaves the previous set
//! or history untouched.

mod change;
mod error;
mod history;
mod info;
mod set;
mod source;

pub use change::{ValidatorSetChange, ValidatorUpdate};
pub use error::ValidatorSetError;
pub use history::ValidatorSetHistory;
pub use info::{ValidatorInfo, ValidatorStatus};
pub use set::ValidatorSet;
pub use source::{ListValidatorSetSource, StaticValidatorSetSource, ValidatorSetSource};
