//! What the conformance suite cannot see from outside the contract: an authenticated peer that then
//! breaks the framing. A raw socket completes the real handshake (with the public building blocks) and
//! misbehaves; the connection reports it as a typed error.

use std::sync::Arc;
use std::time::Duration;

use custom_transport_example::handshake::{self, Local};
use custom_transport_example::CustomTcp;
use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::transport::{Admission, Connection, Transport, TransportConfig, TransportContext, TransportError};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

const PATIENCE: Duration = Duration::from_secs(5);

/// A listener's accepted connection, and the raw, authenticated socket of its peer.
async fn raw_peer() -> (Box<dyn Connection>, TcpStream) {
    let (server, client) = (Arc::new(Keypair::from_seed(&[1; 32])), Keypair::from_seed(&[2; 32]));
    let admission = Admission::for_validators([server.validator_id(), client.validator_id()]);
    let chain = ChainId::from_network_name("peer-violations");
    let ctx = TransportContext {
        keypair: server,
        chain_id: chain,
        admission: admission.clone(),
        config: TransportConfig::test(),
    };
    let transport = CustomTcp::new(ctx);
    let mut listener = transport.listen(&"custom-tcp://127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut stream = TcpStream::connect(listener.local_addr().rest()).await.unwrap();
    let local = Local { key: &client, chain: &chain, admission: &admission };
    let (dialed, accepted) = tokio::join!(handshake::dial(&mut stream, &local, None), listener.accept());
    dialed.unwrap();
    (accepted.unwrap(), stream)
}

async fn recv_error(connection: &dyn Connection) -> TransportError {
    tokio::time::timeout(PATIENCE, connection.recv()).await.expect("recv returned in time").expect_err("recv fails")
}

#[tokio::test]
async fn an_oversize_length_prefix_is_a_protocol_violation() {
    let (connection, mut peer) = raw_peer().await;
    let oversize = TransportConfig::test().max_frame_len as u32 + 1;
    peer.write_all(&oversize.to_be_bytes()).await.unwrap();
    let error = recv_error(&*connection).await;
    assert!(matches!(error, TransportError::ProtocolViolation { .. }), "{error:?}");
    // It stays failed: the stream is unusable after a bad prefix.
    let again = recv_error(&*connection).await;
    assert!(matches!(again, TransportError::ConnectionLost { .. }), "{again:?}");
}

#[tokio::test]
async fn an_empty_frame_is_a_protocol_violation() {
    let (connection, mut peer) = raw_peer().await;
    peer.write_all(&0u32.to_be_bytes()).await.unwrap();
    assert!(matches!(recv_error(&*connection).await, TransportError::ProtocolViolation { .. }));
}

#[tokio::test]
async fn a_stream_cut_inside_a_frame_is_a_lost_connection_not_a_clean_close() {
    let (connection, mut peer) = raw_peer().await;
    peer.write_all(&10u32.to_be_bytes()).await.unwrap();
    peer.write_all(b"only5").await.unwrap();
    drop(peer);
    let error = recv_error(&*connection).await;
    assert!(matches!(error, TransportError::ConnectionLost { .. }), "{error:?}");
}
