//! WIRE.md §3 at the byte level, from a bare QUIC client that speaks the exchange itself: a good proof
//! gets a connection that carries u32-length-prefixed frames; a wrong ALPN, a bad proof, a proof for
//! the wrong role, one over the wrong exporter, an unadmitted key and a stalled proof are refused with
//! the §3 code — and after each refusal the listener still serves a good peer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::{ConnectionError, VarInt};
use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::secure::IdentityPayload;
use quorumnet_core::transport::{
    Admission, HandshakeFailure, Listener, Transport, TransportConfig, TransportContext, TransportError,
};
use quorumnet_quic::proof::{self, CloseCode, Role, EXPORTER_LABEL};
use quorumnet_quic::{testing, QuicTransport, ALPN};

const WITHIN: Duration = Duration::from_secs(5);

fn chain() -> ChainId {
    ChainId::from_network_name("quic-identity-tests")
}

fn key(seed: u8) -> Arc<Keypair> {
    Arc::new(Keypair::from_seed(&[seed; 32]))
}

fn context(key: Arc<Keypair>, admission: Admission) -> TransportContext {
    TransportContext { keypair: key, chain_id: chain(), admission, config: TransportConfig::test() }
}

/// The listener (key 1) admitting keys 1..=3; key 9 is not admitted.
async fn listener() -> (Box<dyn Listener>, SocketAddr) {
    let admitted = Admission::for_validators([1, 2, 3].map(|s| key(s).validator_id()));
    let transport = QuicTransport::new(context(key(1), admitted)).unwrap();
    let listener = transport.listen(&"quic://127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().rest().parse().unwrap();
    (listener, addr)
}

/// How a bare client's proof is made from the session's exporter.
type Forge = fn(&[u8; 32]) -> IdentityPayload;

/// A bare client's half of §3: TLS, the stream, and `forge`'s proof written.
struct BareClient {
    _endpoint: quinn::Endpoint,
    conn: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    exporter: [u8; 32],
}

async fn bare_client(server: SocketAddr, forge: Forge) -> BareClient {
    let (endpoint, conn) = testing::connect_raw(server, ALPN).await.expect("TLS with the right ALPN");
    let mut exporter = [0u8; 32];
    conn.export_keying_material(&mut exporter, EXPORTER_LABEL, b"").unwrap();
    let (mut send, recv) = conn.open_bi().await.unwrap();
    let own = forge(&exporter).encode();
    send.write_all(&[&(own.len() as u32).to_be_bytes()[..], &own].concat()).await.unwrap();
    BareClient { _endpoint: endpoint, conn, send, recv, exporter }
}

impl BareClient {
    /// Reads the server's proof and checks it: role server, this session's exporter, key 1.
    async fn check_server_proof(&mut self) {
        let mut prefix = [0u8; 4];
        self.recv.read_exact(&mut prefix).await.unwrap();
        let mut theirs = vec![0u8; u32::from_be_bytes(prefix) as usize];
        self.recv.read_exact(&mut theirs).await.unwrap();
        let server = proof::verify(&theirs, &chain(), Role::Server, &self.exporter, &Admission::open(), None).unwrap();
        assert_eq!(server.validator_id(), key(1).validator_id(), "the server proves its own key");
    }
}

/// The application code the listener closed `conn` with.
async fn closed_with(conn: &quinn::Connection) -> u64 {
    match tokio::time::timeout(WITHIN, conn.closed()).await.expect("the listener closes a refused connection") {
        ConnectionError::ApplicationClosed(close) => close.error_code.into_inner(),
        other => panic!("closed by {other}, not with an application code"),
    }
}

/// A good peer (key 2) still connects after a refusal, and its frame arrives.
async fn still_serves_a_good_peer(listener: &mut dyn Listener, server: SocketAddr) {
    let mut client = bare_client(server, |e| proof::sign(&key(2), &chain(), Role::Client, e)).await;
    client.check_server_proof().await;
    client.send.write_all(&[0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o']).await.unwrap();
    let accepted = tokio::time::timeout(WITHIN, listener.accept()).await.expect("accept in time").unwrap();
    assert_eq!(accepted.remote(), key(2).validator_id());
    let frame = tokio::time::timeout(WITHIN, accepted.recv()).await.unwrap().unwrap();
    assert_eq!(frame.as_deref(), Some(&b"hello"[..]), "a u32 length, then the frame");
}

async fn refused_with(code: CloseCode, forge: Forge) {
    let (mut listener, server) = listener().await;
    let client = bare_client(server, forge).await;
    assert_eq!(closed_with(&client.conn).await, code as u64);
    still_serves_a_good_peer(&mut *listener, server).await;
}

#[tokio::test]
async fn a_good_proof_gets_a_connection_carrying_frames() {
    let (mut listener, server) = listener().await;
    still_serves_a_good_peer(&mut *listener, server).await;
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused_with_code_1() {
    refused_with(CloseCode::BadIdentityProof, |e| IdentityPayload {
        sig: key(9).sign(&proof::signing_bytes(&chain(), Role::Client, e)),
        ..proof::sign(&key(2), &chain(), Role::Client, e)
    })
    .await;
}

#[tokio::test]
async fn a_proof_for_the_server_role_is_refused_with_code_1() {
    refused_with(CloseCode::BadIdentityProof, |e| proof::sign(&key(2), &chain(), Role::Server, e)).await;
}

#[tokio::test]
async fn a_proof_over_another_exporter_is_refused_with_code_1() {
    refused_with(CloseCode::BadIdentityProof, |_| proof::sign(&key(2), &chain(), Role::Client, &[7; 32])).await;
}

#[tokio::test]
async fn a_proof_for_another_chain_is_refused_with_code_1() {
    refused_with(CloseCode::BadIdentityProof, |e| {
        proof::sign(&key(2), &ChainId::from_network_name("another network"), Role::Client, e)
    })
    .await;
}

#[tokio::test]
async fn an_unadmitted_key_is_refused_with_code_2() {
    refused_with(CloseCode::NotAdmitted, |e| proof::sign(&key(9), &chain(), Role::Client, e)).await;
}

#[tokio::test]
async fn a_malformed_proof_is_refused_with_code_3() {
    refused_with(CloseCode::ProtocolViolation, |e| IdentityPayload {
        v: 2,
        ..proof::sign(&key(2), &chain(), Role::Client, e)
    })
    .await;
}

#[tokio::test]
async fn a_stalled_proof_is_cut_off_with_code_4() {
    let (mut listener, server) = listener().await;
    let (_endpoint, conn) = testing::connect_raw(server, ALPN).await.unwrap();
    let (mut send, _recv) = conn.open_bi().await.unwrap();
    send.write_all(&[0, 0]).await.unwrap();
    assert_eq!(closed_with(&conn).await, CloseCode::Timeout as u64);
    still_serves_a_good_peer(&mut *listener, server).await;
}

#[tokio::test]
async fn a_wrong_alpn_is_refused_by_tls() {
    let (mut listener, server) = listener().await;
    let refused = testing::connect_raw(server, b"h3").await;
    let Err(ConnectionError::ConnectionClosed(close)) = refused else {
        panic!("a wrong ALPN must fail the TLS handshake, got {:?}", refused.map(|_| ()));
    };
    // TLS alert no_application_protocol (120) as a QUIC crypto error: 0x100 + 120.
    assert_eq!(u64::from(close.error_code), 0x178);
    still_serves_a_good_peer(&mut *listener, server).await;
}

/// Both sides write at once, so the listener may already have yielded the connection when the dialer
/// refuses it: it then ends at once with the dialer's code 2, never delivering a frame.
#[tokio::test]
async fn a_dialer_expecting_another_id_fails_with_a_typed_error_and_closes_with_code_2() {
    let (mut listener, _) = listener().await;
    let addr = listener.local_addr();
    let dialer = QuicTransport::new(context(key(2), Admission::open())).unwrap();
    let wrong = key(3).validator_id();
    let dialed = dialer.dial(&addr, Some(wrong)).await;
    assert!(
        matches!(&dialed, Err(TransportError::Handshake { failure: HandshakeFailure::UnexpectedIdentity { .. }, .. })),
        "{:?}",
        dialed.err()
    );
    let accepted = tokio::time::timeout(WITHIN, listener.accept()).await.expect("accept in time").unwrap();
    let ended = tokio::time::timeout(WITHIN, accepted.recv()).await.expect("the refused connection ends");
    let Err(TransportError::ConnectionLost { reason, .. }) = ended else {
        panic!("a connection the dialer refused must fail, got {ended:?}");
    };
    assert!(reason.contains("NotAdmitted"), "closed with code 2: {reason}");
}

/// After the handshake, a frame length of 0 or above the limit closes the connection with code 3 and
/// is a typed violation at the receiver, before anything is allocated for it.
#[tokio::test]
async fn a_bad_frame_length_closes_with_code_3() {
    for prefix in [0u32, TransportConfig::test().max_frame_len as u32 + 1] {
        let (mut listener, server) = listener().await;
        let mut client = bare_client(server, |e| proof::sign(&key(2), &chain(), Role::Client, e)).await;
        client.check_server_proof().await;
        client.send.write_all(&prefix.to_be_bytes()).await.unwrap();
        let accepted = tokio::time::timeout(WITHIN, listener.accept()).await.expect("accept in time").unwrap();
        let got = tokio::time::timeout(WITHIN, accepted.recv()).await.expect("recv in time");
        assert!(matches!(got, Err(TransportError::ProtocolViolation { .. })), "length {prefix}: {got:?}");
        assert_eq!(closed_with(&client.conn).await, CloseCode::ProtocolViolation as u64, "length {prefix}");
    }
}

#[test]
fn close_codes_are_the_wire_numbers() {
    let codes = [CloseCode::BadIdentityProof, CloseCode::NotAdmitted, CloseCode::ProtocolViolation, CloseCode::Timeout];
    assert_eq!(codes.map(|c| c.varint()), [1, 2, 3, 4].map(VarInt::from_u32));
}
