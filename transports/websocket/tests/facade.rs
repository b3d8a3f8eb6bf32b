//! The facade's `websocket` feature: `quorumnet::websocket` is this crate, and the registry builds
//! a WebSocket transport from a `ws://` address that dials and carries a frame; `wss://` is
//! registered too, and says what it needs instead of building without certificates.

use std::sync::Arc;
use std::time::Duration;

use quorumnet::identity::{ChainId, Keypair};
use quorumnet::transport::{build_transport, plugins, Admission, TransportConfig, TransportContext, TransportError};

fn context(seed: u8) -> TransportContext {
    TransportContext {
        keypair: Arc::new(Keypair::from_seed(&[seed; 32])),
        chain_id: ChainId::from_network_name("facade"),
        admission: Admission::open(),
        config: TransportConfig::test(),
    }
}

#[test]
fn the_plugins_are_registered_under_ws_and_wss() {
    let schemes: Vec<_> = plugins().iter().map(|p| p.scheme).collect();
    for scheme in [quorumnet::websocket::SCHEME, quorumnet::websocket::SECURE_SCHEME] {
        assert!(schemes.contains(&scheme), "{scheme} missing from {schemes:?}");
    }
}

#[tokio::test]
async fn the_registry_builds_a_working_ws_transport() {
    let addr = "ws://127.0.0.1:0/facade".parse().unwrap();
    let server = build_transport(&addr, &context(1)).unwrap();
    let mut listener = server.listen(&addr).await.unwrap();
    let client = build_transport(&addr, &context(2)).unwrap();
    let within = Duration::from_secs(5);
    let local = listener.local_addr();
    assert!(local.as_str().ends_with("/facade"), "{local}");
    let (dialed, accepted) = tokio::join!(client.dial(&local, None), listener.accept());
    let (dialed, accepted) = (dialed.unwrap(), accepted.unwrap());
    dialed.send("over the registry".into()).await.unwrap();
    let got = tokio::time::timeout(within, accepted.recv()).await.unwrap().unwrap();
    assert_eq!(got.as_deref(), Some(&b"over the registry"[..]));
}

#[test]
fn the_registry_explains_that_wss_needs_a_tls_config() {
    let addr = "wss://127.0.0.1:0".parse().unwrap();
    match build_transport(&addr, &context(1)) {
        Err(TransportError::Io { source, .. }) => assert!(source.to_string().contains("WssConfig"), "{source}"),
        Err(other) => panic!("expected the missing-TLS explanation, got {other}"),
        Ok(_) => panic!("a wss:// transport was built without certificates"),
    }
}
