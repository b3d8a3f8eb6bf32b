//! The facade's `quic` feature: `quorumnet::quic` is this crate, and the registry builds a QUIC
//! transport from a `quic://` address that dials and carries a frame.

use std::sync::Arc;
use std::time::Duration;

use quorumnet::identity::{ChainId, Keypair};
use quorumnet::transport::{build_transport, plugins, Admission, TransportConfig, TransportContext};

fn context(seed: u8) -> TransportContext {
    TransportContext {
        keypair: Arc::new(Keypair::from_seed(&[seed; 32])),
        chain_id: ChainId::from_network_name("facade"),
        admission: Admission::open(),
        config: TransportConfig::test(),
    }
}

#[test]
fn the_plugin_is_registered_under_quic() {
    assert!(
        plugins().iter().any(|p| p.scheme == quorumnet::quic::SCHEME),
        "schemes: {:?}",
        plugins().iter().map(|p| p.scheme).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_registry_builds_a_working_quic_transport() {
    let addr = "quic://127.0.0.1:0".parse().unwrap();
    let server = build_transport(&addr, &context(1)).unwrap();
    let mut listener = server.listen(&addr).await.unwrap();
    let client = build_transport(&addr, &context(2)).unwrap();
    let within = Duration::from_secs(5);
    let local = listener.local_addr();
    let (dialed, accepted) = tokio::join!(client.dial(&local, None), listener.accept());
    let (dialed, accepted) = (dialed.unwrap(), accepted.unwrap());
    dialed.send("over the registry".into()).await.unwrap();
    let got = tokio::time::timeout(within, accepted.recv()).await.unwrap().unwrap();
    assert_eq!(got.as_deref(), Some(&b"over the registry"[..]));
}
