//! Churn: validators leaving and joining mid-run through validator-set changes.
//!
//! [`ChurnPlan`] (`--churn 6:-0-1+5+6,12:-2+0`) says which validators leave and join at which
//! heights; it fixes the chain's [`ValidatorSchedule`](super::validator_schedule::ValidatorSchedule),
//! which every engine judges each height by, and the nodes' validator-set sources, which decide who
//! may connect. [`ChurnDriver`] says when a step is due; the runner carries it out:
//!
//! - when the first validator commits the height before a change, every running node's source learns
//!   the new set (nodes connect to joiners and drop leavers), the leavers stop, and each joiner starts
//!   from a copy of that validator's chain (state sync, as a real joiner syncs as a full node before its
//!   key takes effect), so it votes from the change's height on;
//! - a validator that leaves and later joins again resumes from its own journal, synced forward.
//!
//! Validators a plan first names as joining are not in the genesis set. Churn runs on the simulator
//! only, without byzantine or NAT-bound validators or a scheduled partition (their actors, relays and
//! cuts are fixed to the genesis set).

mod driver;
mod plan;

pub use driver::ChurnDriver;
pub use plan::{ChurnParseError, ChurnPlan, ChurnStep};
