//! quinn's knobs, chosen so the contract holds: K from the flow-control windows, a documented idle
//! timeout and keep-alive, one bidirectional stream per connection, and UDP socket buffers large
//! enough that a loopback burst is not dropped by the kernel.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quorumnet_core::transport::MAX_UNSENT_BOUND;

/// The user-space part of K: frame bytes (with their u32 prefixes) queued for the writer task, which
/// moves them into quinn's stream buffer. One writer batch (64 KiB) is enough: the rest of K does more
/// good as flow-control window, which bounds the bytes in flight.
pub const SEND_BUDGET: usize = 64 * 1024;

/// quinn's part of K: each side's stream and connection receive windows and its send window. quinn
/// takes bytes into a stream only within the peer's flow-control credit and its own send window, so
/// at most this much sits in quinn unacknowledged — unsent bytes included — whatever the peer
/// advertises. It also bounds the bytes in flight, so one connection moves at most this much per
/// round trip (192 KiB: ≈ 1.6 GB/s at 120 µs on loopback, ≈ 3.9 MB/s at 50 ms): the price of a K
/// that holds.
pub const STREAM_WINDOW: usize = MAX_UNSENT_BOUND - SEND_BUDGET;

const _: () = assert!(SEND_BUDGET + STREAM_WINDOW <= MAX_UNSENT_BOUND);

/// A connection with no packet for this long is closed (both sides advertise it; the smaller wins).
/// With [`KEEP_ALIVE_INTERVAL`] probes, an idle but live peer never reaches it; a vanished one is
/// noticed within 20 s (tcp-noise: ~1 min of TCP keepalive).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// A PING after this much silence keeps a quiet link (and NAT bindings) alive.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// How long a connection dropped without `close` may go on flushing in the background. Past it the
/// connection is closed with code 4 (timeout) and the peer sees an error, not `Ok(None)`. Without it,
/// a live peer that never reads would hold the connection (and its task) for ever: keep-alives keep
/// the idle timeout from firing.
pub const DROP_FLUSH_LIMIT: Duration = IDLE_TIMEOUT;

/// SO_RCVBUF / SO_SNDBUF asked for each UDP socket. With Linux's ~208 KiB defaults one loopback stream
/// lost ≈ 5 000 packets per GB to receive-buffer overruns; the kernel caps the request at
/// `net.core.rmem_max` / `wmem_max` (raise those on a busy validator).
pub const SOCKET_BUFFER: usize = 8 * 1024 * 1024;

/// The transport parameters of every connection, client or server.
pub(crate) fn transport_config() -> Arc<quinn::TransportConfig> {
    let window = quinn::VarInt::from_u32(STREAM_WINDOW as u32);
    let mut config = quinn::TransportConfig::default();
    config
        .stream_receive_window(window)
        .receive_window(window)
        .send_window(STREAM_WINDOW as u64)
        // One ordered stream, opened by the client (WIRE.md §3); nothing else may be opened.
        .max_concurrent_bidi_streams(quinn::VarInt::from_u32(1))
        .max_concurrent_uni_streams(quinn::VarInt::from_u32(0))
        .datagram_receive_buffer_size(None)
        .max_idle_timeout(Some(IDLE_TIMEOUT.try_into().expect("20 s is a valid QUIC idle timeout")))
        .keep_alive_interval(Some(KEEP_ALIVE_INTERVAL));
    Arc::new(config)
}

/// A UDP socket bound to `addr` with [`SOCKET_BUFFER`]-sized buffers (as large as the kernel allows).
pub(crate) fn udp_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // Best effort: a smaller buffer than asked only costs loss under bursts.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_sockets_get_the_buffers_the_kernel_allows() {
        let socket = udp_socket(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let socket = socket2::SockRef::from(&socket);
        // Linux caps a request at rmem_max / wmem_max and reports twice what it grants.
        let cap = |name: &str| {
            std::fs::read_to_string(format!("/proc/sys/net/core/{name}")).ok().and_then(|v| v.trim().parse().ok())
        };
        if let (Some(rmem), Some(wmem)) = (cap("rmem_max"), cap("wmem_max")) {
            let (rmem, wmem): (usize, usize) = (rmem, wmem);
            assert!(socket.recv_buffer_size().unwrap() >= SOCKET_BUFFER.min(rmem), "receive buffer");
            assert!(socket.send_buffer_size().unwrap() >= SOCKET_BUFFER.min(wmem), "send buffer");
        }
    }
}
