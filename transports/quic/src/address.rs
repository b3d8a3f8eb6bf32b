//! `quic://host:port` addresses: parsing, resolution, and the address a socket address prints as.

use std::net::SocketAddr;

use quorumnet_core::transport::{PeerAddress, TransportError};

/// The address scheme, without `://`.
pub const SCHEME: &str = "quic";

/// `host:port` from `quic://host:port`: IPv4 and bracketed IPv6 literals or names.
pub(crate) fn socket_target(addr: &PeerAddress) -> Result<&str, TransportError> {
    let invalid = |reason: &str| TransportError::InvalidAddress { addr: addr.to_string(), reason: reason.to_owned() };
    if addr.scheme() != SCHEME {
        return Err(invalid("not a quic:// address"));
    }
    let rest = addr.rest();
    let (host, port) = rest.rsplit_once(':').ok_or_else(|| invalid("expected host:port"))?;
    if host.is_empty() || host.contains('/') {
        return Err(invalid("expected host:port, with IPv6 literals in brackets, and no path"));
    }
    port.parse::<u16>().map_err(|_| invalid("the port must be a number from 0 to 65535"))?;
    Ok(rest)
}

/// `quic://ip:port`.
pub(crate) fn peer_address(socket: SocketAddr) -> PeerAddress {
    PeerAddress::new(SCHEME, &socket.to_string()).expect("a socket address is a valid address rest")
}

/// Every socket address `addr` names (a DNS name may give several).
pub(crate) async fn resolve(addr: &PeerAddress) -> Result<Vec<SocketAddr>, TransportError> {
    let target = socket_target(addr)?;
    let unreachable = |reason: String| TransportError::Unreachable { addr: addr.to_string(), reason };
    let found: Vec<_> =
        tokio::net::lookup_host(target).await.map_err(|e| unreachable(format!("resolving: {e}")))?.collect();
    if found.is_empty() {
        return Err(unreachable("the name resolves to no address".into()));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(addr: &str) -> Result<String, TransportError> {
        socket_target(&addr.parse().unwrap()).map(str::to_owned)
    }

    #[test]
    fn host_port_literals_and_names_are_accepted() {
        assert_eq!(target("quic://127.0.0.1:7000").unwrap(), "127.0.0.1:7000");
        assert_eq!(target("quic://[::1]:0").unwrap(), "[::1]:0");
        assert_eq!(target("quic://validator.example:443").unwrap(), "validator.example:443");
    }

    #[test]
    fn other_schemes_and_shapes_are_invalid() {
        for bad in ["tcp-noise://127.0.0.1:1", "quic://127.0.0.1", "quic://:7000", "quic://h:99999", "quic://h/x:1"] {
            assert!(matches!(target(bad), Err(TransportError::InvalidAddress { .. })), "{bad}");
        }
    }
}
