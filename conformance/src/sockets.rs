//! Helpers for the factories of socket transports (TCP, WebSocket, QUIC over loopback): the parts of a
//! [`TransportFactory`](crate::TransportFactory) that are the same whatever the handshake.
//!
//! ```ignore
//! fn listen_address(&self) -> PeerAddress { sockets::loopback_listen_address(SCHEME) }
//! fn dead_address(&self) -> PeerAddress { sockets::dead_loopback_address(SCHEME) }
//! async fn misbehave(&self, addr: &PeerAddress, how: Misbehaviour) {
//!     sockets::misbehave_over_tcp(addr, how, self.config().handshake_timeout, my_first_message).await
//! }
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use quorumnet_core::transport::{PeerAddress, TransportError};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use crate::Misbehaviour;

/// How many handshake timeouts a stalled link is held open at most: long past the listener's limit,
/// so the listener, not the staller, is what ends it.
const STALL_HOLD_TIMEOUTS: u32 = 4;

/// `scheme://127.0.0.1:0`: any free loopback port.
pub fn loopback_listen_address(scheme: &str) -> PeerAddress {
    PeerAddress::new(scheme, "127.0.0.1:0").expect("a socket address is a valid address rest")
}

/// `scheme://127.0.0.1:PORT` for a port that was free a moment ago (bound, read, released), so
/// connecting to it is refused at once.
pub fn dead_loopback_address(scheme: &str) -> PeerAddress {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a probe socket on 127.0.0.1");
    let port = probe.local_addr().expect("the probe's address").port();
    PeerAddress::new(scheme, &format!("127.0.0.1:{port}")).expect("a socket address is a valid address rest")
}

/// The `IP:PORT` after `scheme://`.
///
/// # Panics
/// If the address is not `scheme://IP:PORT`, as every address these helpers make is.
pub fn socket_addr(addr: &PeerAddress) -> SocketAddr {
    addr.rest().parse().expect("the factory's addresses are IP:PORT")
}

/// Opens a raw TCP connection to `addr`, as an impostor's `dial` does before its forged handshake.
///
/// # Errors
/// [`TransportError::Unreachable`] when nothing accepts the connection.
pub async fn connect(addr: &PeerAddress) -> Result<TcpStream, TransportError> {
    TcpStream::connect(socket_addr(addr))
        .await
        .map_err(|e| TransportError::Unreachable { addr: addr.to_string(), reason: e.to_string() })
}

/// Misbehaves towards a TCP listener: [`Misbehaviour::Garbage`] writes the bytes, half-closes and waits
/// (at most `handshake_timeout`) for the listener to hang up; [`Misbehaviour::StallMidHandshake`] writes
/// `first_message()` — an honest dialer's first handshake message — and leaves the link open, held by a
/// spawned task, until the listener drops it.
pub async fn misbehave_over_tcp(
    addr: &PeerAddress,
    how: Misbehaviour,
    handshake_timeout: Duration,
    first_message: impl FnOnce() -> Vec<u8>,
) {
    let mut stream = connect(addr).await.expect("connecting to the listener under test");
    match how {
        Misbehaviour::Garbage(bytes) => {
            // The listener may hang up (or reset) mid-write: that is its right.
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
            let _ = tokio::time::timeout(handshake_timeout, drain(stream)).await;
        }
        Misbehaviour::StallMidHandshake => {
            stream.write_all(&first_message()).await.expect("sending the first handshake message");
            tokio::spawn(tokio::time::timeout(handshake_timeout * STALL_HOLD_TIMEOUTS, drain(stream)));
        }
    }
}

/// Reads until the peer closes (or resets) the link.
async fn drain(mut stream: TcpStream) {
    let _ = tokio::io::copy(&mut stream, &mut tokio::io::sink()).await;
}
