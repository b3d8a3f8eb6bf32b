//! tcp-noise against an independent implementation of WIRE.md §2: `interop/noise_peer.py` (Python's
//! `noiseprotocol`, `dilithium-py` ML-DSA-65, `cbor2`), as a subprocess on 127.0.0.1, in both roles.
//! The Python peer greets with one frame and echoes every frame back, so these tests assert content
//! crossing both implementations; bad peers (a forged identity signature, another chain, a stall after
//! message 1) are refused, and the listener then still serves a good peer.
//!
//! The interpreter comes from `QUORUMNET_PYTHON` or `.venv` (`.ci/run` creates it); without one the
//! tests skip locally and fail under `CI=true`. Every wait is bounded and a hung peer is killed.

mod common;
#[path = "../../../core/tests/common/python.rs"]
mod python;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use common::{id, key, loopback, within, WAIT};
use python::{interop_python, PythonPeer};
use quorumnet_core::identity::ChainId;
use quorumnet_core::transport::{
    Admission, Connection, HandshakeFailure, Listener, PeerAddress, Transport, TransportConfig, TransportContext,
    TransportError,
};
use quorumnet_tcp_noise::TcpNoiseTransport;

/// Bound on every wait for the other process or the network.
/// The handshake limit of the Rust side: generous for a Python peer on a loaded machine, and the time
/// a stalled peer is held.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

const SCRIPT: &str = "noise_peer.py";

/// Validator seeds: Rust listeners and dialers, and the Python peers.
const RUST: u8 = 2;
const GOOD: u8 = 11;
const FORGER: u8 = 12;
const ELSEWHERE: u8 = 13;
const STALLER: u8 = 14;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn chain() -> ChainId {
    ChainId::from_network_name("python-interop")
}

/// A Rust transport for validator `seed` admitting every Python peer.
fn rust_transport(seed: u8) -> TcpNoiseTransport {
    TcpNoiseTransport::new(TransportContext {
        keypair: key(seed),
        chain_id: chain(),
        admission: Admission::for_validators([RUST, GOOD, FORGER, ELSEWHERE, STALLER].map(id)),
        config: TransportConfig { handshake_timeout: HANDSHAKE_TIMEOUT, ..TransportConfig::test() },
    })
}

/// How a Python peer behaves.
#[derive(Clone, Copy)]
enum Python {
    Honest,
    BadSignature,
    OtherChain,
    StallAfterMessage1,
}

/// Starts `noise_peer.py <mode_args…>` as validator `seed`, behaving as told.
fn start(python: &Path, seed: u8, how: Python, mode_args: &[&str]) -> PythonPeer {
    let chain = match how {
        Python::OtherChain => ChainId::from_network_name("another-chain"),
        _ => chain(),
    };
    let (seed_hex, chain_hex) = (hex(&[seed; 32]), hex(chain.as_bytes()));
    let mut args = mode_args.to_vec();
    args.extend(["--seed", &seed_hex, "--chain-id", &chain_hex, "--timeout", "20"]);
    match how {
        Python::BadSignature => args.push("--bad-signature"),
        Python::StallAfterMessage1 => args.push("--stall-after-1"),
        Python::Honest | Python::OtherChain => {}
    }
    let name = format!("python peer {seed} ({})", mode_args.join(" "));
    PythonPeer::start(python, &name, SCRIPT, &args)
}

fn dialing(python: &Path, listener: &dyn Listener, seed: u8, how: Python) -> PythonPeer {
    let addr = listener.local_addr();
    let port = addr.rest().rsplit_once(':').expect("host:port").1.to_owned();
    start(python, seed, how, &["dial", &port])
}

/// Frames of the shapes the node sends: a vote, a byte, a frame spanning two Noise messages, a 1 MiB
/// proposal part; each with its own pattern.
fn frames() -> Vec<Bytes> {
    [200usize, 1, 70_000, 1 << 20]
        .iter()
        .enumerate()
        .map(|(n, &len)| (0..len).map(|i| (i * 7 + n * 31) as u8).collect::<Vec<_>>().into())
        .collect()
}

/// The Python peer's greeting, then each frame sent and echoed back unchanged; then a clean close that
/// the peer reports as `ECHOED <n>`.
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

