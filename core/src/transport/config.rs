use std::time::Duration;

use crate::codec::DEFAULT_MAX_FRAME_LEN;

/// The most bytes a transport may hold accepted-but-unsent (its declared K, DESIGN.md §3): beyond it
/// `send` stays pending. Bounding it bounds how long a vote can wait behind bulk data.
pub const MAX_UNSENT_BOUND: usize = 256 * 1024;

/// A `send` to a peer that never reads must block before this many bytes in total were accepted.
pub const NEVER_READING_PEER_CEILING: usize = 16 * 1024 * 1024;

/// Limits every transport applies. Use a preset; change single fields only with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// Largest frame, in bytes, accepted for sending or receiving.
    pub max_frame_len: usize,
    /// Whole-handshake limit, counted from accept or connect: a stalled peer costs a listener one task
    /// for at most this long.
    pub handshake_timeout: Duration,
    /// Limit on establishing a dialed connection (before the handshake).
    pub dial_timeout: Duration,
    /// Handshakes a listener runs at once; further inbound attempts wait in the OS backlog.
    pub max_concurrent_handshakes: usize,
}

impl TransportConfig {
    /// For validators on the open internet: 10 s covers an intercontinental handshake with loss
    /// (WIRE.md's default ceiling); 256 concurrent handshakes let a 200-validator set reconnect at once.
    pub fn recommended() -> Self {
        TransportConfig {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            handshake_timeout: Duration::from_secs(10),
            dial_timeout: Duration::from_secs(10),
            max_concurrent_handshakes: 256,
        }
    }

    /// For a devnet on one machine or LAN: round trips are sub-millisecond, so 2 s is generous.
    pub fn local() -> Self {
        TransportConfig {
            handshake_timeout: Duration::from_secs(2),
            dial_timeout: Duration::from_secs(2),
            ..Self::recommended()
        }
    }

    /// For tests: failures surface within a second; 64 concurrent handshakes cover any test topology.
    pub fn test() -> Self {
        TransportConfig {
            handshake_timeout: Duration::from_secs(1),
            dial_timeout: Duration::from_secs(1),
            max_concurrent_handshakes: 64,
            ..Self::recommended()
        }
    }
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self::recommended()
    }
}
