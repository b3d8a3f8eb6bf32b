//! `wss://` certificates from PEM files: a listener serving a certificate and key loaded from files
//! is reached by a dialer trusting that certificate from a file; a dialer trusting another root is
//! refused by TLS, and the error says so.

mod common;

use common::{context, id, within, WAIT};
use quorumnet_core::transport::{HandshakeFailure, Transport, TransportError};
use quorumnet_websocket::{WebSocketTransport, WssConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pem_files_serve_and_trust_a_wss_listener_and_other_roots_are_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (_, pem) = WssConfig::self_signed_loopback().expect("a certificate");
    let (cert, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, &pem.cert_pem).unwrap();
    std::fs::write(&key_file, &pem.key_pem).unwrap();
    let serving = WssConfig::new().serve_pem_files(&cert, &key_file).expect("loading the PEM files");
    let server = WebSocketTransport::secure(context(1), serving);
    let mut listener = server.listen(&"wss://127.0.0.1:0/tls".parse().unwrap()).await.expect("listen");
    let addr = listener.local_addr();

    let trusting = WebSocketTransport::secure(context(2), WssConfig::new().trust_pem_file(&cert).unwrap());
    let (dialed, accepted) =
        within("a wss connection", async { tokio::join!(trusting.dial(&addr, Some(id(1))), listener.accept()) }).await;
    let (dialed, accepted) = (dialed.expect("dial"), accepted.expect("accept"));
    dialed.send("over TLS".into()).await.unwrap();
    assert_eq!(within("recv", accepted.recv()).await.unwrap().as_deref(), Some(&b"over TLS"[..]));

    let (_, other) = WssConfig::self_signed_loopback().unwrap();
    let other_root = dir.path().join("other.pem");
    std::fs::write(&other_root, &other.cert_pem).unwrap();
    let stranger = WebSocketTransport::secure(context(3), WssConfig::new().trust_pem_file(&other_root).unwrap());
    match tokio::time::timeout(WAIT, stranger.dial(&addr, None)).await.expect("the dial ends") {
        Err(TransportError::Handshake { failure: HandshakeFailure::Protocol(reason), .. }) => {
            assert!(reason.starts_with("TLS"), "{reason}")
        }
        other => panic!("expected a TLS refusal, got {:?}", other.map(|c| c.remote())),
    }
    assert!(WssConfig::new().trust_pem_file(&dir.path().join("missing.pem")).is_err(), "a missing file is an error");
}
