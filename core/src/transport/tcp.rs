//! TCP plumbing shared by the stream transports that run over TCP (tcp-noise, websocket): `host:port`
//! addresses, resolution and connect, the socket options that make K honest, and an accept source
//! that survives transient failures.
//!
//! ```
//! use quorumnet_core::transport::{tcp, PeerAddress};
//!
//! let addr: PeerAddress = "tcp-noise://[::1]:7000".parse().unwrap();
//! assert!(tcp::check_host_port(&addr, addr.rest()).is_ok());
//! assert!(tcp::check_host_port(&addr, "no-port").is_err());
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use super::{PeerAddress, TransportError};

/// `TCP_NOTSENT_LOWAT`: the kernel refuses new data while this many bytes are unsent. Unsent bytes
/// only build up when the congestion or receive window is full, and the writer then refills within
/// microseconds from the user-space queue, so 16 KiB keeps a link busy while leaving most of K to the
/// queue, where larger batches cost less CPU per frame.
pub const NOTSENT_LOWAT: u32 = 16 * 1024;

/// What one write may add beyond the low-water mark: the kernel fills at most one more GSO segment
/// (64 KiB unless the interface enables BIG TCP).
const GSO_SEGMENT_MAX: usize = 64 * 1024;

/// The kernel's part of K under [`NOTSENT_LOWAT`]: 80 KiB.
pub const KERNEL_UNSENT_BOUND: usize = NOTSENT_LOWAT as usize + GSO_SEGMENT_MAX;

/// Keepalive: probe an idle peer after 15 s, every 5 s, so a vanished peer is noticed within ~1 min
/// (the kernel's default of 2 h would keep dead validators "connected").
const KEEPALIVE_TIME: Duration = Duration::from_secs(15);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// Pause after a failing `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Checks that `host_port` (part of `addr`) is `host:port`: an IPv4 literal, a bracketed IPv6 literal
/// or a name, and a port from 0 to 65535.
///
/// # Errors
/// [`TransportError::InvalidAddress`] naming `addr` and what is wrong.
pub fn check_host_port(addr: &PeerAddress, host_port: &str) -> Result<(), TransportError> {
    let invalid = |reason: &str| TransportError::InvalidAddress { addr: addr.to_string(), reason: reason.to_owned() };
    let (host, port) = host_port.rsplit_once(':').ok_or_else(|| invalid("expected host:port"))?;
    if host.is_empty() || host.contains('/') {
        return Err(invalid("expected host:port, with IPv6 literals in brackets, and no path"));
    }
    port.parse::<u16>().map_err(|_| invalid("the port must be a number from 0 to 65535"))?;
    Ok(())
}

/// Every socket address `host_port` names (a DNS name may give several); `addr` labels errors.
///
/// # Errors
/// [`TransportError::InvalidAddress`] from [`check_host_port`]; [`TransportError::Unreachable`] when
/// the name does not resolve.
pub async fn resolve(addr: &PeerAddress, host_port: &str) -> Result<Vec<SocketAddr>, TransportError> {
    check_host_port(addr, host_port)?;
    let unreachable = |reason: String| TransportError::Unreachable { addr: addr.to_string(), reason };
    let found: Vec<_> =
        tokio::net::lookup_host(host_port).await.map_err(|e| unreachable(format!("resolving: {e}")))?.collect();
    if found.is_empty() {
        return Err(unreachable("the name resolves to no address".into()));
    }
    Ok(found)
}

/// Connects to the first address of `host_port` that answers, resolution included, within `within`
/// (the transport's dial timeout).
///
/// # Errors
/// As [`resolve`]; [`TransportError::Unreachable`] with the last address's error when none answers;
/// [`TransportError::Timeout`] after `within`.
pub async fn connect(addr: &PeerAddress, host_port: &str, within: Duration) -> Result<TcpStream, TransportError> {
    tokio::time::timeout(within, connect_unbounded(addr, host_port))
        .await
        .map_err(|_| TransportError::Timeout { what: "TCP connect", after: within })?
}

async fn connect_unbounded(addr: &PeerAddress, host_port: &str) -> Result<TcpStream, TransportError> {
    let mut last_error = None;
    for socket in resolve(addr, host_port).await? {
        match TcpStream::connect(socket).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last_error = Some(format!("{socket}: {e}")),
        }
    }
    Err(TransportError::Unreachable { addr: addr.to_string(), reason: last_error.unwrap_or_default() })
}

/// `TCP_NODELAY` (the secure channel's writer already coalesces), keepalive, and on Linux/Android
/// `TCP_NOTSENT_LOWAT` = [`NOTSENT_LOWAT`], which bounds the kernel's part of K by
/// [`KERNEL_UNSENT_BOUND`].
///
/// # Errors
/// The operating system's refusal of an option.
pub fn configure(stream: &TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let socket = socket2::SockRef::from(stream);
    socket
        .set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(KEEPALIVE_TIME).with_interval(KEEPALIVE_INTERVAL))?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket.set_tcp_notsent_lowat(NOTSENT_LOWAT)?;
    Ok(())
}

/// The next inbound connection of `listener`. Transient failures (out of file descriptors) are logged
/// and retried after a short pause, so an [`Inbound`](super::Inbound) source never ends on them.
pub async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(pair) => return pair,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
            }
        }
    }
}