/// The peer's outcome line, skipping `PEER` (a refused dialer finishes its own side of XX first).
async fn expect_refused(peer: &mut PythonPeer) -> String {
    loop {
        let line = peer.line(WAIT).await;
        if let Some(why) = line.strip_prefix("REFUSED ") {
            return why.to_owned();
        }
        assert!(line.starts_with("PEER ") || line.starts_with("SENT "), "expected a refusal, got {line:?}");
    }
}

/// The listener's next connection is a good Python peer's, and frames cross it intact.
async fn serves_a_good_peer(python: &Path, listener: &mut dyn Listener) {
    let mut peer = dialing(python, listener, GOOD, Python::Honest);
    let connection = within("the good peer's connection", listener.accept()).await.expect("accept");
    assert_eq!(connection.remote(), id(GOOD), "the listener's next connection is not the good peer's");
    assert_eq!(peer.expect("PEER", WAIT).await, hex(key(RUST).public_key().encoded()));
    echo_exchange(&*connection, &mut peer).await;
    peer.finished(WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_dials_a_rust_listener_and_frames_cross_both_ways() {
    let Some(python) = interop_python() else { return };
    let mut listener = rust_transport(RUST).listen(&loopback()).await.expect("listen");
    serves_a_good_peer(&python, &mut *listener).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_dials_a_python_listener_and_frames_cross_both_ways() {
    let Some(python) = interop_python() else { return };
    let mut peer = start(&python, GOOD, Python::Honest, &["listen"]);
    let addr = python_listener(&mut peer).await;
    let connection = within("dial", rust_transport(RUST).dial(&addr, Some(id(GOOD)))).await.expect("dial");
    assert_eq!(connection.remote(), id(GOOD));
    assert_eq!(peer.expect("PEER", WAIT).await, hex(key(RUST).public_key().encoded()));
    echo_exchange(&*connection, &mut peer).await;
    peer.finished(WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_dialer_refuses_a_python_listener_with_a_bad_signature_or_another_chain() {
    let Some(python) = interop_python() else { return };
    for (seed, how) in [(FORGER, Python::BadSignature), (ELSEWHERE, Python::OtherChain)] {
        let mut peer = start(&python, seed, how, &["listen"]);
        let addr = python_listener(&mut peer).await;
        match within("dial", rust_transport(RUST).dial(&addr, Some(id(seed)))).await {
            Err(TransportError::Handshake { failure: HandshakeFailure::BadIdentityProof(_), .. }) => {}
            Err(other) => panic!("dialing a Python listener with {seed}: expected BadIdentityProof, got {other:?}"),
            Ok(_) => panic!("dialing a Python listener with {seed}: expected BadIdentityProof, got a connection"),
        }
        expect_refused(&mut peer).await;
        peer.finished(WAIT).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_listener_refuses_bad_python_dialers_and_still_serves_a_good_one() {
    let Some(python) = interop_python() else { return };
    let mut listener = rust_transport(RUST).listen(&loopback()).await.expect("listen");
    for (seed, how) in [(FORGER, Python::BadSignature), (ELSEWHERE, Python::OtherChain)] {
        let mut bad = dialing(&python, &*listener, seed, how);
        let why = expect_refused(&mut bad).await;
        println!("python peer {seed} refused: {why}");
        bad.finished(WAIT).await;
        // Both bad peers' ids are admitted: only the handshake can have kept them out.
        serves_a_good_peer(&python, &mut *listener).await;
    }
    // A stalled handshake delays nobody, and the listener drops it after its handshake timeout.
    let mut staller = dialing(&python, &*listener, STALLER, Python::StallAfterMessage1);
    staller.expect("SENT 1", WAIT).await;
    serves_a_good_peer(&python, &mut *listener).await;
    let why = expect_refused(&mut staller).await;
    println!("stalled python peer dropped: {why}");
    staller.finished(WAIT).await;
}

async fn python_listener(peer: &mut PythonPeer) -> PeerAddress {
    let port = peer.expect("LISTENING", WAIT).await;
    format!("tcp-noise://127.0.0.1:{port}").parse().expect("a tcp-noise address")
}
