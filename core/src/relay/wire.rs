//! The relay control protocol (WIRE.md §7, `docs/wire.md` "Relay circuits"): one [`RelayFrame`] per
//! frame of the authenticated connection between a validator and its relay.
//!
//! Circuit numbers are per link. The side that opens a circuit picks its number: a validator opening
//! one with [`RelayFrame::Connect`] uses an even number, the relay announcing one with
//! [`RelayFrame::Incoming`] an odd one, so the two never collide on a link that both dials and is
//! dialed through the relay.

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::identity::ValidatorId;

/// Bytes one direction of a circuit may have in flight (sent, not yet credited back) — the credit
/// every circuit starts with. 256 KiB sustains 256 KiB per round trip between the two ends: ≈ 12 MiB/s
/// at 20 ms, ≈ 2.5 MiB/s at 100 ms, while a relay holds at most that much per circuit direction
/// for a reader that stopped.
pub const INITIAL_CREDIT: u64 = 256 * 1024;

/// The most bytes one [`RelayFrame::Data`] carries: a Noise transport message and its prefix fit.
pub const MAX_DATA_LEN: usize = 64 * 1024;

/// One relay control frame: externally tagged CBOR, `{"Variant": {...}}`, like [`crate::message::Frame`].
///
/// ```
/// use quorumnet_core::relay::wire::RelayFrame;
///
/// let credit = RelayFrame::Credit { circuit: 2, bytes: 65536 };
/// assert_eq!(RelayFrame::decode(&credit.encode()).unwrap(), credit);
/// assert!(RelayFrame::decode(b"\xa0").is_err()); // an empty map is no frame
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelayFrame {
    /// Validator → relay: hold (or renew) a reservation for my id on this link: `{"Reserve": {}}`.
    Reserve {},
    /// Relay → validator: the reservation holds for `expires_in_ms` from now; renew before.
    Reserved {
        /// Lifetime of the reservation, in milliseconds.
        expires_in_ms: u64,
    },
    /// Relay → validator: the reservation was refused.
    Refused {
        /// Why.
        reason: RelayReason,
    },
    /// Validator → relay: open circuit `circuit` (even) to `target`, which must hold a reservation.
    Connect {
        /// The dialer's number for the circuit on its link.
        circuit: u64,
        /// The validator to reach.
        target: ValidatorId,
    },
    /// Relay → dialer: the circuit is open (the target was told); data may flow.
    Connected {
        /// The dialer's circuit number.
        circuit: u64,
    },
    /// Relay → target: `from` opened circuit `circuit` (odd) to you. `from` is the id the relay's
    /// handshake with the dialer proved; the end-to-end Noise handshake proves it again.
    Incoming {
        /// The relay's number for the circuit on the target's link.
        circuit: u64,
        /// The dialer.
        from: ValidatorId,
    },
    /// Opaque circuit bytes (Noise messages of the end-to-end channel), 1 to [`MAX_DATA_LEN`].
    Data {
        /// The circuit, numbered as on the link it travels.
        circuit: u64,
        /// The bytes.
        #[serde(with = "crate::codec::bytes::bstr")]
        bytes: Vec<u8>,
    },
    /// The receiver read `bytes` more bytes of the circuit: the sender may send that much more.
    Credit {
        /// The circuit.
        circuit: u64,
        /// Bytes returned to the sender's window (> 0).
        bytes: u64,
    },
    /// The sender will send no more data on the circuit (a half-close); the other direction goes on.
    Close {
        /// The circuit.
        circuit: u64,
    },
    /// The circuit is over in both directions, for `reason`; also the relay's refusal of a `Connect`.
    Reset {
        /// The circuit.
        circuit: u64,
        /// Why.
        reason: RelayReason,
    },
}

/// Why a relay refused a reservation or ended a circuit; a CBOR text string on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum RelayReason {
    /// The target holds no reservation on this relay: it is not behind this relay (any more).
    #[error("the target holds no reservation on this relay; dial one of its other addresses")]
    NoReservation,
    /// The relay holds as many reservations as its configuration allows.
    #[error("the relay holds its maximum number of reservations; use another relay")]
    ReservationCapReached,
    /// The relay carries as many circuits as its configuration allows (in all, or for this peer).
    #[error("the relay carries its maximum number of circuits; retry later or use another relay")]
    CircuitCapReached,
    /// The circuit carried the relay's per-circuit byte limit.
    #[error("the circuit reached the relay's per-circuit byte limit; reconnect")]
    ByteLimit,
    /// The circuit lasted the relay's per-circuit time limit.
    #[error("the circuit reached the relay's per-circuit time limit; reconnect")]
    TimeLimit,
    /// A side sent more data than its credit allowed, or returned more credit than it was sent.
    #[error("flow-control credit was violated on the circuit")]
    CreditViolation,
    /// The other end's link to the relay ended.
    #[error("the other end's link to the relay ended")]
    PeerGone,
    /// The end that reset it stopped using the circuit (dropped it without closing, or it is not
    /// accepting circuits).
    #[error("the other end abandoned the circuit")]
    Abandoned,
    /// A side broke the relay protocol on the circuit (an unknown circuit number, data after Close).
    #[error("relay protocol violation on the circuit")]
    ProtocolViolation,
    /// The target has too many circuits waiting to be accepted.
    #[error("the target is not accepting circuits fast enough; retry later")]
    Busy,
}

impl RelayFrame {
    /// The frame's CBOR encoding.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes one frame, rejecting trailing bytes, an empty `Data` and a zero `Credit`.
    ///
    /// # Errors
    /// [`CodecError`] naming what was wrong.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let frame: RelayFrame = codec::decode("relay frame", bytes)?;
        let invalid = |reason: &str| CodecError::Schema { what: "relay frame", offset: None, reason: reason.into() };
        match &frame {
            RelayFrame::Data { bytes, .. } if bytes.is_empty() => Err(invalid("Data carries no bytes")),
            RelayFrame::Data { bytes, .. } if bytes.len() > MAX_DATA_LEN => Err(invalid("Data above 64 KiB")),
            RelayFrame::Credit { bytes: 0, .. } => Err(invalid("Credit of 0 bytes")),
            _ => Ok(frame),
        }
    }

    /// The circuit the frame is about, if any.
    pub fn circuit(&self) -> Option<u64> {
        match self {
            RelayFrame::Connect { circuit, .. }
            | RelayFrame::Connected { circuit }
            | RelayFrame::Incoming { circuit, .. }
            | RelayFrame::Data { circuit, .. }
            | RelayFrame::Credit { circuit, .. }
            | RelayFrame::Close { circuit }
            | RelayFrame::Reset { circuit, .. } => Some(*circuit),
            RelayFrame::Reserve {} | RelayFrame::Reserved { .. } | RelayFrame::Refused { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_text_strings_and_data_is_a_byte_string() {
        let reset = RelayFrame::Reset { circuit: 3, reason: RelayReason::NoReservation };
        // {"Reset": {"circuit": 3, "reason": "NoReservation"}}
        assert!(hex::encode(reset.encode()).contains(&hex::encode("NoReservation")));
        let data = RelayFrame::Data { circuit: 1, bytes: vec![7; 3] }.encode();
        assert!(hex::encode(&data).ends_with("43070707"), "bstr(3)");
    }

    #[test]
    fn empty_data_and_zero_credit_are_refused() {
        let empty = RelayFrame::Data { circuit: 1, bytes: vec![] }.encode();
        assert!(RelayFrame::decode(&empty).is_err());
        assert!(RelayFrame::decode(&RelayFrame::Credit { circuit: 1, bytes: 0 }.encode()).is_err());
    }
}
