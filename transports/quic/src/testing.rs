//! Misbehaving peers for this crate's tests and conformance factory. **Tests only.**

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::settings::{transport_config, udp_socket};
use crate::tls::{client_crypto_with_alpn, ALPN, SERVER_NAME};

/// A bare QUIC client connection to `server` offering `alpn`, TLS done and nothing else: the caller
/// speaks §3 itself. The endpoint must be kept alive with the connection.
///
/// # Errors
/// The QUIC handshake's failure (a refused ALPN, nobody listening).
///
/// # Panics
/// Outside tokio, or without a loopback UDP socket.
pub async fn connect_raw(
    server: SocketAddr,
    alpn: &[u8],
) -> Result<(quinn::Endpoint, quinn::Connection), quinn::ConnectionError> {
    let mut client = quinn::ClientConfig::new(client_crypto_with_alpn(alpn).expect("client crypto"));
    client.transport_config(transport_config());
    let socket = udp_socket(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).expect("a loopback UDP socket");
    let runtime = quinn::default_runtime().expect("inside tokio");
    let endpoint =
        quinn::Endpoint::new(quinn::EndpointConfig::default(), None, socket, runtime).expect("a client endpoint");
    let conn = endpoint.connect_with(client, server, SERVER_NAME).expect("connect parameters").await?;
    Ok((endpoint, conn))
}

/// Connects to `server` (QUIC + TLS complete), opens the stream, writes half a length prefix and
/// holds the connection for at most `hold` or until the server closes it: a dialer stalled mid-§3.
/// Returns once the stall is in place; the hold runs in a spawned task.
///
/// # Panics
/// If the QUIC handshake itself fails: the listener under test must at least run TLS.
pub async fn stall_after_tls(server: SocketAddr, hold: Duration) {
    let (endpoint, conn) = connect_raw(server, ALPN).await.expect("the listener completes TLS");
    let (mut send, _recv) = conn.open_bi().await.expect("opening the stream");
    send.write_all(&[0, 0]).await.expect("half a length prefix");
    tokio::spawn(async move {
        let _ = tokio::time::timeout(hold, conn.closed()).await;
        drop((send, _recv, endpoint));
    });
}

/// A raw quinn server and client on loopback with this crate's TLS (self-signed, ALPN
/// `quorumnet/1`) and sockets, but quinn's default transport parameters and no §3 proof: the baseline
/// the benchmark compares with.
///
/// # Panics
/// Outside tokio, or without loopback UDP sockets.
pub fn raw_quinn_pair() -> (quinn::Endpoint, quinn::Endpoint, quinn::ClientConfig) {
    let runtime = || quinn::default_runtime().expect("inside tokio");
    let socket = || udp_socket(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).expect("a loopback UDP socket");
    let server_config = quinn::ServerConfig::with_crypto(crate::tls::server_crypto().expect("server crypto"));
    let server = quinn::Endpoint::new(quinn::EndpointConfig::default(), Some(server_config), socket(), runtime())
        .expect("a server endpoint");
    let client =
        quinn::Endpoint::new(quinn::EndpointConfig::default(), None, socket(), runtime()).expect("a client endpoint");
    let client_config = quinn::ClientConfig::new(client_crypto_with_alpn(ALPN).expect("client crypto"));
    (server, client, client_config)
}
