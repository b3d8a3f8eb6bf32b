//! [`WsByteStream`]: the Noise byte stream of WIRE.md §2 carried in WebSocket binary messages, as
//! the `AsyncRead + AsyncWrite` the secure channel runs over.
//!
//! - **Writes** become binary messages of at most [`OUTGOING_MESSAGE_LEN`] bytes, each *fed* to
//!   tungstenite (no flush); `flush` flushes once, so the secure channel's writer, which flushes once
//!   per batch, costs one flush per batch rather than one per message.
//! - **Reads** return the bytes of binary messages in order, whatever their boundaries. Pings are
//!   answered by tungstenite; pongs are ignored.
//! - **End of stream.** WebSocket has no half-close: a Close frame ends both directions, and peers
//!   answer it at once. The contract's `close` ends only the sending side, so this side's end of
//!   stream is an *empty binary message* (it carries no stream bytes, so a peer treating messages as
//!   bytes alone loses nothing); `shutdown` sends it. The side that ends last also sends a Close
//!   (1000), which ends the WebSocket. A read returns end of stream at the peer's empty message, or
//!   at a Close with code 1000 or no code (a peer that only knows Close). docs/wire.md records this.
//! - **Violations.** A text message, a message or frame above [`MAX_MESSAGE_LEN`] (refused by
//!   tungstenite from the header, before the payload is read) or a WebSocket protocol error fails the
//!   read with [`std::io::ErrorKind::InvalidData`], which the secure channel reports as
//!   `TransportError::ProtocolViolation`; this side sends a Close with the matching code (1003, 1009,
//!   1002) first, as a courtesy to the peer. A Close with any other code, or the TCP connection
//!   ending without one, fails the read as a reset: the peer's failure is never a clean end.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf as _, Bytes, BytesMut};
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::settings::{MAX_MESSAGE_LEN, OUTGOING_MESSAGE_LEN};

/// A WebSocket as a byte stream: writes become binary messages, batched until a flush; an empty
/// binary message ends one side's stream; a text or oversized message is a protocol violation.
pub struct WsByteStream<S> {
    ws: WebSocketStream<S>,
    /// What is left of the last binary message read.
    unread: Bytes,
    /// The peer ended its byte stream.
    read_ended: bool,
    /// This side sent its end of stream.
    write_ended: bool,
    /// This side sent its Close.
    close_sent: bool,
}

impl<S> WsByteStream<S> {
    /// Wraps an upgraded WebSocket.
    pub fn new(ws: WebSocketStream<S>) -> Self {
        WsByteStream { ws, unread: Bytes::new(), read_ended: false, write_ended: false, close_sent: false }
    }

    /// The WebSocket underneath. **Tests only**: lets a negative test send what the adapter never
    /// would (a text message, an oversize one) on an authenticated connection.
    #[doc(hidden)]
    pub fn websocket_mut_for_testing(&mut self) -> &mut WebSocketStream<S> {
        &mut self.ws
    }
}

impl<S> std::fmt::Debug for WsByteStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsByteStream")
            .field("unread", &self.unread.len())
            .field("read_ended", &self.read_ended)
            .field("write_ended", &self.write_ended)
            .finish()
    }
}

fn violation(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("WebSocket protocol violation: {what}"))
}

/// The I/O error a tungstenite failure is, and the Close code to tell the peer (for the peer's own
/// violations).
fn classify(error: WsError) -> (io::Error, Option<CloseCode>) {
    match error {
        WsError::Io(e) => (e, None),
        WsError::Capacity(e) => {
            (violation(format!("{e} (a binary message holds at most {MAX_MESSAGE_LEN} bytes)")), Some(CloseCode::Size))
        }
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            (io::Error::new(io::ErrorKind::ConnectionReset, "the connection ended without a WebSocket close"), None)
        }
        WsError::Protocol(e) => (violation(e.to_string()), Some(CloseCode::Protocol)),
        WsError::Utf8(e) => (violation(e), Some(CloseCode::Invalid)),
        WsError::ConnectionClosed | WsError::AlreadyClosed => {
            (io::Error::new(io::ErrorKind::BrokenPipe, "the WebSocket is closed"), None)
        }
        other => (io::Error::other(other.to_string()), None),
    }
}

