//! Helpers for the secure-channel tests: contexts, handshakes over in-memory pipes, a hand-crafting
//! peer that speaks raw Noise, and stream wrappers that count or corrupt writes.
#![allow(dead_code)] // each test crate uses a different subset

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use quorumnet_core::identity::{ChainId, Keypair, ValidatorId};
use quorumnet_core::secure::snow;
use quorumnet_core::secure::wire::{noise_len_prefix, MAX_NOISE_MESSAGE_LEN, NOISE_LEN_PREFIX_LEN, TAG_LEN};
use quorumnet_core::secure::{
    prologue, run_handshake, ChannelOptions, Established, NoiseHandshake, Role, SecureConnection, PROTOCOL_NAME,
};
use quorumnet_core::transport::{Admission, TransportConfig, TransportContext, TransportError};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream, ReadBuf};

/// Generous bound on every wait that is expected to finish: a failure says what hung.
pub const WAIT: Duration = Duration::from_secs(20);

/// Pipe buffer for duplex streams.
pub const PIPE: usize = 256 * 1024;

pub fn chain() -> ChainId {
    ChainId::from_network_name("devnet")
}

pub fn key(seed: u8) -> Arc<Keypair> {
    Arc::new(Keypair::from_seed(&[seed; 32]))
}

pub fn id(seed: u8) -> ValidatorId {
    key(seed).validator_id()
}

/// A context for validator `seed` on `chain`, admitting `admission`.
pub fn context_on(seed: u8, chain: ChainId, admission: Admission) -> TransportContext {
    TransportContext { keypair: key(seed), chain_id: chain, admission, config: TransportConfig::test() }
}

/// Validator `seed` on the devnet chain, admitting validators 1 to 4.
pub fn context(seed: u8) -> TransportContext {
    context_on(seed, chain(), Admission::for_validators((1..=4).map(id)))
}

/// Awaits `future`, failing the test with `what` if it takes longer than [`WAIT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"))
}

/// Runs a handshake between `initiator` and `responder` over `a` and `b`.
pub async fn handshake_over<A, B>(
    initiator: &TransportContext,
    responder: &TransportContext,
    expected: Option<ValidatorId>,
    a: &mut A,
    b: &mut B,
) -> (Result<Established, TransportError>, Result<Established, TransportError>)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let timeout = initiator.config.handshake_timeout;
    let dial = NoiseHandshake::new(Role::Initiator, initiator, expected);
    let answer = NoiseHandshake::new(Role::Responder, responder, None);
    within("both handshakes", async {
        tokio::join!(run_handshake(a, dial, timeout, "responder"), run_handshake(b, answer, timeout, "initiator"))
    })
    .await
}

/// Both ends' handshake results over a fresh pipe. Each side drops its end of the pipe as soon as its
/// handshake ends, as a transport does, so the other side sees a failure at once.
pub async fn handshake(
    initiator: &TransportContext,
    responder: &TransportContext,
    expected: Option<ValidatorId>,
) -> (Result<Established, TransportError>, Result<Established, TransportError>) {
    let (a, b) = tokio::io::duplex(PIPE);
    let timeout = initiator.config.handshake_timeout;
    let run = |mut stream: DuplexStream, handshake, peer| async move {
        run_handshake(&mut stream, handshake, timeout, peer).await
    };
    let dial = run(a, NoiseHandshake::new(Role::Initiator, initiator, expected), "responder");
    let answer = run(b, NoiseHandshake::new(Role::Responder, responder, None), "initiator");
    within("both handshakes", async { tokio::join!(dial, answer) }).await
}

/// A connected pair of secure connections (validator 1 dialing validator 2) over streams `a` and `b`.
pub async fn connect_over<A, B>(mut a: A, mut b: B) -> (SecureConnection, SecureConnection)
where
    A: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    B: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (dialer, listener) = (context(1), context(2));
    let (x, y) = handshake_over(&dialer, &listener, Some(id(2)), &mut a, &mut b).await;
    let options = ChannelOptions::new(dialer.config.max_frame_len);
    (
        SecureConnection::spawn(x.expect("dialer handshake"), a, options.clone()),
        SecureConnection::spawn(y.expect("listener handshake"), b, options),
    )
}

/// A connected pair over a fresh pipe.
pub async fn connected_pair() -> (SecureConnection, SecureConnection) {
    let (a, b) = tokio::io::duplex(PIPE);
    connect_over(a, b).await
}

/// The far end of a connection, speaking raw Noise: it can send any plaintext, correctly encrypted.
pub struct RawPeer {
    pub stream: DuplexStream,
    pub established: Established,
    nonce: u64,
}

impl RawPeer {
    /// Encrypts `plaintext` (≤ 65 519 bytes) as the next transport message and writes it.
    pub async fn send_plaintext(&mut self, plaintext: &[u8]) {
        let message = self.seal(plaintext);
        self.stream.write_all(&message).await.expect("raw peer write");
    }

