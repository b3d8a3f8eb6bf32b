//! `ws://host:port[/path]` and `wss://host:port[/path]` addresses: parsing, and the address a bound
//! socket prints as.

use std::net::SocketAddr;

use quorumnet_core::transport::{tcp, PeerAddress, TransportError};

/// The scheme of plain WebSocket addresses, without `://`.
pub const SCHEME: &str = "ws";

/// The scheme of WebSocket-over-TLS addresses, without `://`.
pub const SECURE_SCHEME: &str = "wss";

/// A parsed WebSocket address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WsAddress<'a> {
    /// `wss://`.
    pub tls: bool,
    /// `host:port`, IPv6 literals in brackets.
    pub host_port: &'a str,
    /// The host alone, brackets removed: the TLS server name.
    pub host: &'a str,
    /// The request path, `/` when the address has none.
    pub path: &'a str,
}

impl<'a> WsAddress<'a> {
    /// Parses `addr`, which must use `scheme` (`ws` or `wss`).
    pub fn parse(addr: &'a PeerAddress, scheme: &str) -> Result<Self, TransportError> {
        let invalid = |reason: String| TransportError::InvalidAddress { addr: addr.to_string(), reason };
        if addr.scheme() != scheme {
            return Err(invalid(format!("not a {scheme}:// address (this transport serves {scheme}://)")));
        }
        let rest = addr.rest();
        let (host_port, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, "/"),
        };
        tcp::check_host_port(addr, host_port)?;
        if path.contains(['?', '#']) {
            return Err(invalid("the path may not hold a query or fragment".into()));
        }
        let host = host_port.rsplit_once(':').map_or(host_port, |(host, _)| host);
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        Ok(WsAddress { tls: scheme == SECURE_SCHEME, host_port, host, path })
    }

    /// The request URI: `ws://host:port/path` (or `wss://`).
    pub fn uri(&self) -> String {
        let scheme = if self.tls { SECURE_SCHEME } else { SCHEME };
        format!("{scheme}://{}{}", self.host_port, self.path)
    }
}

/// `scheme://ip:port/path` for a bound or connected socket; the path is left out when it is `/`.
pub(crate) fn peer_address(scheme: &str, socket: SocketAddr, path: &str) -> PeerAddress {
    let path = if path == "/" { "" } else { path };
    PeerAddress::new(scheme, &format!("{socket}{path}")).expect("a socket address and a path are a valid rest")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, scheme: &str) -> Result<(bool, String, String, String), TransportError> {
        let addr: PeerAddress = text.parse().unwrap();
        let parsed = WsAddress::parse(&addr, scheme)?;
        Ok((parsed.tls, parsed.host_port.to_owned(), parsed.host.to_owned(), parsed.path.to_owned()))
    }

    #[test]
    fn literals_names_and_paths_are_accepted() {
        let own = |s: &str| s.to_owned();
        assert_eq!(
            parse("ws://127.0.0.1:7000", SCHEME).unwrap(),
            (false, own("127.0.0.1:7000"), own("127.0.0.1"), own("/"))
        );
        assert_eq!(
            parse("wss://[::1]:0/qn/v1", SECURE_SCHEME).unwrap(),
            (true, own("[::1]:0"), own("::1"), own("/qn/v1"))
        );
        assert_eq!(parse("ws://validator.example:443/", SCHEME).unwrap().2, "validator.example");
    }

    #[test]
    fn other_schemes_and_shapes_are_invalid() {
        for bad in ["wss://127.0.0.1:1", "ws://127.0.0.1", "ws://:7000", "ws://h:99999", "ws://h:1/p?q=1", "quic://h:1"]
        {
            assert!(matches!(parse(bad, SCHEME), Err(TransportError::InvalidAddress { .. })), "{bad}");
        }
    }

    #[test]
    fn a_bound_socket_prints_with_its_path() {
        let socket: SocketAddr = "[::1]:9000".parse().unwrap();
        assert_eq!(peer_address(SECURE_SCHEME, socket, "/relay").to_string(), "wss://[::1]:9000/relay");
        assert_eq!(peer_address(SCHEME, socket, "/").to_string(), "ws://[::1]:9000");
    }
}
