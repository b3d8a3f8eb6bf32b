//! The cases, one `pub async fn` each, grouped by what they check. [`CASES`](crate::CASES) lists them
//! all; [`conformance_tests!`](crate::conformance_tests) makes one test of each.

pub mod backpressure;
pub mod figures;
pub mod frames;
pub mod identity;
pub mod lifecycle;
pub mod robustness;
