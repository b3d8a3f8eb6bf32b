//! Relay limits, with presets. A relay here is a data path for consensus traffic, not libp2p's
//! hole-punching stepping stone (rust-libp2p's relay v2 defaults to 2 minutes and 128 KiB per
//! circuit, then expects a direct connection): a circuit must carry a validator's whole traffic for
//! hours, so the per-circuit limits are generous and exist to bound abuse, and the node simply
//! reconnects when one is reached.
//!
//! What one circuit sustains is set by the credit window ([`INITIAL_CREDIT`](super::wire::INITIAL_CREDIT),
//! 256 KiB in flight per direction): 256 KiB per round trip between the two ends, ≈ 12 MiB/s at
//! 20 ms, ≈ 2.5 MiB/s at 100 ms — a 4 MiB proposal crosses in under 2 round trips' worth of windows
//! at LAN latency, and votes (≈ 3.4 KiB) never wait for credit.

use std::time::Duration;

/// Limits a relay enforces. Use a preset; change single fields only with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// How long a reservation holds without renewal. Clients renew at half of it.
    pub reservation_lifetime: Duration,
    /// Reservations held at once; a `Reserve` beyond it is refused with `ReservationCapReached`.
    pub max_reservations: usize,
    /// Circuits carried at once, in all; a `Connect` beyond it is reset with `CircuitCapReached`.
    pub max_circuits: usize,
    /// Circuits one validator may have open through the relay (as dialer or target).
    pub max_circuits_per_peer: usize,
    /// Bytes one circuit may carry (both directions together) before the relay resets it.
    pub circuit_byte_limit: u64,
    /// How long one circuit may last before the relay resets it.
    pub circuit_time_limit: Duration,
    /// Frames queued towards one validator's link; a full queue makes the links feeding it wait
    /// (credit keeps any one circuit's share of it to one window).
    pub link_queue_frames: usize,
}

impl RelayConfig {
    /// For a relay serving a validator set on the open internet: an hour per reservation (renewed
    /// every 30 minutes), room for 256 NAT-bound validators each reached by a 200-validator set
    /// (`max_circuits` 65 536, `max_circuits_per_peer` 512 covers a full set dialing in twice over);
    /// 64 GiB or 24 h per circuit (a busy validator's traffic for a day), then the node reconnects.
    pub fn recommended() -> Self {
        RelayConfig {
            reservation_lifetime: Duration::from_secs(3600),
            max_reservations: 256,
            max_circuits: 65_536,
            max_circuits_per_peer: 512,
            circuit_byte_limit: 64 << 30,
            circuit_time_limit: Duration::from_secs(24 * 3600),
            link_queue_frames: 256,
        }
    }

    /// For a devnet on one machine: as recommended, with reservations of 5 minutes.
    pub fn local() -> Self {
        RelayConfig { reservation_lifetime: Duration::from_secs(300), ..Self::recommended() }
    }

    /// For tests: 30 s reservations, 16 reservations, 64 circuits (16 per peer), 1 GiB (the
    /// conformance suite's 10 000 frames up to 4 MiB move ~80 MiB) and 10 min per circuit; a test
    /// reaches any limit by lowering one field.
    pub fn test() -> Self {
        RelayConfig {
            reservation_lifetime: Duration::from_secs(30),
            max_reservations: 16,
            max_circuits: 64,
            max_circuits_per_peer: 16,
            circuit_byte_limit: 1 << 30,
            circuit_time_limit: Duration::from_secs(600),
            link_queue_frames: 64,
        }
    }
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self::recommended()
    }
}

/// How a validator uses its relays (the `relay` transport's side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayClientConfig {
    /// Limit on each request to the relay (a reservation, a circuit) to be answered.
    pub request_timeout: Duration,
    /// Wait before re-dialing a relay whose link failed (the listener keeps its reservation alive).
    pub reconnect_delay: Duration,
    /// Incoming circuits waiting for their Noise handshake to start; beyond it new ones are reset
    /// with `Busy`.
    pub max_pending_incoming: usize,
    /// Bytes one circuit may hold queued locally, not yet handed to the relay link: with the secure
    /// channel's send budget it makes the relayed connection's K.
    pub circuit_unsent_bound: usize,
}

impl RelayClientConfig {
    /// 10 s per request (WIRE.md's handshake ceiling); re-dial a lost relay after 1 s; 64 pending
    /// circuits (a validator set reconnecting at once); 64 KiB queued per circuit.
    pub fn recommended() -> Self {
        RelayClientConfig {
            request_timeout: Duration::from_secs(10),
            reconnect_delay: Duration::from_secs(1),
            max_pending_incoming: 64,
            circuit_unsent_bound: 64 * 1024,
        }
    }

    /// For tests: failures surface within a second.
    pub fn test() -> Self {
        RelayClientConfig {
            request_timeout: Duration::from_secs(1),
            reconnect_delay: Duration::from_millis(100),
            ..Self::recommended()
        }
    }
}

impl Default for RelayClientConfig {
    fn default() -> Self {
        Self::recommended()
    }
}
