//! Helpers shared by the websocket test files: bounded waits, seeded identities, the loopback TLS
//! config, and a factory for `ws://` and `wss://` transports.
#![allow(dead_code)] // each test crate uses a different subset

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use quorumnet_core::identity::{ChainId, Keypair, ValidatorId};
use quorumnet_core::transport::{Admission, Transport, TransportConfig, TransportContext};
use quorumnet_websocket::{SelfSigned, WebSocketTransport, WssConfig, SCHEME, SECURE_SCHEME};

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

/// A test context for validator `seed` admitting everyone.
pub fn context(seed: u8) -> TransportContext {
    TransportContext {
        keypair: key(seed),
        chain_id: ChainId::from_network_name("websocket-tests"),
        admission: Admission::open(),
        config: TransportConfig::test(),
    }
}

/// One self-signed loopback certificate per test process, served and trusted by every `wss://`
/// transport the tests build.
pub fn loopback_tls() -> &'static (WssConfig, SelfSigned) {
    static TLS: OnceLock<(WssConfig, SelfSigned)> = OnceLock::new();
    TLS.get_or_init(|| WssConfig::self_signed_loopback().expect("a self-signed loopback certificate"))
}

/// `ws://` or `wss://`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Plain,
    Tls,
}

impl Flavour {
    pub fn scheme(self) -> &'static str {
        match self {
            Flavour::Plain => SCHEME,
            Flavour::Tls => SECURE_SCHEME,
        }
    }

    /// The transport of this flavour for `ctx`.
    pub fn build(self, ctx: TransportContext) -> WebSocketTransport {
        match self {
            Flavour::Plain => WebSocketTransport::new(ctx),
            Flavour::Tls => WebSocketTransport::secure(ctx, loopback_tls().0.clone()),
        }
    }

    /// As [`Self::build`], shared.
    pub fn shared(self, ctx: TransportContext) -> Arc<dyn Transport> {
        Arc::new(self.build(ctx))
    }
}
