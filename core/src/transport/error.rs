use std::time::Duration;

use crate::identity::ValidatorId;

use super::admission::Refusal;

/// Why a transport operation failed. Each variant is a cause a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No plugin is registered for the address's scheme.
    #[error("no transport registered for scheme {scheme:?} (available: {available}); enable the quorumnet Cargo feature of that name")]
    UnsupportedScheme {
        /// The scheme asked for.
        scheme: String,
        /// The schemes this binary has.
        available: String,
    },
    /// The address is not one this transport can use.
    #[error("invalid address {addr}: {reason}")]
    InvalidAddress {
        /// The address.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The operating system refused an operation (bind, connect, read, write).
    #[error("{addr}: {source}")]
    Io {
        /// The local or remote address involved.
        addr: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Nothing answers at the address.
    #[error("cannot reach {addr}: {reason}")]
    Unreachable {
        /// The address dialed.
        addr: String,
        /// Why.
        reason: String,
    },
    /// A network wait ran out of time.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What was being waited for.
        what: &'static str,
        /// The configured limit.
        after: Duration,
    },
    /// The handshake completed no authenticated, admitted connection.
    #[error("handshake with {peer}: {failure}")]
    Handshake {
        /// The remote address.
        peer: String,
        /// Why it failed.
        failure: HandshakeFailure,
    },
    /// `send` of a zero-length frame.
    #[error("frame is empty: frames carry at least 1 byte")]
    EmptyFrame,
    /// `send` of a frame above the connection's limit.
    #[error(
        "frame of {len} bytes exceeds the {limit}-byte frame limit: split it (the node sends large payloads as parts)"
    )]
    FrameTooLarge {
        /// The frame's length.
        len: usize,
        /// The connection's limit.
        limit: usize,
    },
    /// The connection was closed (locally, or cleanly by the peer) before the operation.
    #[error("connection is closed")]
    Closed,
    /// The connection failed: reset, broken pipe, decrypt failure. Reconnect.
    #[error("connection to {peer} lost: {reason}")]
    ConnectionLost {
        /// The remote validator.
        peer: ValidatorId,
        /// Why.
        reason: String,
    },
    /// The peer broke the wire protocol (oversize or empty frame, bad encoding). Score it and reconnect.
    #[error("protocol violation by {peer}: {reason}")]
    ProtocolViolation {
        /// The remote validator.
        peer: ValidatorId,
        /// What it did.
        reason: String,
    },
    /// The listener stopped accepting.
    #[error("listener on {addr} is closed")]
    ListenerClosed {
        /// The listener's address.
        addr: String,
    },
}

/// Why a handshake produced no connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeFailure {
    /// The peer's identity proof did not verify (bad signature, wrong chain, replayed proof, bad key).
    #[error("identity proof rejected: {0}")]
    BadIdentityProof(String),
    /// The proven identity is not admitted.
    #[error("validator {id} is not admitted: {refusal}")]
    NotAdmitted {
        /// The proven identity.
        id: ValidatorId,
        /// Why the admission handle refused it.
        refusal: Refusal,
    },
    /// The dialer expected a different validator at that address.
    #[error("expected validator {expected}, but the peer proved {actual}")]
    UnexpectedIdentity {
        /// Who the dialer wanted.
        expected: ValidatorId,
        /// Who answered.
        actual: ValidatorId,
    },
    /// The peer closed the connection or refused us during the handshake.
    #[error("peer closed the connection during the handshake (it may not admit us)")]
    ClosedByPeer,
    /// The peer sent something the handshake protocol does not allow.
    #[error("protocol violation: {0}")]
    Protocol(String),
}
