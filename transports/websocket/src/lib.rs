//! # quorumnet-websocket
//!
//! The WebSocket transport: core's Noise secure channel ([`quorumnet_core::secure`], WIRE.md §2)
//! carried in WebSocket binary messages, over plain TCP (`ws://`) or TLS (`wss://`). It exists for
//! reachability: validators and relays behind firewalls or proxies that pass only HTTP(S).
//!
//! Addresses are `ws://host:port[/path]` and `wss://host:port[/path]` — IPv4 and bracketed IPv6
//! literals (`ws://[::1]:7000`) or names; the path defaults to `/`. Port 0 on `listen` picks a free
//! port, which [`Listener::local_addr`](quorumnet_core::transport::Listener::local_addr) reports
//! (with the path). A listener answers any path.
//!
//! ## Wire
//! - The client requests subprotocol `quorumnet/1` and offers no extension (the payload is
//!   ciphertext: compression would gain nothing); the server refuses a request without the
//!   subprotocol with HTTP 400 and echoes it otherwise ([`upgrade`](crate) rules, [`SUBPROTOCOL`]).
//! - The Noise byte stream (u16-length-prefixed Noise messages) travels in binary messages of at
//!   most [`settings::OUTGOING_MESSAGE_LEN`] (64 KiB) sent, [`settings::MAX_MESSAGE_LEN`] (1 MiB)
//!   accepted; boundaries carry no meaning. A text message or a larger message closes the connection
//!   as a protocol violation ([`TransportError::ProtocolViolation`](quorumnet_core::transport::TransportError::ProtocolViolation)).
//! - WebSocket has no half-close, and the contract's `close` ends only the sending side: the end of
//!   one side's byte stream is an empty binary message; the side ending last also sends a Close
//!   (1000). See [`WsByteStream`].
//! - Pings are answered (by tungstenite); liveness comes from TCP keepalive and the node's
//!   heartbeats, so the transport sends none.
//!
//! ## Guarantees
//! - Every connection is mutually authenticated by the Noise handshake, admitted by the live
//!   [`Admission`](quorumnet_core::transport::Admission) handle and, for a dialer that names one, the
//!   expected validator. TLS adds confidentiality of the HTTP upgrade and reachability through
//!   TLS-only paths; it does not carry identity.
//! - Dialing is bounded by `dial_timeout` (resolution and TCP connect) plus `handshake_timeout`
//!   (TLS, HTTP upgrade and Noise together, from connect). A listener runs at most
//!   `max_concurrent_handshakes` at once, each bounded by `handshake_timeout` from accept, TLS and
//!   upgrade included. Handshake failures are logged (`tracing`, one span per connection) and never
//!   surface from `accept`.
//! - Nothing a peer sends panics or makes the transport allocate beyond the limits above.
//!
//! ## K, the unsent bound
//! `K =` [`settings::SEND_BUDGET`] (≈ 80 KiB: the secure channel's queue and writer batch) `+`
//! [`settings::WEBSOCKET_UNSENT_BOUND`] (one outgoing message, 64 KiB + header: tungstenite writes
//! each message at once and reports not-ready until the socket took it) `+`
//! [`settings::TLS_UNSENT_BOUND`] (32 KiB of rustls records, `wss://` only) `+`
//! [`KERNEL_UNSENT_BOUND`](quorumnet_core::transport::tcp::KERNEL_UNSENT_BOUND) (80 KiB under
//! `TCP_NOTSENT_LOWAT`) `≤ 256 KiB`. As for tcp-noise, systems without `TCP_NOTSENT_LOWAT` make the
//! kernel part the socket send buffer, and K is then not honest. A single frame larger than the send
//! budget is accepted into an empty queue.
//!
//! ```no_run
//! # async fn demo(ctx: quorumnet_core::transport::TransportContext) -> Result<(), quorumnet_core::transport::TransportError> {
//! use quorumnet_core::transport::{Connection, Listener, Transport};
//! use quorumnet_websocket::WebSocketTransport;
//!
//! let transport = WebSocketTransport::new(ctx);
//! let mut listener = transport.listen(&"ws://127.0.0.1:0/quorumnet".parse().unwrap()).await?;
//! let addr = listener.local_addr(); // ws://127.0.0.1:PORT/quorumnet
//! let inbound = tokio::spawn(async move { listener.accept().await });
//! let conn = transport.dial(&addr, None).await?;
//! conn.send("hello".into()).await?;
//! # drop(inbound);
//! # Ok(()) }
//! ```
//!
//! ## Registry
//! Two plugins: `ws` builds [`WebSocketTransport::new`]; `wss` cannot be built from a
//! [`TransportContext`](quorumnet_core::transport::TransportContext) alone (it needs a
//! [`WssConfig`]), so it fails saying so: build [`WebSocketTransport::secure`] and hand it to the
//! node with `NodeBuilder::transport_with`.

mod address;
pub mod settings;
mod stream;
#[doc(hidden)]
pub mod testing;
mod tls;
mod transport;
mod upgrade;

use std::sync::Arc;

use quorumnet_core::transport::TransportPlugin;

pub use address::{SCHEME, SECURE_SCHEME};
pub use settings::SUBPROTOCOL;
pub use stream::WsByteStream;
pub use tls::{SelfSigned, TlsSetupError, WssConfig};
pub use transport::{PayloadForger, WebSocketTransport};

inventory::submit! {
    TransportPlugin {
        scheme: SCHEME,
        description: "WebSocket carrying the Noise_XX secure channel (WIRE.md §2)",
        build: |ctx| Ok(Arc::new(WebSocketTransport::new(ctx.clone()))),
    }
}

inventory::submit! {
    TransportPlugin {
        scheme: SECURE_SCHEME,
        description: "WebSocket over TLS carrying the Noise_XX secure channel (WIRE.md §2); needs a WssConfig",
        build: transport::build_secure_from_registry,
    }
}
