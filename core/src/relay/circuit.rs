//! [`CircuitStream`]: one relay circuit as the `AsyncRead + AsyncWrite` byte stream the Noise
//! channel runs over, multiplexed with the other circuits on one link to the relay.
//!
//! - **Writes** become `Data` frames of at most [`MAX_DATA_LEN`] bytes, limited by the circuit's send
//!   credit and by [`RelayClientConfig::circuit_unsent_bound`] bytes queued locally; at either limit
//!   the write is pending until credit comes back or the link drains. A write never waits for another
//!   circuit's credit.
//! - **Reads** return the circuit's bytes in order. The link's reader never waits for a circuit: what
//!   the peer may send is bounded by the credit this side granted, so it always fits. Consumed bytes
//!   go back to the peer as `Credit` frames, a quarter window at a time.
//! - **End of stream.** `shutdown` sends `Close` (a half-close); a read returns end of stream after the
//!   peer's `Close`. A `Reset` (the peer abandoned the circuit, the relay enforced a limit, the link
//!   failed) fails later writes; reads return what arrived, then end of stream if the peer had closed
//!   its side cleanly before, else an error — so a peer's failure never looks like a clean end.
//! - **Drop** without both sides closed resets the circuit, so the relay and the peer free it.
//!
//! [`RelayClientConfig::circuit_unsent_bound`]: super::RelayClientConfig::circuit_unsent_bound

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Buf as _, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::client::LinkShared;
use super::credit::{CreditError, CreditReturn, Window};
use super::wire::{RelayFrame, RelayReason, INITIAL_CREDIT, MAX_DATA_LEN};
use crate::identity::ValidatorId;

/// The state of one circuit shared by its stream and the link's reader and writer tasks.
pub(crate) struct CircuitShared {
    pub(crate) id: u64,
    state: Mutex<CircuitState>,
}

struct CircuitState {
    inbound: VecDeque<Bytes>,
    /// What the peer may still send us: checked on every `Data`.
    recv_window: Window,
    credit_return: CreditReturn,
    read_waker: Option<Waker>,
    peer_closed: bool,
    /// Why the circuit ended abnormally, once it did.
    reset: Option<String>,
    send_window: Window,
    /// Data bytes queued for the link writer, not yet handed to the relay connection.
    queued: usize,
    write_waker: Option<Waker>,
    local_closed: bool,
}

