//! Per-circuit flow control, as a pure state machine: each direction of a circuit may have at most a
//! window of bytes in flight (sent but not yet credited back by the reader). A reader that stops
//! stops crediting, so its sender stops at the window — and the link the circuit shares with others
//! never carries more than that for it, so the other circuits keep flowing.
//!
//! The same [`Window`] runs at the sender (how much it may still send), at the relay (checking
//! that each side keeps to it), and at the receiver (how much it may still be sent); [`CreditReturn`]
//! batches what the receiver's reader consumed into `Credit` frames.
//!
//! ```
//! use quorumnet_core::relay::credit::{CreditReturn, Window};
//!
//! let mut sender = Window::new(1000);
//! assert_eq!(sender.take_up_to(1500), 1000); // the whole window, no more
//! assert_eq!(sender.take_up_to(1), 0);
//! let mut reader = CreditReturn::new(1000);
//! assert_eq!(reader.consumed(100), None); // too little to be worth a frame
//! let credit = reader.consumed(200).unwrap();
//! sender.restore(credit).unwrap();
//! assert_eq!(sender.available(), 300);
//! ```

/// A credit rule was broken: the peer is faulty, the circuit must be reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreditError {
    /// More bytes arrived than the window allowed.
    #[error("{len} bytes sent with only {available} bytes of credit")]
    Overrun {
        /// Bytes in the offending frame.
        len: u64,
        /// Credit left before it.
        available: u64,
    },
    /// More credit came back than bytes were sent.
    #[error("{credit} bytes credited back with only {in_flight} bytes in flight")]
    Overcredit {
        /// Credit in the offending frame.
        credit: u64,
        /// Bytes in flight before it.
        in_flight: u64,
    },
}

/// One direction's window: `available` bytes may still be sent, `limit - available` are in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    limit: u64,
    available: u64,
}

impl Window {
    /// A fresh window of `limit` bytes, all available.
    pub fn new(limit: u64) -> Self {
        Window { limit, available: limit }
    }

    /// Bytes that may be sent now.
    pub fn available(&self) -> u64 {
        self.available
    }

    /// Bytes sent and not yet credited back.
    pub fn in_flight(&self) -> u64 {
        self.limit - self.available
    }

    /// Takes as much of `wanted` as the window allows (the sender's side).
    pub fn take_up_to(&mut self, wanted: u64) -> u64 {
        let taken = wanted.min(self.available);
        self.available -= taken;
        taken
    }

    /// Takes exactly `len` (the checking side: relay or receiver).
    ///
    /// # Errors
    /// [`CreditError::Overrun`] when `len` exceeds what is available; nothing is taken then.
    pub fn spend(&mut self, len: u64) -> Result<(), CreditError> {
        if len > self.available {
            return Err(CreditError::Overrun { len, available: self.available });
        }
        self.available -= len;
        Ok(())
    }

    /// Returns `credit` bytes to the window.
    ///
    /// # Errors
    /// [`CreditError::Overcredit`] when more comes back than is in flight; nothing changes then.
    pub fn restore(&mut self, credit: u64) -> Result<(), CreditError> {
        if credit > self.in_flight() {
            return Err(CreditError::Overcredit { credit, in_flight: self.in_flight() });
        }
        self.available += credit;
        Ok(())
    }
}

/// The receiver's batching of credit: a `Credit` frame once a quarter of the window was consumed,
/// so a stream of small reads costs one frame per quarter window rather than one per read, and the
/// sender never waits a full round trip with an empty window while the reader keeps up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditReturn {
    threshold: u64,
    pending: u64,
}

impl CreditReturn {
    /// For a window of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        CreditReturn { threshold: (limit / 4).max(1), pending: 0 }
    }

    /// The reader consumed `len` bytes; returns the credit to send now, if a frame is due.
    pub fn consumed(&mut self, len: u64) -> Option<u64> {
        self.pending += len;
        (self.pending >= self.threshold).then(|| std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overrun_and_an_overcredit_are_refused_and_change_nothing() {
        let mut w = Window::new(10);
        w.spend(4).unwrap();
        assert_eq!(w.spend(7), Err(CreditError::Overrun { len: 7, available: 6 }));
        assert_eq!(w.restore(5), Err(CreditError::Overcredit { credit: 5, in_flight: 4 }));
        assert_eq!((w.available(), w.in_flight()), (6, 4));
        w.restore(4).unwrap();
        assert_eq!(w.available(), 10);
    }

    #[test]
    fn credit_returns_in_quarter_windows_and_adds_up_to_what_was_consumed() {
        let mut r = CreditReturn::new(1024);
        let returned: u64 = (0..100).filter_map(|_| r.consumed(10)).sum();
        assert!(returned <= 1000 && 1000 - returned < 256);
    }
}
