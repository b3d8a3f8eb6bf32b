//! Helpers shared by the websocket test files: bounded waits, seeded identities, the loopback TLS
//! config, and a factory for `ws://` and `wss://` transports.
#![allow(dead_code)] // each test crate uses a different subset

use std::sync::{Arc, OnceLock};

use quorumnet_core::identity::ChainId;
use quorumnet_core::transport::{Admission, Transport, TransportConfig, TransportContext};
use quorumnet_websocket::{SelfSigned, WebSocketTransport, WssConfig, SCHEME, SECURE_SCHEME};

// Bounded waits and seeded identities, as tcp-noise's tests have them.
#[path = "../../../tcp-noise/tests/common/mod.rs"]
mod tcp_noise_common;
#[allow(unused_imports)] // each test crate uses a different subset
pub use tcp_noise_common::{id, key, within, WAIT};

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
