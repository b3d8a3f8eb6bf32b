//! The WebSocket knobs, chosen so WIRE.md §2 and the contract hold: the subprotocol, message size
//! limits, no extensions, and K split between the secure channel's queue, tungstenite's write
//! buffer, rustls' record buffer and the kernel.

use quorumnet_core::transport::tcp::KERNEL_UNSENT_BOUND;
use quorumnet_core::transport::MAX_UNSENT_BOUND;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The subprotocol the client requests and the server echoes (WIRE.md §2).
pub const SUBPROTOCOL: &str = "quorumnet/1";

/// The largest binary message either side may send (WIRE.md §2). A larger one read from the peer is
/// a protocol violation, refused by tungstenite from its header, before the payload is read.
pub const MAX_MESSAGE_LEN: usize = 1024 * 1024;

/// The largest binary message this side sends: one write of the secure channel's writer is cut into
/// messages of at most this much. 64 KiB is one maximal Noise message, so the per-message cost (a
/// header of at most 14 bytes, one mask) is negligible, and it keeps tungstenite's part of K small.
pub const OUTGOING_MESSAGE_LEN: usize = 64 * 1024;

/// Longest WebSocket frame header: 2 bytes, an 8-byte extended length, a 4-byte mask.
const MAX_HEADER_LEN: usize = 14;

/// tungstenite's part of K. With a write buffer size of 0 it hands each message to the socket at
/// once; what the socket does not take stays in its buffer, and the sink reports not-ready until it
/// drained, so at most one outgoing message (with its header) waits there.
pub const WEBSOCKET_UNSENT_BOUND: usize = OUTGOING_MESSAGE_LEN + MAX_HEADER_LEN;

/// rustls' part of K for `wss://`: the limit on its buffer of encrypted records not yet written
/// (two 16 KiB records; it then refuses plaintext until the socket took some).
pub const TLS_UNSENT_BOUND: usize = 32 * 1024;

/// The user-space part of K: frame bytes (with their u32 prefixes) queued in the secure channel or in
/// its writer's batch — what the 256 KiB leave after the kernel, tungstenite and rustls (≈ 80 KiB).
pub const SEND_BUDGET: usize = MAX_UNSENT_BOUND - KERNEL_UNSENT_BOUND - WEBSOCKET_UNSENT_BOUND - TLS_UNSENT_BOUND;

const _: () =
    assert!(SEND_BUDGET + WEBSOCKET_UNSENT_BOUND + TLS_UNSENT_BOUND + KERNEL_UNSENT_BOUND <= MAX_UNSENT_BOUND);

/// What the stream under the secure channel may hold unsent: tungstenite, then rustls (`wss://`
/// only), then the kernel.
pub(crate) fn stream_unsent_bound(tls: bool) -> usize {
    WEBSOCKET_UNSENT_BOUND + if tls { TLS_UNSENT_BOUND } else { 0 } + KERNEL_UNSENT_BOUND
}

/// tungstenite's limits for both roles: messages and frames up to [`MAX_MESSAGE_LEN`], each outgoing
/// message written at once (see [`WEBSOCKET_UNSENT_BOUND`]). tungstenite 0.30 implements no extension,
/// so permessage-deflate is never negotiated whatever a client offers.
pub(crate) fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .write_buffer_size(0)
        .max_write_buffer_size(2 * WEBSOCKET_UNSENT_BOUND)
        .max_message_size(Some(MAX_MESSAGE_LEN))
        .max_frame_size(Some(MAX_MESSAGE_LEN))
}
