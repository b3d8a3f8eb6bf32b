//! quic against an independent implementation of WIRE.md §3: `interop/quic_peer.py` (Python's
//! `aioquic`, `dilithium-py` ML-DSA-65, `cbor2`), as a subprocess on 127.0.0.1, in both roles. aioquic
//! has no TLS exporter API, so the Python side derives the exporter from the TLS 1.3 key schedule
//! (RFC 8446 §7.5) itself: a proof verifying across the two implementations shows both computed the
//! same exporter. The Python peer greets with one frame and echoes every frame back. A wrong ALPN, a
//! bad proof, a proof for the wrong role and one over the wrong exporter are refused with the §3 code,
//! and the listener then still serves a good peer.
//!
//! The interpreter comes from `QUORUMNET_PYTHON` or `.venv` (`.ci/run` creates it); without one the
//! tests skip locally and fail under `CI=true`. Every wait is bounded and a hung peer is killed.

#[path = "../../../core/tests/common/python.rs"]
mod python;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use python::{interop_python, PythonPeer};
use quorumnet_core::identity::{ChainId, Keypair, ValidatorId};
use quorumnet_core::transport::{
    Admission, Connection, HandshakeFailure, Listener, PeerAddress, Transport, TransportConfig, TransportContext,
    TransportError,
};
use quorumnet_quic::QuicTransport;

const SCRIPT: &str = "quic_peer.py";
/// Bound on every wait for the other process or the network (a Python ML-DSA sign takes a while).
const WAIT: Duration = Duration::from_secs(30);
/// The Rust side's handshake limit: generous for a Python peer on a loaded machine.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

const RUST: u8 = 2;
const GOOD: u8 = 11;
const BAD: u8 = 12;

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"))
}

fn key(seed: u8) -> Arc<Keypair> {
    Arc::new(Keypair::from_seed(&[seed; 32]))
}

