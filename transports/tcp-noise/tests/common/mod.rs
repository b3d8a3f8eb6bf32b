//! Helpers shared by the tcp-noise test files: bounded waits and seeded identities on loopback.
#![allow(dead_code)] // each test crate uses a different subset

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use quorumnet_core::identity::{Keypair, ValidatorId};
use quorumnet_core::transport::PeerAddress;

/// Upper bound on any one network wait in these tests: generous on a loaded 2-core machine.
pub const WAIT: Duration = Duration::from_secs(20);

/// Awaits `future`, failing the test with `what` if it takes longer than [`WAIT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"))
}

/// The deterministic key of test validator `seed`.
pub fn key(seed: u8) -> Arc<Keypair> {
    Arc::new(Keypair::from_seed(&[seed; 32]))
}

/// The id of test validator `seed`.
pub fn id(seed: u8) -> ValidatorId {
    key(seed).validator_id()
}

/// Any free loopback port.
pub fn loopback() -> PeerAddress {
    "tcp-noise://127.0.0.1:0".parse().expect("a valid address")
}