fn io_error(error: WsError) -> io::Error {
    classify(error).0
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsByteStream<S> {
    /// Tells the peer why we stop reading, best effort: the read fails whatever happens to this.
    fn refuse(&mut self, cx: &mut Context<'_>, code: CloseCode, error: io::Error) -> Poll<io::Result<()>> {
        let close = CloseFrame { code, reason: "quorumnet/1: WIRE.md section 2".into() };
        if Pin::new(&mut self.ws).start_send(Message::Close(Some(close))).is_ok() {
            let _ = Pin::new(&mut self.ws).poll_flush(cx);
        }
        Poll::Ready(Err(error))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsByteStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.unread.is_empty() {
                let n = this.unread.len().min(buf.remaining());
                buf.put_slice(&this.unread[..n]);
                this.unread.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.read_ended {
                return Poll::Ready(Ok(()));
            }
            let message = match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                // The closing handshake completed: nothing more can come.
                None => {
                    this.read_ended = true;
                    continue;
                }
                Some(Ok(message)) => message,
                Some(Err(error)) => {
                    return match classify(error) {
                        (error, Some(code)) => this.refuse(cx, code, error),
                        (error, None) => Poll::Ready(Err(error)),
                    }
                }
            };
            match message {
                Message::Binary(data) if data.is_empty() => this.read_ended = true,
                // tungstenite already refused larger ones; this keeps the limit whatever its config.
                Message::Binary(data) if data.len() > MAX_MESSAGE_LEN => {
                    let error =
                        violation(format!("a binary message of {} bytes (limit {MAX_MESSAGE_LEN})", data.len()));
                    return this.refuse(cx, CloseCode::Size, error);
                }
                Message::Binary(data) => this.unread = data,
                Message::Text(text) => {
                    let error =
                        violation(format!("a text message of {} bytes (only binary messages are allowed)", text.len()));
                    return this.refuse(cx, CloseCode::Unsupported, error);
                }
                Message::Close(None) => this.read_ended = true,
                Message::Close(Some(frame)) if frame.code == CloseCode::Normal => this.read_ended = true,
                Message::Close(Some(frame)) => {
                    let reason = format!("the peer closed the WebSocket with code {}: {}", frame.code, frame.reason);
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionAborted, reason)));
                }
                // tungstenite queues the pong itself; read frames are never `Frame`.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsByteStream<S> {
    /// Feeds one binary message: waits until tungstenite drained the previous one into the socket.
    fn poll_feed(&mut self, cx: &mut Context<'_>, message: Message) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.ws).poll_ready(cx)).map_err(io_error)?;
        Poll::Ready(Pin::new(&mut self.ws).start_send(message).map_err(io_error))
    }

    fn check_writable(&self) -> io::Result<()> {
        match self.write_ended {
            true => Err(io::Error::new(io::ErrorKind::BrokenPipe, "write after the stream was shut down")),
            false => Ok(()),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsByteStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.check_writable()?;
        // An empty message is the end of stream: an empty write sends nothing.
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = buf.len().min(OUTGOING_MESSAGE_LEN);
        ready!(self.poll_feed(cx, Message::Binary(Bytes::copy_from_slice(&buf[..n]))))?;
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check_writable()?;
        let total: usize = bufs.iter().map(|b| b.len()).sum::<usize>().min(OUTGOING_MESSAGE_LEN);
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        // Readiness first: a pending poll must not have consumed anything.
        ready!(Pin::new(&mut self.ws).poll_ready(cx)).map_err(io_error)?;
        let mut message = BytesMut::with_capacity(total);
        for buf in bufs {
            let take = buf.len().min(total - message.len());
            message.extend_from_slice(&buf[..take]);
        }
        Pin::new(&mut self.ws).start_send(Message::Binary(message.freeze())).map_err(io_error)?;
        Poll::Ready(Ok(total))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_flush(cx).map_err(io_error)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.write_ended {
            ready!(self.poll_feed(cx, Message::Binary(Bytes::new())))?;
            self.write_ended = true;
        }
        if self.read_ended && !self.close_sent {
            // Both directions have ended: end the WebSocket too.
            let normal = CloseFrame { code: CloseCode::Normal, reason: "".into() };
            ready!(self.poll_feed(cx, Message::Close(Some(normal))))?;
            self.close_sent = true;
        }
        Pin::new(&mut self.ws).poll_flush(cx).map_err(io_error)
    }
}
