//! # quorumnet-quic
//!
//! The `quic` transport (WIRE.md §3): QUIC on quinn with rustls and the ring provider, ALPN
//! `quorumnet/1`, and the validator identity bound to the TLS session. Addresses are
//! `quic://host:port` — IPv4 and bracketed IPv6 literals or names; port 0 on `listen` picks a free
//! port, which [`Listener::local_addr`](quorumnet_core::transport::Listener::local_addr) reports.
//!
//! ## Identity
//! The server presents a fresh self-signed certificate (SNI `quorumnet`) that carries no identity;
//! clients present none. The client opens the one bidirectional stream and each side writes a
//! u32-length-prefixed CBOR `{"v": 1, "pk", "sig"}` with
//! `sig = Sign(sk, "quorumnet/1/quic-auth" || ChainId || role || exporter)` — role `0x00` client,
//! `0x01` server, exporter the TLS keying-material exporter (label `EXPORTER-quorumnet-auth`, empty
//! context, 32 bytes) — see [`proof`]. Each side checks the peer's proof, its admission and (the
//! dialer) the expected id; failures close the connection with code 1 (bad proof), 2 (not admitted or
//! unexpected), 3 (protocol violation) or 4 (timeout) and surface as
//! [`quorumnet_core::transport::TransportError::Handshake`] with a
//! [`HandshakeFailure`](quorumnet_core::transport::HandshakeFailure). Both sides write at once, so a
//! dialer the listener refuses may see its `dial` succeed and the connection then end without a frame.
//!
//! ## Frames and limits
//! - Frames (u32 length + bytes) travel in order on that one stream; a length of 0 or above the frame
//!   limit closes the connection with code 3.
//! - K = [`settings::SEND_BUDGET`] (64 KiB queue) + [`settings::STREAM_WINDOW`] (192 KiB: receive and
//!   send windows, so quinn holds at most that much unacknowledged) = 256 KiB; a frame larger than
//!   the queue is accepted alone. The window also caps one connection at 192 KiB per round trip.
//! - Idle timeout [`settings::IDLE_TIMEOUT`] (20 s) with keep-alive PINGs every
//!   [`settings::KEEP_ALIVE_INTERVAL`] (5 s); UDP socket buffers of [`settings::SOCKET_BUFFER`].
//! - Dialing is bounded by `dial_timeout` (the QUIC + TLS handshake) plus `handshake_timeout` (the
//!   identity proof); a listener runs at most `max_concurrent_handshakes` at once, each bounded by
//!   `handshake_timeout` from the first packet.
//! - `close` FINs the stream once the queue is flushed and waits for the peer's acknowledgement; the
//!   peer sees `Ok(None)`. The QUIC connection closes (code 0) when both directions have ended, or
//!   ours has and the handle was dropped. A connection dropped without `close` flushes in the
//!   background for at most [`settings::DROP_FLUSH_LIMIT`] (20 s), then closes with code 4.
//!
//! ```no_run
//! # async fn demo(ctx: quorumnet_core::transport::TransportContext) -> Result<(), Box<dyn std::error::Error>> {
//! use quorumnet_core::transport::{Connection, Listener, Transport};
//! use quorumnet_quic::QuicTransport;
//!
//! let transport = QuicTransport::new(ctx)?;
//! let mut listener = transport.listen(&"quic://127.0.0.1:0".parse()?).await?;
//! let addr = listener.local_addr();
//! let inbound = tokio::spawn(async move { listener.accept().await });
//! let conn = transport.dial(&addr, None).await?;
//! conn.send("hello".into()).await?;
//! # drop(inbound);
//! # Ok(()) }
//! ```

mod address;
mod connection;
mod handshake;
pub mod proof;
pub mod settings;
#[doc(hidden)]
pub mod testing;
mod tls;
mod transport;

use std::sync::Arc;

use quorumnet_core::transport::{TransportError, TransportPlugin};

pub use address::SCHEME;
pub use connection::QuicConnection;
pub use handshake::ProofMaker;
pub use tls::{TlsSetupError, ALPN, SERVER_NAME};
pub use transport::QuicTransport;

inventory::submit! {
    TransportPlugin {
        scheme: SCHEME,
        description: "QUIC with the validator identity bound to the TLS session (WIRE.md §3)",
        build: |ctx| {
            let transport = QuicTransport::new(ctx.clone()).map_err(|e| TransportError::Io {
                addr: "quic://".to_owned(),
                source: std::io::Error::other(e),
            })?;
            Ok(Arc::new(transport))
        },
    }
}