impl CircuitShared {
    pub(crate) fn new(id: u64) -> Arc<Self> {
        Arc::new(CircuitShared {
            id,
            state: Mutex::new(CircuitState {
                inbound: VecDeque::new(),
                recv_window: Window::new(INITIAL_CREDIT),
                credit_return: CreditReturn::new(INITIAL_CREDIT),
                read_waker: None,
                peer_closed: false,
                reset: None,
                send_window: Window::new(INITIAL_CREDIT),
                queued: 0,
                write_waker: None,
                local_closed: false,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, CircuitState> {
        // A panic while holding this lock would be a bug in this file; the state stays consistent
        // enough to fail the circuit, so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Data` from the peer (link reader). Never waits.
    ///
    /// # Errors
    /// The peer sent beyond its credit or after its `Close`: reset the circuit.
    pub(crate) fn push_data(&self, bytes: Vec<u8>) -> Result<(), RelayReason> {
        let mut s = self.lock();
        if s.peer_closed {
            return Err(RelayReason::ProtocolViolation);
        }
        s.recv_window.spend(bytes.len() as u64).map_err(|_: CreditError| RelayReason::CreditViolation)?;
        s.inbound.push_back(Bytes::from(bytes));
        wake(&mut s.read_waker);
        Ok(())
    }

    /// `Credit` from the peer (link reader).
    ///
    /// # Errors
    /// More credit than bytes in flight: reset the circuit.
    pub(crate) fn add_credit(&self, bytes: u64) -> Result<(), RelayReason> {
        let mut s = self.lock();
        s.send_window.restore(bytes).map_err(|_| RelayReason::CreditViolation)?;
        wake(&mut s.write_waker);
        Ok(())
    }

    /// The peer's `Close` (link reader).
    pub(crate) fn peer_closed(&self) {
        let mut s = self.lock();
        s.peer_closed = true;
        wake(&mut s.read_waker);
    }

    /// The circuit ended abnormally: a `Reset` came, or the link failed.
    pub(crate) fn reset(&self, why: String) {
        let mut s = self.lock();
        s.reset.get_or_insert(why);
        wake(&mut s.read_waker);
        wake(&mut s.write_waker);
    }

    /// The link writer handed `len` data bytes of this circuit to the relay connection.
    pub(crate) fn sent(&self, len: usize) {
        let mut s = self.lock();
        s.queued -= len;
        wake(&mut s.write_waker);
    }
}

fn wake(waker: &mut Option<Waker>) {
    if let Some(waker) = waker.take() {
        waker.wake();
    }
}

/// One circuit's byte stream, flow-controlled by credit (see [`crate::relay`]).
pub struct CircuitStream {
    circuit: Arc<CircuitShared>,
    link: Arc<LinkShared>,
    /// The validator at the other end, as the relay named it (the Noise handshake proves it).
    peer: ValidatorId,
}

impl CircuitStream {
    pub(crate) fn new(circuit: Arc<CircuitShared>, link: Arc<LinkShared>, peer: ValidatorId) -> Self {
        CircuitStream { circuit, link, peer }
    }

    /// The validator at the other end as the relay named it (not proven until the Noise handshake).
    pub fn claimed_peer(&self) -> ValidatorId {
        self.peer
    }

    /// Resets the circuit for `reason` before any use (a listener that cannot take it).
    pub(crate) fn refuse(self, reason: RelayReason) {
        self.circuit.lock().reset = Some(reason.to_string());
        self.link.queue(RelayFrame::Reset { circuit: self.circuit.id, reason }, None);
    }

    fn reset_error(why: &str) -> io::Error {
        io::Error::new(io::ErrorKind::ConnectionReset, format!("relay circuit reset: {why}"))
    }
}

impl std::fmt::Debug for CircuitStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitStream").field("circuit", &self.circuit.id).field("peer", &self.peer).finish()
    }
}

impl AsyncRead for CircuitStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let mut s = self.circuit.lock();
        if let Some(front) = s.inbound.front_mut() {
            let n = front.len().min(buf.remaining());
            buf.put_slice(&front[..n]);
            front.advance(n);
            if front.is_empty() {
                s.inbound.pop_front();
            }
            if let Some(credit) = s.credit_return.consumed(n as u64) {
                // Cannot fail: the credit returned is at most what arrived and was consumed.
                let _ = s.recv_window.restore(credit);
                if s.reset.is_none() {
                    self.link.queue(RelayFrame::Credit { circuit: self.circuit.id, bytes: credit }, None);
                }
            }
            return Poll::Ready(Ok(()));
        }
        if s.peer_closed {
            return Poll::Ready(Ok(()));
        }
        if let Some(why) = &s.reset {
            return Poll::Ready(Err(Self::reset_error(why)));
        }
        s.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl AsyncWrite for CircuitStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            // An empty `Data` is a protocol violation: nothing to send.
            return Poll::Ready(Ok(0));
        }
        let mut s = self.circuit.lock();
        if let Some(why) = &s.reset {
            return Poll::Ready(Err(Self::reset_error(why)));
        }
        if s.local_closed {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, "relay circuit already closed")));
        }
        let room = self.link.circuit_unsent_bound().saturating_sub(s.queued).min(MAX_DATA_LEN).min(buf.len());
        let n = s.send_window.take_up_to(room as u64) as usize;
        if n == 0 {
            s.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        s.queued += n;
        let frame = RelayFrame::Data { circuit: self.circuit.id, bytes: buf[..n].to_vec() };
        self.link.queue(frame, Some((self.circuit.clone(), n)));
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Frames leave in queue order; nothing is held back waiting for a flush.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut s = self.circuit.lock();
        if !s.local_closed && s.reset.is_none() {
            s.local_closed = true;
            self.link.queue(RelayFrame::Close { circuit: self.circuit.id }, None);
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for CircuitStream {
    fn drop(&mut self) {
        let abandoned = {
            let mut s = self.circuit.lock();
            let abandoned = s.reset.is_none() && !(s.local_closed && s.peer_closed);
            if abandoned {
                s.reset = Some("dropped".into());
            }
            abandoned
        };
        if abandoned {
            self.link.queue(RelayFrame::Reset { circuit: self.circuit.id, reason: RelayReason::Abandoned }, None);
        }
        self.link.forget(self.circuit.id);
    }
}
