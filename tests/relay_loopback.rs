//! A relay over real tcp-noise loopback sockets: the relay listens on 127.0.0.1, the validator
//! behind it reaches it with the registry's tcp-noise transport (`RelayTransport::new`), and a
//! dialer's frames cross the relay as ciphertext only, in real time with bounded waits.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use quorumnet::identity::{ChainId, Keypair};
use quorumnet::relay::{RelayConfig, RelayServer, RelayTransport};
use quorumnet::tcp_noise::TcpNoiseTransport;
use quorumnet::transport::{Admission, Transport, TransportConfig, TransportContext};

const PATIENCE: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future).await.unwrap_or_else(|_| panic!("timed out after {PATIENCE:?}: {what}"))
}

fn context(key: &Arc<Keypair>, admission: Admission) -> TransportContext {
    TransportContext {
        keypair: key.clone(),
        chain_id: ChainId::from_network_name("relay-loopback"),
        admission,
        config: TransportConfig::test(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_cross_a_relay_on_loopback_as_ciphertext_and_prove_both_ends() {
    let keys: Vec<_> = (1..=3u8).map(|i| Arc::new(Keypair::from_seed(&[i; 32]))).collect();
    let (relay_key, validators) = (&keys[2], &keys[..2]);
    let admitted = Admission::for_validators(validators.iter().map(|k| k.validator_id()));
    let relay_transport = TcpNoiseTransport::new(context(relay_key, admitted.clone()));
    let listener = relay_transport.listen(&"tcp-noise://127.0.0.1:0".parse().unwrap()).await.unwrap();
    let relay = RelayServer::spawn(listener, RelayConfig::test());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tap = seen.clone();
    relay.tap_for_testing(move |bytes| tap.lock().unwrap().extend_from_slice(bytes));

    admitted.allow(relay_key.validator_id()); // validators admit their configured relay
    let behind = RelayTransport::new(context(&validators[0], admitted.clone()));
    let dialer = RelayTransport::new(context(&validators[1], admitted));
    let mut listener = behind.listen(&format!("relay://{}", relay.local_addr()).parse().unwrap()).await.unwrap();
    let addr = listener.local_addr();
    assert!(addr.as_str().starts_with("relay://tcp-noise://127.0.0.1:"), "{addr}");

    let (dialed, accepted) = within("a relayed dial and accept", async {
        tokio::join!(dialer.dial(&addr, Some(validators[0].validator_id())), listener.accept())
    })
    .await;
    let (dialed, accepted) = (dialed.unwrap(), accepted.unwrap());
    assert_eq!(accepted.remote(), validators[1].validator_id());
    let marker = b"LOOPBACK-PLAINTEXT-MARKER".repeat(8);
    for _ in 0..100 {
        dialed.send(Bytes::from(marker.clone())).await.unwrap();
    }
    accepted.send(Bytes::from(vec![3u8; 1 << 20])).await.unwrap();
    for _ in 0..100 {
        assert_eq!(within("a frame", accepted.recv()).await.unwrap().unwrap(), marker);
    }
    assert_eq!(within("the 1 MiB frame", dialed.recv()).await.unwrap().unwrap().len(), 1 << 20);
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 100 * marker.len());
    assert!(!seen.windows(16).any(|w| w == &marker[..16]), "the relay saw plaintext");
}
