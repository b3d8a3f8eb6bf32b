//! websocket against an independent implementation: `interop/ws_peer.py` (Python's `websockets`)
//! carrying `interop/noise_peer.py`'s Noise channel (`noiseprotocol`, `dilithium-py` ML-DSA-65,
//! `cbor2`), as a subprocess dialing a Rust listener on 127.0.0.1, over `ws://` and `wss://` (trusting
//! the listener's self-signed certificate from a PEM file). The peer greets with one frame and echoes
//! every frame back; a forged identity signature and a missing subprotocol are refused, and the
//! listener then still serves a good peer.
//!
//! The interpreter comes from `QUORUMNET_PYTHON` or `.venv` (`.ci/run` creates it); without one the
//! tests skip locally and fail under `CI=true`. Every wait is bounded and a hung peer is killed.

mod common;
#[path = "../../../core/tests/common/python.rs"]
mod python;

use std::path::Path;
use std::time::Duration;

use common::{id, key, loopback_tls, Flavour, WAIT};
use python::{echo_exchange, interop_python, PythonPeer};
use quorumnet_core::identity::ChainId;
use quorumnet_core::transport::{Admission, Listener, Transport, TransportConfig, TransportContext};

const SCRIPT: &str = "ws_peer.py";
/// The Rust side's handshake limit: generous for a Python peer (an ML-DSA sign) on a loaded machine.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

const RUST: u8 = 2;
const GOOD: u8 = 11;
const FORGER: u8 = 12;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn chain() -> ChainId {
    ChainId::from_network_name("python-interop")
}

async fn rust_listener(flavour: Flavour) -> Box<dyn Listener> {
    let transport = flavour.build(TransportContext {
        keypair: key(RUST),
        chain_id: chain(),
        admission: Admission::for_validators([RUST, GOOD, FORGER].map(id)),
        config: TransportConfig { handshake_timeout: HANDSHAKE_TIMEOUT, ..TransportConfig::test() },
    });
    let addr = format!("{}://127.0.0.1:0/quorumnet", flavour.scheme()).parse().unwrap();
    transport.listen(&addr).await.expect("listen")
}

/// `ws_peer.py dial <listener's URL>` as validator `seed`, with `flags`; `ca` is the PEM file a
/// `wss://` peer trusts.
fn dialing(python: &Path, listener: &dyn Listener, seed: u8, ca: Option<&Path>, flags: &[&str]) -> PythonPeer {
    let (url, seed_hex, chain_hex) = (listener.local_addr().to_string(), hex(&[seed; 32]), hex(chain().as_bytes()));
    let mut args = vec!["dial", &url, "--seed", &seed_hex, "--chain-id", &chain_hex, "--timeout", "25"];
    let ca = ca.map(|path| path.display().to_string());
    if let Some(ca) = &ca {
        args.extend(["--ca", ca]);
    }
    args.extend(flags);
    PythonPeer::start(python, &format!("python ws peer {seed} {flags:?}"), SCRIPT, &args)
}

/// The peer's `REFUSED` line, skipping `PEER` (a refused dialer finishes its own side of XX first).
async fn refusal(peer: &mut PythonPeer) -> String {
    loop {
        let line = peer.line(WAIT).await;
        if let Some(why) = line.strip_prefix("REFUSED ") {
            return why.to_owned();
        }
        assert!(line.starts_with("PEER "), "expected a refusal, got {line:?}");
    }
}

async fn serves_a_good_peer(python: &Path, listener: &mut dyn Listener, ca: Option<&Path>) {
    let mut peer = dialing(python, listener, GOOD, ca, &[]);
    let connection =
        tokio::time::timeout(WAIT, listener.accept()).await.expect("the good peer connects").expect("accept");
    assert_eq!(connection.remote(), id(GOOD), "the listener's next connection is not the good peer's");
    assert_eq!(peer.expect("PEER", WAIT).await, hex(key(RUST).public_key().encoded()));
    echo_exchange(&*connection, &mut peer, WAIT).await;
    peer.finished(WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_dials_a_rust_ws_listener_and_frames_cross_both_ways() {
    let Some(python) = interop_python() else { return };
    let mut listener = rust_listener(Flavour::Plain).await;
    serves_a_good_peer(&python, &mut *listener, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_dials_a_rust_wss_listener_trusting_its_pem_certificate() {
    let Some(python) = interop_python() else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ca = dir.path().join("listener.pem");
    std::fs::write(&ca, &loopback_tls().1.cert_pem).expect("writing the certificate");
    let mut listener = rust_listener(Flavour::Tls).await;
    serves_a_good_peer(&python, &mut *listener, Some(&ca)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_ws_listener_refuses_a_forger_and_a_missing_subprotocol_and_still_serves_a_good_peer() {
    let Some(python) = interop_python() else { return };
    let mut listener = rust_listener(Flavour::Plain).await;
    let mut forger = dialing(&python, &*listener, FORGER, None, &["--bad-signature"]);
    println!("forger refused: {}", refusal(&mut forger).await);
    forger.finished(WAIT).await;
    serves_a_good_peer(&python, &mut *listener, None).await;
    let mut bare = dialing(&python, &*listener, GOOD, None, &["--no-subprotocol"]);
    let why = refusal(&mut bare).await;
    assert!(why.starts_with("HTTP 400") && why.contains("quorumnet/1"), "{why}");
    bare.finished(WAIT).await;
    serves_a_good_peer(&python, &mut *listener, None).await;
}