    /// The next transport message, length prefix included, as it would go on the wire.
    pub fn seal(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let mut body = vec![0u8; plaintext.len() + TAG_LEN];
        let len = self.established.transport.write_message(self.nonce, plaintext, &mut body).expect("encrypt");
        self.nonce += 1;
        [&noise_len_prefix(len)[..], &body[..len]].concat()
    }

    /// Reads the stream to its end: `Ok(bytes)` on EOF, the error on a reset.
    pub async fn read_to_end(&mut self) -> std::io::Result<Vec<u8>> {
        let mut all = Vec::new();
        self.stream.read_to_end(&mut all).await.map(|_| all)
    }
}

/// A [`SecureConnection`] for validator 2 whose peer (validator 1, the dialer) is a [`RawPeer`].
pub async fn victim_and_raw_peer() -> (SecureConnection, RawPeer) {
    let (mut a, mut b) = tokio::io::duplex(PIPE);
    let (dialer, listener) = (context(1), context(2));
    let (x, y) = handshake_over(&dialer, &listener, None, &mut a, &mut b).await;
    let victim =
        SecureConnection::spawn(y.expect("victim handshake"), b, ChannelOptions::new(listener.config.max_frame_len));
    (victim, RawPeer { stream: a, established: x.expect("raw peer handshake"), nonce: 0 })
}

/// A snow handshake state with this project's parameters, for peers that misbehave inside the handshake.
pub fn snow_state(role: Role, chain: &ChainId) -> (snow::HandshakeState, [u8; 32]) {
    let params: snow::params::NoiseParams = PROTOCOL_NAME.parse().unwrap();
    let pair = snow::Builder::new(params.clone()).generate_keypair().unwrap();
    let prologue = prologue(chain);
    let builder = snow::Builder::new(params).local_private_key(&pair.private).unwrap().prologue(&prologue).unwrap();
    let state = match role {
        Role::Initiator => builder.build_initiator(),
        Role::Responder => builder.build_responder(),
    };
    (state.unwrap(), pair.public.try_into().unwrap())
}

pub fn snow_write(state: &mut snow::HandshakeState, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; MAX_NOISE_MESSAGE_LEN];
    let len = state.write_message(payload, &mut out).unwrap();
    out.truncate(len);
    out
}

pub fn snow_read(state: &mut snow::HandshakeState, message: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; MAX_NOISE_MESSAGE_LEN];
    let len = state.read_message(message, &mut out).unwrap();
    out.truncate(len);
    out
}

/// Writes one handshake message with its u16 prefix.
pub async fn write_noise(stream: &mut (impl AsyncWrite + Unpin), message: &[u8]) {
    stream.write_all(&[&noise_len_prefix(message.len())[..], message].concat()).await.unwrap();
}

/// Reads one handshake message.
pub async fn read_noise(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut prefix = [0u8; NOISE_LEN_PREFIX_LEN];
    stream.read_exact(&mut prefix).await.unwrap();
    let mut message = vec![0u8; u16::from_be_bytes(prefix) as usize];
    stream.read_exact(&mut message).await.unwrap();
    message
}

/// Wraps a stream: counts `poll_write` calls that wrote bytes, records every byte written, and can
/// flip the last byte of the next write (corruption in transit).
pub struct Tap<S> {
    inner: S,
    pub stats: Arc<TapStats>,
}

#[derive(Default)]
pub struct TapStats {
    pub writes: AtomicUsize,
    pub written: Mutex<Vec<u8>>,
    pub corrupt_next_write: AtomicBool,
}

impl TapStats {
    /// How many Noise messages the recorded bytes hold, after skipping the first `skip` messages
    /// (the handshake's).
    pub fn noise_messages(&self, skip: usize) -> usize {
        let written = self.written.lock().unwrap();
        let mut rest = &written[..];
        let mut count = 0;
        while rest.len() >= NOISE_LEN_PREFIX_LEN {
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            rest = &rest[(NOISE_LEN_PREFIX_LEN + len).min(rest.len())..];
            count += 1;
        }
        count - skip
    }
}

impl<S> Tap<S> {
    pub fn new(inner: S) -> Self {
        Tap { inner, stats: Arc::default() }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let mut data = buf.to_vec();
        let corrupt = self.stats.corrupt_next_write.load(Ordering::SeqCst);
        if corrupt {
            *data.last_mut().expect("writes are non-empty") ^= 0x01;
        }
        let result = Pin::new(&mut self.inner).poll_write(cx, &data);
        if let Poll::Ready(Ok(n)) = &result {
            if corrupt {
                self.stats.corrupt_next_write.store(false, Ordering::SeqCst);
            }
            self.stats.writes.fetch_add(1, Ordering::SeqCst);
            self.stats.written.lock().unwrap().extend_from_slice(&data[..*n]);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
