//! The send half of a [`SecureConnection`](super::SecureConnection): one writer task drains the
//! connection's [`Outbox`] (which `send` fills), coalescing frames into Noise messages and Noise
//! messages into large `write`s.

use std::sync::Arc;

use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use super::wire::{noise_len_prefix, MAX_PLAINTEXT_LEN, NOISE_LEN_PREFIX_LEN, TAG_LEN};
use crate::transport::outbox::{Batch, Outbox};

/// The outbox's segment size for a Noise stream: one maximal Noise message, so a full tail is
/// encrypted straight from its buffer.
pub(super) const TAIL_CHUNK: usize = MAX_PLAINTEXT_LEN;

/// Plaintext pieces at least this long get Noise messages of their own, encrypted straight from their
/// buffer; shorter ones are copied together so that many small frames share one message. 16 KiB keeps
/// the cost of an extra message (18 bytes, one AEAD call) under 0.1 % of what it carries.
const DIRECT_MIN: usize = 16 * 1024;

/// The writer hands its output buffer to the stream once it holds this much ciphertext: large enough
/// that a burst of small frames costs one syscall per ~300 frames, small enough that credits return to
/// senders while the rest of a batch is still being encrypted.
pub(super) const FLUSH_AT: usize = 64 * 1024;

/// Output buffer size: a flush's worth plus the two maximal Noise messages one `absorb` may seal.
const OUT_CAPACITY: usize = FLUSH_AT + 2 * (NOISE_LEN_PREFIX_LEN + MAX_PLAINTEXT_LEN + TAG_LEN);

/// Encrypts plaintext into length-prefixed Noise transport messages in one output buffer.
struct Sealer {
    noise: Arc<snow::StatelessTransportState>,
    nonce: u64,
    out: Box<[u8]>,
    filled: usize,
    /// Plaintext bytes sealed into `out` since the last flush: the credit a flush returns.
    sealed_plain: usize,
    /// Small pieces waiting to share one Noise message.
    staging: Box<[u8]>,
    staged: usize,
}

impl Sealer {
    fn new(noise: Arc<snow::StatelessTransportState>) -> Self {
        Sealer {
            noise,
            nonce: 0,
            out: vec![0; OUT_CAPACITY].into_boxed_slice(),
            filled: 0,
            sealed_plain: 0,
            staging: vec![0; MAX_PLAINTEXT_LEN].into_boxed_slice(),
            staged: 0,
        }
    }

    /// Seals `plaintext` (≤ [`MAX_PLAINTEXT_LEN`]) as the next message.
    fn seal(
        noise: &snow::StatelessTransportState,
        nonce: &mut u64,
        out: &mut [u8],
        filled: &mut usize,
        plaintext: &[u8],
    ) -> Result<(), String> {
        let len = plaintext.len() + TAG_LEN;
        out[*filled..*filled + NOISE_LEN_PREFIX_LEN].copy_from_slice(&noise_len_prefix(len));
        let body = &mut out[*filled + NOISE_LEN_PREFIX_LEN..*filled + NOISE_LEN_PREFIX_LEN + len];
        noise.write_message(*nonce, plaintext, body).map_err(|e| format!("encrypting: {e}"))?;
        *nonce += 1;
        *filled += NOISE_LEN_PREFIX_LEN + len;
        Ok(())
    }

    fn seal_direct(&mut self, plaintext: &[u8]) -> Result<(), String> {
        Self::seal(&self.noise, &mut self.nonce, &mut self.out, &mut self.filled, plaintext)?;
        self.sealed_plain += plaintext.len();
        Ok(())
    }

    fn seal_staged(&mut self) -> Result<(), String> {
        if self.staged > 0 {
            Self::seal(&self.noise, &mut self.nonce, &mut self.out, &mut self.filled, &self.staging[..self.staged])?;
            self.sealed_plain += self.staged;
            self.staged = 0;
        }
        Ok(())
    }

    /// Takes as much of `rest` as fits the current message. A long piece, or the batch's last piece
    /// when nothing is staged, is sealed straight from `rest` (staged crumbs are sealed first, so order
    /// holds); a short one is copied into the staging message, which is sealed once full.
    fn absorb<'a>(&mut self, rest: &'a [u8], last: bool) -> Result<&'a [u8], String> {
        if rest.len() >= DIRECT_MIN || (last && self.staged == 0) {
            self.seal_staged()?;
            let (chunk, rest) = rest.split_at(rest.len().min(MAX_PLAINTEXT_LEN));
            self.seal_direct(chunk)?;
            return Ok(rest);
        }
        let n = rest.len().min(MAX_PLAINTEXT_LEN - self.staged);
        self.staging[self.staged..self.staged + n].copy_from_slice(&rest[..n]);
        self.staged += n;
        if self.staged == MAX_PLAINTEXT_LEN {
            self.seal_staged()?;
        }
        Ok(&rest[n..])
    }

    /// Writes the sealed messages to `stream`; the plaintext credit they carried.
    async fn flush<W: AsyncWrite + Unpin>(&mut self, stream: &mut W) -> Result<usize, String> {
        stream.write_all(&self.out[..self.filled]).await.map_err(|e| format!("writing: {e}"))?;
        self.filled = 0;
        Ok(std::mem::take(&mut self.sealed_plain))
    }
}

/// The writer task: drains the outbox into `stream` until closed or failed.
pub(super) async fn run_writer<W: AsyncWrite + Unpin>(
    outbox: Arc<Outbox>,
    mut stream: W,
    noise: Arc<snow::StatelessTransportState>,
) {
    let outcome = write_loop(&outbox, &mut stream, noise).await;
    match &outcome {
        Ok(()) => tracing::debug!("write side shut down cleanly"),
        Err(reason) => tracing::debug!(%reason, "writer stopped"),
    }
    outbox.finish(outcome);
}

async fn write_loop<W: AsyncWrite + Unpin>(
    outbox: &Outbox,
    stream: &mut W,
    noise: Arc<snow::StatelessTransportState>,
) -> Result<(), String> {
    // Allocated with the first batch: a connection that never sends holds no output buffers.
    let mut sealer = None;
    loop {
        let segments = match outbox.next_batch().await {
            Batch::Frames(segments) => segments,
            Batch::Fail(reason) => return Err(reason),
            Batch::Shutdown => {
                stream.shutdown().await.map_err(|e| format!("shutting down: {e}"))?;
                return Ok(());
            }
        };
        let sealer = sealer.get_or_insert_with(|| Sealer::new(noise.clone()));
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            let mut rest = &segment[..];
            while !rest.is_empty() {
                rest = sealer.absorb(rest, last)?;
                if sealer.filled >= FLUSH_AT {
                    outbox.release(sealer.flush(stream).await?);
                }
            }
        }
        sealer.seal_staged()?;
        outbox.release(sealer.flush(stream).await?);
        stream.flush().await.map_err(|e| format!("flushing: {e}"))?;
    }
}
