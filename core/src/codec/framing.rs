//! u32 big-endian length-prefixed frames.
//!
//! The announced length is checked against the limit *before* any buffer grows for it, so a peer that
//! announces 4 GiB costs nothing. A length of 0 is a protocol violation. The limit counts the frame's
//! bytes, not the 4-byte prefix.
//!
//! ```
//! use bytes::BytesMut;
//! use quorumnet_core::codec::framing::{write_frame, FrameDecoder};
//!
//! let mut wire = BytesMut::new();
//! write_frame(&mut wire, b"vote", 1024).unwrap();
//! let mut decoder = FrameDecoder::new(1024);
//! assert_eq!(&decoder.decode(&mut wire).unwrap().unwrap()[..], b"vote");
//! assert!(decoder.decode(&mut wire).unwrap().is_none());
//! ```

use bytes::{Buf as _, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::CodecError;

/// Default frame limit: 4 MiB of CBOR (WIRE.md §2), enough for a large proposal; larger payloads are
/// the node's business to split into parts.
pub const DEFAULT_MAX_FRAME_LEN: usize = 4 * 1024 * 1024;

/// Bytes in the length prefix.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// Validates an announced frame length against `limit`.
///
/// # Errors
/// [`CodecError::EmptyFrame`] for 0, [`CodecError::FrameTooLarge`] above `limit`.
pub fn check_frame_len(len: u64, limit: usize) -> Result<usize, CodecError> {
    match len {
        0 => Err(CodecError::EmptyFrame),
        len if len > limit as u64 => Err(CodecError::FrameTooLarge { len, limit }),
        len => Ok(len as usize),
    }
}

/// Appends the length prefix and `frame` to `out`.
///
/// # Errors
/// As [`check_frame_len`]: a sender never writes what its peer must reject.
pub fn write_frame(out: &mut impl BufMut, frame: &[u8], limit: usize) -> Result<(), CodecError> {
    check_frame_len(frame.len() as u64, limit)?;
    out.put_u32(frame.len() as u32);
    out.put_slice(frame);
    Ok(())
}

/// Splits whole frames off the front of a receive buffer.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    limit: usize,
}

impl FrameDecoder {
    /// A decoder that refuses frames longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        FrameDecoder { limit }
    }

    /// The next whole frame, or `None` if `buf` does not hold one yet (in which case `buf` has reserved
    /// room for the rest of the announced frame, never more than the limit).
    ///
    /// # Errors
    /// As [`check_frame_len`]. After an error the stream is unusable: close the connection.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        let Some(prefix) = buf.get(..LENGTH_PREFIX_LEN) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(prefix.try_into().expect("4 bytes")) as u64;
        let len = check_frame_len(len, self.limit)?;
        let total = LENGTH_PREFIX_LEN + len;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        buf.advance(LENGTH_PREFIX_LEN);
        Ok(Some(buf.split_to(len).freeze()))
    }
}

/// Why a frame could not be read from a byte stream.
#[derive(Debug, thiserror::Error)]
pub enum ReadFrameError {
    /// The stream failed, or ended in the middle of a frame.
    #[error("reading frame: {0}")]
    Io(#[from] std::io::Error),
    /// The length prefix was refused.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// Reads one frame from a stream: `Ok(None)` when the stream ends cleanly between frames.
///
/// The frame's buffer is allocated only after its length passed the limit.
///
/// # Errors
/// [`ReadFrameError::Io`] (an end of stream inside a frame is `UnexpectedEof`), or
/// [`ReadFrameError::Codec`] for an empty or oversize frame.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R, limit: usize) -> Result<Option<Vec<u8>>, ReadFrameError> {
    let mut prefix = [0u8; LENGTH_PREFIX_LEN];
    let first = reader.read(&mut prefix).await?;
    if first == 0 {
        return Ok(None);
    }
    reader.read_exact(&mut prefix[first..]).await?;
    let len = check_frame_len(u32::from_be_bytes(prefix) as u64, limit)?;
    let mut frame = vec![0u8; len];
    reader.read_exact(&mut frame).await?;
    Ok(Some(frame))
}

/// Writes one frame (prefix and bytes) and flushes.
///
/// # Errors
/// [`ReadFrameError::Codec`] if the frame is empty or over `limit`, [`ReadFrameError::Io`] if the stream fails.
pub async fn write_frame_async<W: AsyncWrite + Unpin>(
    writer: &mut W,
    frame: &[u8],
    limit: usize,
) -> Result<(), ReadFrameError> {
    check_frame_len(frame.len() as u64, limit)?;
    writer.write_all(&(frame.len() as u32).to_be_bytes()).await?;
    writer.write_all(frame).await?;
    writer.flush().await?;
    Ok(())
}