fn id(seed: u8) -> ValidatorId {
    key(seed).validator_id()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn chain() -> ChainId {
    ChainId::from_network_name("python-interop")
}

fn rust_transport() -> QuicTransport {
    QuicTransport::new(TransportContext {
        keypair: key(RUST),
        chain_id: chain(),
        admission: Admission::for_validators([RUST, GOOD, BAD].map(id)),
        config: TransportConfig { handshake_timeout: HANDSHAKE_TIMEOUT, ..TransportConfig::test() },
    })
    .expect("TLS setup")
}

/// Starts `quic_peer.py <mode_args…>` as validator `seed` with the extra `flags`.
fn start(python: &Path, seed: u8, mode_args: &[&str], flags: &[&str]) -> PythonPeer {
    let (seed_hex, chain_hex) = (hex(&[seed; 32]), hex(chain().as_bytes()));
    let mut args = mode_args.to_vec();
    args.extend(["--seed", &seed_hex, "--chain-id", &chain_hex, "--timeout", "25"]);
    args.extend(flags);
    let name = format!("python quic peer {seed} ({} {})", mode_args.join(" "), flags.join(" "));
    PythonPeer::start(python, &name, SCRIPT, &args)
}

fn dialing(python: &Path, listener: &dyn Listener, seed: u8, flags: &[&str]) -> PythonPeer {
    let addr = listener.local_addr();
    let port = addr.rest().rsplit_once(':').expect("host:port").1.to_owned();
    start(python, seed, &["dial", &port], flags)
}

/// A vote, a byte, a frame over several packets, a 1 MiB proposal part.
fn frames() -> Vec<Bytes> {
    [200usize, 1, 70_000, 1 << 20]
        .iter()
        .enumerate()
        .map(|(n, &len)| (0..len).map(|i| (i * 7 + n * 31) as u8).collect::<Vec<_>>().into())
        .collect()
}

async fn echo_exchange(connection: &dyn Connection, peer: &mut PythonPeer) {
    let greeting = within("the Python peer's greeting", connection.recv()).await.expect("recv").expect("a frame");
    assert_eq!(&greeting[..], b"hello from python");
    let frames = frames();
    for frame in &frames {
        within("send", connection.send(frame.clone())).await.expect("send");
        let echoed = within("the echo", connection.recv()).await.expect("recv").expect("the echoed frame");
        assert!(echoed == frame, "frame of {} bytes came back as {} different bytes", frame.len(), echoed.len());
    }
    within("close", connection.close()).await.expect("close");
    assert_eq!(peer.expect("ECHOED", WAIT).await, frames.len().to_string());
}

async fn serves_a_good_peer(python: &Path, listener: &mut dyn Listener) {
    let mut peer = dialing(python, listener, GOOD, &[]);
    let connection = within("the good peer's connection", listener.accept()).await.expect("accept");
    assert_eq!(connection.remote(), id(GOOD), "the listener's next connection is not the good peer's");
    assert_eq!(peer.expect("PEER", WAIT).await, hex(key(RUST).public_key().encoded()));
    echo_exchange(&*connection, &mut peer).await;
    peer.finished(WAIT).await;
}

/// The code the peer saw its connection closed with (`CLOSED <code>`), skipping `PEER`.
async fn closed_code(peer: &mut PythonPeer) -> String {
    loop {
        let line = peer.line(WAIT).await;
        if let Some(code) = line.strip_prefix("CLOSED ") {
            return code.to_owned();
        }
        assert!(line.starts_with("PEER "), "expected the connection to be closed, got {line:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_dials_a_rust_listener_and_frames_cross_both_ways() {
    let Some(python) = interop_python() else { return };
    let mut listener = rust_transport().listen(&"quic://127.0.0.1:0".parse().unwrap()).await.expect("listen");
    serves_a_good_peer(&python, &mut *listener).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_listener_refuses_bad_python_dialers_with_the_right_code_and_still_serves_a_good_one() {
    let Some(python) = interop_python() else { return };
    let mut listener = rust_transport().listen(&"quic://127.0.0.1:0".parse().unwrap()).await.expect("listen");
    for flag in ["--bad-proof", "--wrong-role", "--wrong-exporter"] {
        let mut bad = dialing(&python, &*listener, BAD, &[flag]);
        assert_eq!(closed_code(&mut bad).await, "1", "{flag}: closed with code 1 (bad identity proof)");
        bad.finished(WAIT).await;
        // The bad peer's id is admitted: only the proof can have kept it out.
        serves_a_good_peer(&python, &mut *listener).await;
    }
    let mut wrong_alpn = dialing(&python, &*listener, BAD, &["--alpn", "h3"]);
    // TLS alert no_application_protocol (120) as a QUIC crypto error: 0x100 + 120 = 376.
    assert_eq!(closed_code(&mut wrong_alpn).await, "376", "a wrong ALPN fails the TLS handshake");
    wrong_alpn.finished(WAIT).await;
    serves_a_good_peer(&python, &mut *listener).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_dials_a_python_listener_and_frames_cross_both_ways() {
    let Some(python) = interop_python() else { return };
    let mut peer = start(&python, GOOD, &["listen"], &[]);
    let port = peer.expect("LISTENING", WAIT).await;
    let addr: PeerAddress = format!("quic://127.0.0.1:{port}").parse().unwrap();
    let connection = within("dial", rust_transport().dial(&addr, Some(id(GOOD)))).await.expect("dial");
    assert_eq!(connection.remote(), id(GOOD));
    assert_eq!(peer.expect("PEER", WAIT).await, hex(key(RUST).public_key().encoded()));
    echo_exchange(&*connection, &mut peer).await;
    peer.finished(WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_dialer_refuses_a_python_listener_with_a_bad_proof_with_code_1() {
    let Some(python) = interop_python() else { return };
    let mut peer = start(&python, BAD, &["listen"], &["--bad-proof"]);
    let port = peer.expect("LISTENING", WAIT).await;
    let addr: PeerAddress = format!("quic://127.0.0.1:{port}").parse().unwrap();
    let dialed = within("dial", rust_transport().dial(&addr, Some(id(BAD)))).await;
    assert!(
        matches!(&dialed, Err(TransportError::Handshake { failure: HandshakeFailure::BadIdentityProof(_), .. })),
        "{:?}",
        dialed.err()
    );
    assert_eq!(closed_code(&mut peer).await, "1", "the Rust dialer closes with code 1");
    peer.finished(WAIT).await;
}
